//! Parse + check speed: 10,000 generated policies (about 2 MB) in one file,
//! and lint's time next to it on 10,000 lint-clean policies.
//!
//! Target (issue 2): at most 200 ms on one core.
//! Run: `cargo bench --bench check`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// The binary's allocator (src/main.rs), so that the figure is the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A program of `n` policies in the shapes operators write.
fn program(n: usize) -> String {
    let mut out = String::with_capacity(n * 220);
    out.push_str("let hot = 85%\nlet ceiling = 2Ti\n\n");
    out.push_str(
        "metric pvc.pg_write_latency : duration =\n  `histogram_quantile(0.99, sum by (namespace, persistentvolumeclaim, le) (rate(pg_io_write_seconds_bucket[5m])))`\n\n",
    );
    for i in 0..n {
        let text = match i % 4 {
            0 => format!(
                "policy grow_{i} {{\n  on pvc where pvc.labels.app == \"app{i}\" and namespace.labels.tier == \"db\"\n  when pvc.usage > hot or pvc.inodes_usage > 80% for 10m\n  then resize(+50%, max = ceiling, min_step = 10Gi), notify(\"oncall\", \"{{pvc.name}} grown\")\n  cooldown 1h\n  at_most 3 per 1h\n}}\n\n"
            ),
            1 => format!(
                "policy slow_{i} {{\n  on pvc where pvc.storage_class in [\"standard\", \"gp2\"]\n  when pvc.pg_write_latency > 20ms for 15m\n  then set_class(\"fast-iops\"), event(\"DiskSlow\", \"{{pvc.name}} at {{pvc.pg_write_latency}}\")\n  mode approve\n}}\n\n"
            ),
            2 => format!(
                "policy scale_{i} {{\n  on deployment where deployment.labels[\"app.kubernetes.io/name\"] == \"web{i}\"\n  when deployment.ready_replicas < deployment.replicas - 1 for 5m\n  then scale(+1, max = 10), annotate(\"autopilot.rs/scaled\", \"{{deployment.name}}\")\n  window \"Mon-Fri 02:00-04:00 Europe/Berlin\"\n}}\n\n"
            ),
            _ => format!(
                "when pvc.available < 10Gi and pvc.used > 0.9 * pvc.capacity for {}m then resize(+20Gi, max = 4Ti)\n\n",
                i % 60
            ),
        };
        out.push_str(&text);
    }
    out
}

/// `n` policies that lint clean: the shapes of [`program`] that do not
/// fight (its `set_class` policies may select the pvcs that others resize,
/// so that lint warns about most pairs, a quadratic output).
fn clean_program(n: usize) -> String {
    let mut out = String::with_capacity(n * 220);
    out.push_str("let ceiling = 2Ti\n\n");
    for i in 0..n {
        let text = if i % 2 == 0 {
            format!(
                "policy grow_{i} {{\n  on pvc where pvc.labels.app == \"app{i}\" and namespace.labels.tier == \"db\"\n  when pvc.usage > 85% or pvc.inodes_usage > 80% for 10m\n  then resize(+50%, max = ceiling, min_step = 10Gi), notify(\"oncall\", \"{{pvc.name}} grown\")\n  cooldown 6h\n  at_most 3 per 1h\n}}\n\n"
            )
        } else {
            format!(
                "policy scale_{i} {{\n  on deployment where deployment.labels[\"app.kubernetes.io/name\"] == \"web{i}\"\n  when deployment.ready_replicas < deployment.replicas - 1 for 5m\n  then scale(+1, max = 10), annotate(\"autopilot.rs/scaled\", \"{{deployment.name}}\")\n  window \"Mon-Fri 02:00-04:00 Europe/Berlin\"\n}}\n\n"
            )
        };
        out.push_str(&text);
    }
    out
}

fn bench(c: &mut Criterion) {
    let text = program(10_000);
    let mut group = c.benchmark_group("parse+check");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.sample_size(10);
    group.bench_function("10k policies", |b| {
        b.iter(|| {
            let compiled = autopilot::compile::compile(vec![("bench.apr".into(), text.clone())]);
            assert!(!compiled.has_errors(), "the generated program checks");
            assert_eq!(compiled.checked.program.policies.len(), 10_000);
            compiled
        })
    });
    group.finish();
}

fn bench_lint(c: &mut Criterion) {
    let text = clean_program(10_000);
    let compiled = autopilot::compile::compile(vec![("bench.apr".into(), text.clone())]);
    assert!(!compiled.has_errors(), "the generated program checks");
    assert!(
        autopilot::lint::lint(&compiled).is_empty(),
        "the generated program lints clean"
    );
    let mut group = c.benchmark_group("lint");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.sample_size(10);
    group.bench_function("check 10k clean policies", |b| {
        b.iter(|| autopilot::compile::compile(vec![("bench.apr".into(), text.clone())]))
    });
    group.bench_function("lint 10k clean policies", |b| {
        b.iter(|| autopilot::lint::lint(&compiled))
    });
    group.finish();
}

criterion_group!(benches, bench, bench_lint);
criterion_main!(benches);
