use super::*;

fn load(text: &str) -> Scenario {
    parse(FileId(0), text).unwrap_or_else(|d| panic!("{d:#?}"))
}

#[test]
fn defaults() {
    let s = load("duration: 10m\n");
    assert_eq!(s.start, DEFAULT_START);
    assert_eq!(s.step, 30_000);
    assert_eq!(s.duration, 600_000);
    assert_eq!(s.resize_delay, 0);
    assert_eq!(s.ticks().count(), 21);
    assert!(s.namespaces.contains_key("default"));
    assert_eq!(
        jiff::Timestamp::from_millisecond(DEFAULT_START)
            .unwrap()
            .to_string(),
        "2026-01-01T00:00:00Z"
    );
}

proptest::proptest! {
    /// Any text is loaded or refused with diagnostics; nothing panics.
    #[test]
    fn any_text_loads_or_is_refused(text in "(duration: 1m\n)?(objects:\n)?([ -~\n\t\u{e9}\u{1F600}]{0,80})") {
        let _ = parse(FileId(0), &text);
    }

    /// YAML-shaped scenarios with garbage in the values.
    #[test]
    fn garbage_values_never_panic(
        kind in "(pvc|pod|node|storageclass|namespace|x)",
        field in "(capacity|replicas|phase|age|values|at|ready)",
        value in "[ -~\u{e9}]{0,12}",
    ) {
        let text = format!(
            "duration: 5m\nobjects:\n  - {{kind: {kind}, name: a, {field}: '{value}'}}\n\
             series:\n  - {{metric: pvc.usage, object: pvc/default/a, values: \"{value}\"}}\n"
        );
        let _ = parse(FileId(0), &text);
    }
}
