//! `window "Mon-Fri 02:00-04:00 Europe/Berlin"`: days, a time range, a zone.
//!
//! Each part is optional: `"Sat-Sun"` is whole weekend days, `"02:00-04:00"`
//! every day, and the zone defaults to UTC.

use crate::diagnostic::Diagnostic;
use crate::ir::Window;
use crate::source::Span;

use super::codes;

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Parses the window text; `span` is the string literal's, quotes included.
pub fn parse_window(text: &str, span: Span) -> Result<Window, Box<Diagnostic>> {
    let at = |start: usize, len: usize| {
        let s = span.start as usize + 1 + start;
        Span::new(span.file, s, s + len.max(1))
    };
    let help = "write `window \"Mon-Fri 02:00-04:00 Europe/Berlin\"`: days, a time range \
                and an IANA zone, each optional";
    let mut window = Window {
        days: [true; 7],
        start: 0,
        end: 24 * 60,
        zone: "UTC".into(),
        span,
    };
    let mut seen_days = false;
    let mut seen_time = false;
    let mut seen_zone = false;
    let words = text
        .split_whitespace()
        .map(|w| (w, w.as_ptr() as usize - text.as_ptr() as usize));
    let mut any = false;
    for (word, offset) in words {
        any = true;
        let here = at(offset, word.len());
        let day_like = looks_like_days(word)
            || (word.contains(['-', ','])
                && !word.contains('/')
                && jiff::tz::TimeZone::get(word).is_err());
        if !seen_days
            && !seen_time
            && !seen_zone
            && day_like
            && !word.starts_with(|c: char| c.is_ascii_digit())
        {
            window.days = parse_days(word).map_err(|msg| {
                Diagnostic::error(codes::WINDOW, here, msg)
                    .label("not a day range")
                    .help("days are Mon Tue Wed Thu Fri Sat Sun, as `Mon-Fri` or `Sat,Sun`")
            })?;
            seen_days = true;
        } else if !seen_time && !seen_zone && word.starts_with(|c: char| c.is_ascii_digit()) {
            let (start, end) = parse_times(word).map_err(|msg| {
                Diagnostic::error(codes::WINDOW, here, msg)
                    .label("not a time range")
                    .help("times are 24-hour `HH:MM-HH:MM`; the end may be past midnight")
            })?;
            window.start = start;
            window.end = end;
            seen_time = true;
        } else if !seen_zone && word.contains(|c: char| c.is_ascii_alphabetic()) {
            check_zone(word).map_err(|h| {
                Diagnostic::error(codes::WINDOW, here, format!("unknown time zone `{word}`"))
                    .label("not an IANA zone")
                    .help(h)
            })?;
            window.zone = word.to_string();
            seen_zone = true;
        } else {
            return Err((Diagnostic::error(
                codes::WINDOW,
                here,
                format!("unexpected `{word}` in window"),
            )
            .label("unexpected")
            .help(help))
            .into());
        }
    }
    if !any {
        return Err((Diagnostic::error(codes::WINDOW, span, "empty window")
            .label("empty")
            .help(help))
        .into());
    }
    Ok(window)
}

fn looks_like_days(word: &str) -> bool {
    word.split([',', '-'])
        .all(|d| DAYS.contains(&d.to_ascii_lowercase().as_str()))
        || word.eq_ignore_ascii_case("daily")
}

fn day(name: &str) -> Result<usize, String> {
    DAYS.iter()
        .position(|d| d.eq_ignore_ascii_case(name))
        .ok_or_else(|| format!("unknown day `{name}`"))
}

fn parse_days(word: &str) -> Result<[bool; 7], String> {
    if word.eq_ignore_ascii_case("daily") {
        return Ok([true; 7]);
    }
    let mut days = [false; 7];
    for part in word.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day(a)?, day(b)?);
                let mut d = a;
                loop {
                    days[d] = true;
                    if d == b {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => days[day(part)?] = true,
        }
    }
    Ok(days)
}

fn parse_time(s: &str) -> Result<u32, String> {
    let bad = || format!("`{s}` is not a time like `02:00`");
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u32 = h.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    if m >= 60 || h > 24 || (h == 24 && m != 0) {
        return Err(format!("`{s}` is not a time of day"));
    }
    Ok(h * 60 + m)
}

fn parse_times(word: &str) -> Result<(u32, u32), String> {
    let (a, b) = word
        .split_once('-')
        .ok_or_else(|| format!("`{word}` is not a range like `02:00-04:00`"))?;
    let (start, end) = (parse_time(a)?, parse_time(b)?);
    if start == end {
        return Err("the window is empty: start and end are the same".into());
    }
    Ok((start, end))
}

fn check_zone(name: &str) -> Result<(), String> {
    if jiff::tz::TimeZone::get(name).is_ok() {
        return Ok(());
    }
    // Listing the database reads every zone; a file may name many bad ones.
    static NAMES: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
        jiff::tz::db()
            .available()
            .map(|n| n.as_str().to_string())
            .collect()
    });
    let guess = crate::diagnostic::closest(name, NAMES.iter().map(String::as_str));
    Err(match guess {
        Some(g) => format!("did you mean `{g}`? zones are IANA names like `Europe/Berlin`"),
        None => "zones are IANA names like `Europe/Berlin` or `UTC`".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(text: &str) -> Result<Window, String> {
        parse_window(text, Span::default()).map_err(|d| d.message)
    }

    #[test]
    fn windows() {
        let x = w("Mon-Fri 02:00-04:00 Europe/Berlin").unwrap();
        assert_eq!(x.days, [true, true, true, true, true, false, false]);
        assert_eq!((x.start, x.end), (120, 240));
        assert_eq!(x.zone, "Europe/Berlin");
        let x = w("Fri-Mon 22:00-06:00").unwrap();
        assert_eq!(x.days, [true, false, false, false, true, true, true]);
        assert_eq!(x.zone, "UTC");
        assert!(w("Sat,Sun").is_ok());
        assert!(w("Mon-Fri 25:00-04:00").is_err());
        assert!(w("Mon-Fri 02:00-04:00 Europe/Berln").is_err());
        assert!(w("").is_err());
        assert!(w("Mon-Fri 02:00-04:00 UTC extra").is_err());
    }
}
