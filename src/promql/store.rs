use std::collections::HashMap;

use super::{Labels, NAME};

type Series = (Labels, Vec<(i64, f64)>);

/// Series and their samples, indexed by metric name.
#[derive(Debug, Default, Clone)]
pub struct Store {
    series: Vec<Series>,
    by_labels: HashMap<Labels, usize>,
    by_name: HashMap<String, Vec<usize>>,
    native_histograms: Vec<Labels>,
}

impl Store {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds samples (millisecond timestamps, ascending) to the series with
    /// these labels, creating it if needed.
    pub fn add(&mut self, labels: Labels, samples: Vec<(i64, f64)>) {
        if let Some(&i) = self.by_labels.get(&labels) {
            let existing = &mut self.series[i].1;
            existing.extend(samples);
            // Appends are usually in order; a stable sort keeps that cheap.
            // A later sample at the same time replaces the earlier one.
            existing.sort_by_key(|s| s.0);
            existing.reverse();
            existing.dedup_by_key(|s| s.0);
            existing.reverse();
            return;
        }
        let i = self.series.len();
        let name = labels.get(NAME).cloned().unwrap_or_default();
        self.by_name.entry(name).or_default().push(i);
        self.by_labels.insert(labels.clone(), i);
        let mut samples = samples;
        samples.sort_by_key(|s| s.0);
        self.series.push((labels, samples));
    }

    /// Records that a series holds native histograms, which this evaluator
    /// does not read: a selector matching it is `Unsupported`.
    pub fn add_native_histogram(&mut self, labels: Labels) {
        if !self.native_histograms.contains(&labels) {
            self.native_histograms.push(labels);
        }
    }

    pub(crate) fn native_histograms(&self) -> &[Labels] {
        &self.native_histograms
    }

    /// The number of series.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Whether a series is named `name`.
    pub fn has_name(&self, name: &str) -> bool {
        self.by_name.get(name).is_some_and(|ix| !ix.is_empty())
    }

    /// The series named `name`, with their samples.
    pub fn named<'a>(&'a self, name: &str) -> impl Iterator<Item = (&'a Labels, &'a [(i64, f64)])> {
        self.candidates(Some(name)).map(|(l, s)| (l, s.as_slice()))
    }

    /// Changes the samples of each series named `name` in place (times kept:
    /// `f` may change values only). The simulated world uses it to keep
    /// volume stats consistent with the capacity it holds.
    pub fn rewrite(&mut self, name: &str, mut f: impl FnMut(&Labels, &mut [(i64, f64)])) {
        let Some(ix) = self.by_name.get(name) else {
            return;
        };
        for &i in ix {
            if let Some((labels, samples)) = self.series.get_mut(i) {
                f(labels, samples);
            }
        }
    }

    /// The series that may match a selector: those named `name` when the
    /// selector fixes the name, otherwise all of them.
    pub(crate) fn candidates<'a>(
        &'a self,
        name: Option<&str>,
    ) -> Box<dyn Iterator<Item = &'a Series> + 'a> {
        match name {
            Some(n) => match self.by_name.get(n) {
                Some(ix) => Box::new(ix.iter().filter_map(|&i| self.series.get(i))),
                None => Box::new(std::iter::empty()),
            },
            None => Box::new(self.series.iter()),
        }
    }
}
