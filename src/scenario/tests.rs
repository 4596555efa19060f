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
