//! One engine tick over N PVCs × 20 policies with synthetic data.
//!
//! Targets (issue 3): at most 20 ms per tick at 10,000 objects on one core,
//! and at most 200 bytes of state per (policy, object).
//! Run: `cargo bench --bench tick` (figures for 1k, 10k and 100k objects).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use autopilot::engine::{
    Engine, Fields, MetricSource, Namespace, Object, ObjectId, Sample, Snapshot, Time,
};
use autopilot::ir::MetricId;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

#[path = "common/policies.rs"]
mod policies;
use policies::policies;

#[path = "common/counting.rs"]
mod counting;
use counting::LIVE;

const GI: u64 = 1 << 30;

/// Synthetic metrics: deterministic per object, high enough to keep most
/// (policy, object) pairs pending (the worst case for state).
struct Synthetic;

impl MetricSource for Synthetic {
    fn sample(&self, metric: MetricId, object: &ObjectId, _t: Time) -> Sample {
        let h = object.name.len() as f64 + metric.0 as f64;
        match metric.0 {
            0 => Sample::Value(60.0 + h % 30.0),  // pvc.usage
            1 => Sample::Value(60.0 * GI as f64), // pvc.used
            2 => Sample::Value(20.0 * GI as f64), // pvc.available
            _ => Sample::Value(50.0),             // pvc.inodes_usage
        }
    }
}

fn world(n: usize) -> (Vec<Object>, BTreeMap<String, Namespace>) {
    let objects = (0..n)
        .map(|i| {
            let mut o = Object::new(ObjectId::new(
                autopilot::ir::Kind::Pvc,
                Some(&format!("ns{}", i % 50)),
                &format!("data-{i}"),
            ));
            o.labels.insert("app".into(), format!("app{}", i % 3));
            o.fields = Fields {
                capacity: Some(100 * GI),
                requested: Some(100 * GI),
                phase: Some("Bound".into()),
                expandable: Some(true),
                ..Fields::default()
            };
            o
        })
        .collect();
    let namespaces = (0..50)
        .map(|i| {
            let mut ns = Namespace::default();
            ns.labels
                .insert("tier".into(), if i % 2 == 0 { "db" } else { "web" }.into());
            (format!("ns{i}"), ns)
        })
        .collect();
    (objects, namespaces)
}

fn bench(c: &mut Criterion) {
    let compiled = autopilot::compile::compile(vec![("bench.apr".into(), policies())]);
    assert!(!compiled.has_errors());
    let program = Arc::new(compiled.checked.program);
    let mut group = c.benchmark_group("tick");
    group.sample_size(20);
    for n in [1_000usize, 10_000, 100_000] {
        let (objects, namespaces) = world(n);
        let snap = Snapshot {
            objects: &objects,
            namespaces: &namespaces,
            metrics: &Synthetic,
        };
        let before = LIVE.load(Ordering::Relaxed);
        let mut engine = Engine::new(Arc::clone(&program));
        let (events, _) = engine.tick(0, &snap, &[]);
        drop(events);
        let states = engine.stored();
        let bytes = LIVE.load(Ordering::Relaxed) - before;
        println!(
            "tick/{n}: {states} (policy, object) states held; engine heap {bytes} bytes = {:.1} bytes per state",
            bytes as f64 / states.max(1) as f64
        );
        let mut t = 30_000;
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                t += 30_000;
                engine.tick(t, &snap, &[])
            })
        });
    }
    group.finish();
}

/// Churn: 1,000 ticks over 10,000 PVCs with 10% of them replaced on every
/// tick. Time per tick and the state held must stay flat.
fn churn(_: &mut Criterion) {
    let compiled = autopilot::compile::compile(vec![("bench.apr".into(), policies())]);
    let program = Arc::new(compiled.checked.program);
    let n = 10_000;
    let (mut objects, namespaces) = world(n);
    let mut engine = Engine::new(program);
    let before = LIVE.load(Ordering::Relaxed);
    let mut next = n;
    let mut spent = std::time::Duration::ZERO;
    for tick in 1..=1000u32 {
        // Replace 10% of the pods, a different tenth each tick.
        for k in 0..n / 10 {
            let i = (tick as usize * (n / 10) + k) % n;
            let name = format!("data-{next}");
            next += 1;
            objects[i].id.name = name;
        }
        let snap = Snapshot {
            objects: &objects,
            namespaces: &namespaces,
            metrics: &Synthetic,
        };
        let started = std::time::Instant::now();
        let out = engine.tick(Time::from(tick) * 30_000, &snap, &[]);
        spent += started.elapsed();
        drop(out);
        if matches!(tick, 1 | 500 | 1000) {
            let bytes = LIVE.load(Ordering::Relaxed) - before;
            println!(
                "churn/{n} tick {tick}: {:.2} ms per tick so far; {} states; engine heap {bytes} bytes",
                spent.as_secs_f64() * 1000.0 / f64::from(tick),
                engine.stored()
            );
        }
    }
}

criterion_group!(benches, bench, churn);
criterion_main!(benches);
