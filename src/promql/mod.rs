//! An embedded PromQL evaluator: pure (no I/O, the evaluation time is passed
//! in), on promql-parser's AST, with Prometheus 3 semantics for float samples.
//! Native histograms and experimental functions are reported as
//! [`EvalError::Unsupported`], naming the construct.

mod aggregate;
mod binary;
mod eval;
mod functions;
mod store;

pub use eval::Evaluator;
pub use store::Store;

/// A series' label set; the metric name is the `__name__` label.
pub type Labels = std::collections::BTreeMap<String, String>;

/// The bit pattern Prometheus writes as a staleness marker.
pub const STALE_NAN_BITS: u64 = 0x7ff0000000000002;

/// Prometheus's staleness marker, a NaN with a fixed payload.
pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

/// Whether `v` is the staleness marker (and not any other NaN).
pub fn is_stale(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// The result of an instant query.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar(f64),
    Vector(Vec<(Labels, f64)>),
    Matrix(Vec<(Labels, Vec<(i64, f64)>)>),
    String(String),
}

/// Why a query could not be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    #[error("parse error: {0}")]
    Parse(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("invalid: {0}")]
    Invalid(String),
}

pub(crate) const NAME: &str = "__name__";

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Store {
        let mut s = Store::new();
        let l: Labels = [("__name__", "up"), ("job", "a")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        s.add(l.clone(), vec![(0, 1.0), (60_000, 2.0)]);
        s.add(l, vec![(120_000, stale_nan())]);
        s
    }

    #[test]
    fn staleness_marker_hides_the_series() {
        let s = store();
        let ev = Evaluator::new(&s);
        assert!(matches!(ev.query("up", 60_000), Ok(Value::Vector(v)) if v.len() == 1));
        assert_eq!(ev.query("up", 120_000), Ok(Value::Vector(vec![])));
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn hostile_times_and_steps_are_errors_not_panics() {
        let s = store();
        let ev = Evaluator::new(&s);
        for q in [
            "up offset 292y",
            "up @ 9223372036854775",
            "rate(up[292y])",
            "max_over_time(up[100y:1ms])",
            "up[292y:292y] offset -292y",
        ] {
            let _ = ev.query(q, i64::MAX);
            let _ = ev.query(q, i64::MIN);
        }
        assert!(matches!(
            ev.query("max_over_time(up[100y:1ms])", 0),
            Err(EvalError::Invalid(_))
        ));
    }

    #[test]
    fn a_range_query_is_an_instant_query_per_step() {
        let s = store();
        let ev = Evaluator::new(&s);
        let Ok(Value::Matrix(m)) = ev.query_range("up * 2", 0, 180_000, 60_000) else {
            panic!("a matrix");
        };
        let points: Vec<(i64, f64)> = m.into_iter().flat_map(|(_, p)| p).collect();
        assert_eq!(points, vec![(0, 2.0), (60_000, 4.0)]);
        let Ok(Value::Matrix(m)) = ev.query_range("time() + 0 * up @ start()", 0, 60_000, 60_000)
        else {
            panic!("a matrix");
        };
        assert_eq!(m.len(), 1);
        assert!(ev.query_range("up[1m]", 0, 60_000, 60_000).is_err());
        assert!(ev.query_range("up", 0, 60_000, 0).is_err());
    }

    #[test]
    fn errors_name_the_construct() {
        let s = store();
        let ev = Evaluator::new(&s);
        assert!(matches!(ev.query("up{", 0), Err(EvalError::Parse(_))));
        let err = ev.query("limitk(1, up)", 0).map_err(|e| e.to_string());
        assert_eq!(err, Err("unsupported: aggregation limitk".to_string()));
    }
}
