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

/// A backtest's frame: no `duration` needed, the file's own times not
/// read, and relative times (age, approvals, restarts, changes) counted
/// from the frame's start.
#[test]
fn a_frame_replaces_the_files_times() {
    let text = "start: 2020-01-01T00:00:00Z\nstep: 5m\nlookback: 10m\n\
                objects:\n  - {kind: pvc, name: a, capacity: 1Gi, age: 1h}\n\
                restarts: [20m]\n\
                changes:\n  - {at: 10m, object: pvc/default/a, set: {capacity: 2Gi}}\n";
    let frame = Frame {
        start: DEFAULT_START + 7_000,
        step: 60_000,
        duration: 3_600_000,
        lookback: 60_000,
    };
    let s = parse_framed(FileId(0), text, frame).unwrap_or_else(|d| panic!("{d:#?}"));
    assert_eq!(
        (s.start, s.step, s.duration, s.lookback),
        (frame.start, 60_000, 3_600_000, 60_000)
    );
    assert_eq!(s.objects[0].created, Some(frame.start - 3_600_000));
    assert_eq!(s.restarts, [frame.start + 1_200_000]);
    assert_eq!(s.changes[0].at, frame.start + 600_000);
    assert_eq!(s.ticks().count(), 61);
    // Without a frame the same file needs its duration.
    let e = parse(FileId(0), text).unwrap_err();
    assert!(e[0].message.contains("needs `duration`"), "{e:#?}");
    // Times past the frame's end are still errors.
    let late = "restarts: [2h]\n";
    assert!(parse_framed(FileId(0), late, frame).is_err());
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
