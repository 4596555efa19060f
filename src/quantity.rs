//! Kubernetes resource quantities (`10Gi`, `500M`, `1.5Ti`, `1e9`) as whole bytes.
//!
//! The grammar is the apimachinery one: a signed decimal number followed by a
//! binary suffix (`Ki`…`Ei`), a decimal suffix (`n u m k M G T P E`) or an
//! exponent (`e3`, `E-2`). Storage is counted in whole bytes, so a fraction is
//! rounded up, as the API server does for `storage`.

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum QuantityError {
    #[error("`{0}` is not a Kubernetes quantity")]
    Syntax(String),
    #[error("`{0}` is negative; a size cannot be")]
    Negative(String),
    #[error("`{0}` does not fit in 64 bits of bytes")]
    TooLarge(String),
}

/// Parses a quantity into bytes, rounding a fraction of a byte up.
pub fn parse_bytes(text: &str) -> Result<u64, QuantityError> {
    let syntax = || QuantityError::Syntax(text.to_string());
    let too_large = || QuantityError::TooLarge(text.to_string());
    let s = text.trim();
    let (negative, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let number_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(number_end);
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if int.is_empty() && frac.is_empty() || frac.contains('.') {
        return Err(syntax());
    }
    // mantissa × 2^bin × 10^(dec − frac digits)
    let mut mantissa: u128 = 0;
    for d in int.bytes().chain(frac.bytes()) {
        mantissa = mantissa
            .checked_mul(10)
            .and_then(|m| m.checked_add(u128::from(d - b'0')))
            .ok_or_else(too_large)?;
    }
    let (bin, dec): (u32, i32) = match suffix {
        "" => (0, 0),
        "Ki" => (10, 0),
        "Mi" => (20, 0),
        "Gi" => (30, 0),
        "Ti" => (40, 0),
        "Pi" => (50, 0),
        "Ei" => (60, 0),
        "n" => (0, -9),
        "u" => (0, -6),
        "m" => (0, -3),
        "k" => (0, 3),
        "M" => (0, 6),
        "G" => (0, 9),
        "T" => (0, 12),
        "P" => (0, 15),
        "E" => (0, 18),
        _ => match suffix.strip_prefix(['e', 'E']) {
            Some(exp) => (0, exp.parse::<i32>().map_err(|_| syntax())?),
            None => return Err(syntax()),
        },
    };
    if negative && mantissa != 0 {
        return Err(QuantityError::Negative(text.to_string()));
    }
    if mantissa == 0 {
        return Ok(0);
    }
    let exp = dec - frac.len() as i32;
    let mut value = mantissa.checked_shl(bin).ok_or_else(too_large)?;
    if value >> bin != mantissa {
        return Err(too_large());
    }
    if exp >= 0 {
        let scale = 10u128.checked_pow(exp as u32).ok_or_else(too_large)?;
        value = value.checked_mul(scale).ok_or_else(too_large)?;
    } else {
        // Dividing by more than 10^38 leaves less than a byte: that rounds up to one.
        value = match 10u128.checked_pow(exp.unsigned_abs()) {
            Some(scale) => value.div_ceil(scale),
            None => 1,
        };
    }
    u64::try_from(value).map_err(|_| too_large())
}

/// Writes bytes as the shortest exact quantity: `200Gi`, `1536Mi`, `1000`.
pub fn format_bytes(bytes: u64) -> String {
    const SUFFIXES: [&str; 6] = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
    let mut value = bytes;
    let mut unit = None;
    for suffix in SUFFIXES {
        if value == 0 || !value.is_multiple_of(1024) {
            break;
        }
        value /= 1024;
        unit = Some(suffix);
    }
    format!("{value}{}", unit.unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GI: u64 = 1 << 30;

    #[test]
    fn parses_what_the_api_server_writes() {
        let cases: &[(&str, u64)] = &[
            ("0", 0),
            ("1", 1),
            ("10Gi", 10 * GI),
            ("1.5Gi", 3 * GI / 2),
            ("1Ki", 1024),
            ("1Ei", 1 << 60),
            ("5G", 5_000_000_000),
            ("1k", 1000),
            ("1e3", 1000),
            ("1E3", 1000),
            ("1.5e3", 1500),
            ("+2Mi", 2 << 20),
            ("1500m", 2),
            ("1m", 1),
            ("1n", 1),
            ("0.1", 1),
            (".5Ki", 512),
            ("-0", 0),
            ("0e99999", 0),
            ("18446744073709551615", u64::MAX),
            ("1e-40", 1),
        ];
        for (text, want) in cases {
            assert_eq!(parse_bytes(text), Ok(*want), "{text}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_size() {
        for text in ["", "Gi", "1.2.3", "10GB", "1gi", "1e", "1ee3", ".", "ten"] {
            assert!(
                matches!(parse_bytes(text), Err(QuantityError::Syntax(_))),
                "{text}"
            );
        }
        assert!(matches!(
            parse_bytes("-1Gi"),
            Err(QuantityError::Negative(_))
        ));
        for text in ["16Ei", "18446744073709551616", "1e20", "1e99999"] {
            assert!(
                matches!(parse_bytes(text), Err(QuantityError::TooLarge(_))),
                "{text}"
            );
        }
    }

    #[test]
    fn formats_exactly_and_round_trips() {
        assert_eq!(format_bytes(0), "0");
        assert_eq!(format_bytes(1000), "1000");
        assert_eq!(format_bytes(1024), "1Ki");
        assert_eq!(format_bytes(200 * GI), "200Gi");
        assert_eq!(format_bytes(3 * GI / 2), "1536Mi");
        assert_eq!(format_bytes(1 << 60), "1Ei");
        assert_eq!(format_bytes(u64::MAX), u64::MAX.to_string());
        for bytes in [0, 1, 1023, 1024, 7 * GI, 11 * GI + 1, u64::MAX, 1 << 63] {
            assert_eq!(parse_bytes(&format_bytes(bytes)), Ok(bytes));
        }
    }
}
