//! Stable diagnostic codes of the checker, and [`all_codes`]: every code
//! that parse and check can produce.

pub const UNKNOWN_NAME: &str = "apr::type::unknown_name";
pub const UNKNOWN_KIND: &str = "apr::type::unknown_kind";
pub const UNKNOWN_FIELD: &str = "apr::type::unknown_field";
pub const UNKNOWN_TYPE: &str = "apr::type::unknown_type";
pub const UNKNOWN_ACTION: &str = "apr::type::unknown_action";
pub const UNKNOWN_FUNCTION: &str = "apr::type::unknown_function";
pub const UNKNOWN_ARGUMENT: &str = "apr::type::unknown_argument";
pub const MISSING_ARGUMENT: &str = "apr::type::missing_argument";
pub const ARGUMENTS: &str = "apr::type::arguments";
pub const MISMATCH: &str = "apr::type::mismatch";
pub const OPERATOR: &str = "apr::type::operator";
pub const EXPECTED: &str = "apr::type::expected";
pub const NOT_CONSTANT: &str = "apr::type::not_constant";
pub const RANGE: &str = "apr::type::range";
pub const DURATION_RANGE: &str = "apr::type::duration_range";
pub const SIGN: &str = "apr::type::sign";
pub const SHRINK: &str = "apr::type::shrink";
pub const ACTION_KIND: &str = "apr::type::action_kind";
pub const KIND_MISMATCH: &str = "apr::type::kind_mismatch";
pub const AMBIGUOUS_KIND: &str = "apr::type::ambiguous_kind";
pub const NO_KIND: &str = "apr::type::no_kind";
pub const NO_NAMESPACE: &str = "apr::type::no_namespace";
pub const DUPLICATE: &str = "apr::type::duplicate";
pub const DUPLICATE_CLAUSE: &str = "apr::type::duplicate_clause";
pub const MISSING_CLAUSE: &str = "apr::type::missing_clause";
pub const BAD_VALUE: &str = "apr::type::bad_value";
pub const CONVERSION: &str = "apr::type::conversion";
pub const WINDOW: &str = "apr::type::window";
pub const PROMQL: &str = "apr::type::promql";
pub const JOIN_LABELS: &str = "apr::type::join_labels";
pub const INTERPOLATION: &str = "apr::type::interpolation";
pub const NOT_A_VALUE: &str = "apr::type::not_a_value";
pub const CYCLE: &str = "apr::type::cycle";
pub const NAME_FORMAT: &str = "apr::type::name_format";

/// Every diagnostic code that parse and check can produce.
pub fn all_codes() -> Vec<&'static str> {
    use crate::syntax::parse::codes as p;
    vec![
        p::SYNTAX,
        p::UNKNOWN_UNIT,
        p::BAD_ESCAPE,
        p::BAD_NUMBER,
        p::TOO_DEEP,
        p::TOO_LONG,
        UNKNOWN_NAME,
        UNKNOWN_KIND,
        UNKNOWN_FIELD,
        UNKNOWN_TYPE,
        UNKNOWN_ACTION,
        UNKNOWN_FUNCTION,
        UNKNOWN_ARGUMENT,
        MISSING_ARGUMENT,
        ARGUMENTS,
        MISMATCH,
        OPERATOR,
        EXPECTED,
        NOT_CONSTANT,
        RANGE,
        DURATION_RANGE,
        SIGN,
        SHRINK,
        ACTION_KIND,
        KIND_MISMATCH,
        AMBIGUOUS_KIND,
        NO_KIND,
        NO_NAMESPACE,
        DUPLICATE,
        DUPLICATE_CLAUSE,
        MISSING_CLAUSE,
        BAD_VALUE,
        CONVERSION,
        WINDOW,
        PROMQL,
        JOIN_LABELS,
        INTERPOLATION,
        NOT_A_VALUE,
        CYCLE,
        NAME_FORMAT,
    ]
}
