//! The policies the benches run: 20 in the shapes operators write.

/// 20 policies in the shapes operators write: thresholds, filters, `for`.
pub fn policies() -> String {
    let mut out = String::new();
    for i in 0..20 {
        let threshold = 40 + i;
        let text = match i % 4 {
            0 => format!(
                "policy p{i} {{ on pvc when pvc.usage > {threshold}% for 1h then resize(+50%, max = 1Ti) }}\n"
            ),
            1 => format!(
                "policy p{i} {{ on pvc where pvc.labels.app == \"app{}\" when pvc.usage > {threshold}% or pvc.inodes_usage > 90% for 1h then resize(+10Gi, max = 1Ti) }}\n",
                i % 3
            ),
            2 => format!(
                "policy p{i} {{ on pvc when pvc.available < {}Gi and pvc.used > 0.5 * pvc.capacity for 1h then notify(\"oncall\", \"{{pvc.name}}\") }}\n",
                100 + i
            ),
            _ => format!(
                "policy p{i} {{ on pvc where namespace.labels.tier == \"db\" when pvc.usage > {threshold}% for 1h then resize(+20%, max = 2Ti) }}\n"
            ),
        };
        out.push_str(&text);
    }
    out
}
