//! The evaluator on the stdlib's `pvc.usage` binding over 10,000 PVCs' raw
//! kubelet series (used and capacity bytes, one day at 30s): one instant,
//! and the whole day as a range query (an instant per step) at a 1h step
//! (25 steps; a 5m step, 289 instants of about 0.1 s each, would take
//! minutes per sample).
//! Run: `cargo bench --bench promql`. Against promtool: `cargo bench
//! --bench promtool_ratio`.

use autopilot::promql::Evaluator;
use criterion::{Criterion, criterion_group, criterion_main};
use promql_parser::parser;

#[path = "common/kubelet.rs"]
mod kubelet;
use kubelet::{DAY_MS, PVC_USAGE, store};

const PVCS: usize = 10_000;
const RANGE_STEP_MS: i64 = 3_600_000;

fn bench(c: &mut Criterion) {
    let store = store(PVCS);
    let expr = parser::parse(PVC_USAGE).expect("pvc.usage parses");
    let ev = Evaluator::new(&store);
    let mut g = c.benchmark_group("promql_pvc_usage_10k");
    g.sample_size(10);
    g.bench_function("instant", |b| b.iter(|| ev.instant(&expr, DAY_MS)));
    g.bench_function("range_1d_step_1h", |b| {
        b.iter(|| ev.range(&expr, 0, DAY_MS, RANGE_STEP_MS))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
