//! `autopilot backtest POLICIES --prometheus URL (--scenario FILE |
//! --kubeconfig FILE)`: the policies over Prometheus's history, through the
//! simulated world, with the objects of a scenario or of the cluster as it
//! is now.
//!
//! Exit codes: 0 ran, 1 the policies have errors, 2 a flag, the scenario,
//! Prometheus or a chunk of the history failed (nothing is printed as if
//! complete).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::prometheus_args::PrometheusArgs;
use super::{Exit, Format};
use crate::cluster::client::{self, ClientSource};
use crate::cluster::{history, metrics};
use crate::diagnostic;
use crate::engine::Time;
use crate::report;
use crate::sim::series::Timeline;
use crate::sim::{self, ScenarioSource, scenario};

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("objects").required(true).args(["scenario", "kubeconfig"])))]
pub struct Args {
    /// Policy files or directories (searched recursively for `*.apr`).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    prometheus: PrometheusArgs,
    /// The window: this long before `--to` (e.g. `7d`).
    #[arg(long, value_name = "DURATION", conflicts_with = "from")]
    since: Option<String>,
    /// The window's start (RFC 3339).
    #[arg(long, value_name = "TIME")]
    from: Option<jiff::Timestamp>,
    /// The window's end, inclusive (RFC 3339; default now).
    #[arg(long, value_name = "TIME")]
    to: Option<jiff::Timestamp>,
    /// One tick per step.
    #[arg(long, value_name = "DURATION", default_value = "1m")]
    step: String,
    /// The objects (its series and times, if any, are not read).
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// The objects: the cluster's as they are now, listed with this kubeconfig.
    #[arg(long, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// A context of the kubeconfig.
    #[arg(long, value_name = "NAME", requires = "kubeconfig")]
    context: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
    /// Write what was fetched as a scenario `simulate` replays.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
}

fn millis(text: &str) -> Option<Time> {
    match crate::ir::parse_duration(text) {
        Ok(s) if s > 0.0 => Some((s * 1000.0).round() as Time),
        _ => {
            eprintln!("error: `{text}` is not a duration such as `1m` or `7d`");
            None
        }
    }
}

pub fn run(args: Args) -> Exit {
    let open = |p: &Option<PathBuf>| p.as_deref().map(super::OutputFile::open);
    let (plot, record) = match (open(&args.plot), open(&args.record)) {
        (Some(None), _) | (_, Some(None)) => return Exit::Usage,
        (p, r) => (p.flatten(), r.flatten()),
    };
    let Some(step) = millis(&args.step) else {
        return Exit::Usage;
    };
    let to = args
        .to
        .unwrap_or_else(jiff::Timestamp::now)
        .as_millisecond();
    let from = match (&args.since, args.from) {
        (_, Some(f)) => f.as_millisecond(),
        (Some(s), None) => match millis(s) {
            Some(d) => to - d,
            None => return Exit::Usage,
        },
        (None, None) => to - 7 * 24 * 3_600_000,
    };
    let window = match history::plan(from, to, step, history::MAX_STEPS) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Usage;
        }
    };
    let Some(mut c) = super::load(&args.paths) else {
        return Exit::Usage;
    };
    if !c.diagnostics.is_empty() {
        super::report(&c);
    }
    if c.has_errors() {
        return Exit::Problems;
    }
    let Some(config) = args.prometheus.read_config() else {
        return Exit::Usage;
    };
    let Some(prometheus) = args.prometheus.client(&config) else {
        return Exit::Usage;
    };
    let Some(runtime) = super::runtime() else {
        return Exit::Usage;
    };
    let frame = scenario::Frame {
        start: window.start,
        step: window.step,
        duration: window.end - window.start,
        lookback: window.step,
    };
    let (objects_from, file, text) = match (&args.scenario, &args.kubeconfig) {
        (Some(path), _) => {
            let Some((file, text)) = super::read_scenario(&mut c, path) else {
                return Exit::Usage;
            };
            (format!("the scenario {}", path.display()), file, text)
        }
        (None, Some(path)) => {
            let source = ClientSource::Kubeconfig {
                path: path.clone(),
                context: args.context.clone(),
            };
            let listed = runtime.block_on(async {
                let client = client::connect(&source)
                    .await
                    .map_err(|e| crate::cluster::approval::error_chain(&e))?;
                crate::controller::objects::list_all(&client).await
            });
            let listing = match listed {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("error: cannot list the cluster's objects: {e}");
                    return Exit::Usage;
                }
            };
            let text = match serde_saphyr::to_string(&listing.scenario(window.start)) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("error: cannot write the cluster's objects as a scenario: {e}");
                    return Exit::Usage;
                }
            };
            let name = format!("<the cluster of {}>", path.display());
            let file = c.sources.add(name, text.clone());
            let from = format!(
                "the cluster ({} objects, as they are now, listed with {})",
                listing.objects.len(),
                path.display()
            );
            (from, file, text)
        }
        (None, None) => unreachable!("clap requires --scenario or --kubeconfig"),
    };
    let shown = c.sources.get(file).name.clone();
    let program = Arc::new(std::mem::take(&mut c.checked.program));
    let loaded = scenario::parse_framed(file, &text, frame).and_then(|mut s| {
        if !s.series.is_empty() {
            eprintln!(
                "note: {shown}: its {} series are ignored; the history comes from Prometheus",
                s.series.len()
            );
        }
        s.series.clear();
        let diags = s.check(&program);
        if diags.is_empty() { Ok(s) } else { Err(diags) }
    });
    let scenario = match loaded {
        Ok(s) => s,
        Err(diags) => {
            eprint!(
                "{}",
                diagnostic::render_all(&c.sources, &diags, super::style())
            );
            eprintln!("error: {shown}: {} problem(s) in the scenario", diags.len());
            return Exit::Usage;
        }
    };
    let queries = match metrics::queries(&program, &config.prometheus.matchers) {
        Ok(q) => q,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Usage;
        }
    };
    // Each answer within POINTS_PER_QUERY: a series per object of the most
    // numerous kind a binding reads.
    let series = queries
        .iter()
        .map(|q| {
            let kind = program.metric(q.metric).kind;
            scenario
                .objects
                .iter()
                .filter(|o| o.id.kind == kind)
                .count()
        })
        .max()
        .unwrap_or(0);
    let window = history::plan(from, to, step, history::steps_for(series)).unwrap_or(window);
    let bar = progress_bar((window.chunks.len() * queries.len()) as u64);
    let fetched = runtime.block_on(history::fetch(
        &prometheus,
        &program,
        &queries,
        &window,
        config.prometheus.max_in_flight,
        &mut || bar.inc(1),
    ));
    bar.finish_and_clear();
    let fetched = match fetched {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("error: the backtest did not run: no timeline or summary");
            return Exit::Usage;
        }
    };
    let timelines: HashMap<_, _> = fetched
        .series
        .iter()
        .map(|(k, v)| (k.clone(), Timeline::new(v.clone())))
        .collect();
    let source = ScenarioSource::from_timelines(window.start, window.step, window.step, timelines);
    let plan = match &args.plot {
        Some(_) => report::plot::plan(&c.sources, &program, &scenario),
        None => report::plot::Plan::default(),
    };
    let run = sim::run(Arc::clone(&program), &scenario, &source, &plan.probes);
    let w = report::backtest::Window {
        from: history::rfc3339(window.start),
        to: history::rfc3339(window.end),
        step: window.step,
        points: window.points(),
        chunks: window.chunks.len(),
        objects_from,
    };
    let summary = report::backtest::summary(&program, &run.events, window.start);
    match args.format {
        Format::Text => {
            out!(
                "{}",
                report::text::simulation(&scenario, &run, program.policies.len())
            );
            out!("{}", report::backtest::text(&summary, &w));
        }
        Format::Json => outln!(
            "{}",
            report::backtest::json(&report::json::simulation(&scenario, &run), &summary, &w)
        ),
    }
    if let Some(file) = plot {
        let svg = report::plot::svg(&program, &scenario, &plan, &run);
        if !file.write(svg.as_bytes()) {
            return Exit::Usage;
        }
    }
    if let Some(file) = record {
        let original = serde_saphyr::from_str::<serde_json::Value>(&text).unwrap_or_default();
        let span = report::record::Span {
            start: window.start,
            step: window.step,
            duration: window.end - window.start,
        };
        let yaml = report::record::scenario(original, span, &program, &fetched.series);
        if !file.write(yaml.as_bytes()) {
            return Exit::Usage;
        }
    }
    Exit::Ok
}

/// The range queries done, on stderr when it is a terminal; hidden
/// otherwise (a pipe, a file, CI), so that logs hold no bar.
fn progress_bar(queries: u64) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(queries);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{prefix} [{bar:30}] {pos}/{len} range queries, {elapsed} (eta {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix("fetching history");
    bar
}
