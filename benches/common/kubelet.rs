//! Raw kubelet volume series for N PVCs over one day at 30s: the input of
//! the `pvc.usage` binding, for the PromQL benches.

use autopilot::promql::{Labels, Store};

pub const STEP_MS: i64 = 30_000;
pub const DAY_MS: i64 = 86_400_000;
/// Samples per series in a day (the last at 24h).
pub const POINTS: i64 = DAY_MS / STEP_MS;
const GI: f64 = (1u64 << 30) as f64;

/// stdlib/pvc.apr's `pvc.usage`.
pub const PVC_USAGE: &str =
    "100 * kubelet_volume_stats_used_bytes / kubelet_volume_stats_capacity_bytes";

/// One PVC's two series: (labels, first value, growth per sample) each.
pub fn pvc(i: usize) -> [(Labels, f64, f64); 2] {
    let labels = |name: &str| -> Labels {
        [
            ("__name__", name.to_string()),
            ("namespace", format!("ns-{}", i % 100)),
            ("persistentvolumeclaim", format!("pvc-{i}")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    };
    let capacity = (10 + i % 90) as f64 * GI;
    [
        (labels("kubelet_volume_stats_capacity_bytes"), capacity, 0.0),
        (
            labels("kubelet_volume_stats_used_bytes"),
            GI + (i % 1000) as f64 * 1e6,
            (i % 7) as f64 * 1e5,
        ),
    ]
}

pub fn store(pvcs: usize) -> Store {
    let mut store = Store::new();
    for i in 0..pvcs {
        for (labels, first, growth) in pvc(i) {
            let samples = (0..=POINTS)
                .map(|j| (j * STEP_MS, first + growth * j as f64))
                .collect();
            store.add(labels, samples);
        }
    }
    store
}
