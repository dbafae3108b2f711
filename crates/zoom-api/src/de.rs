//! Lenient readers for fields Zoom sends in more than one shape.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serializer};
use serde_json::Value;

/// A meeting id sent as a number (REST) or a string (webhook samples).
pub(crate) fn u64_from_value(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) fn i64_from_value(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Date-times as Zoom writes them: RFC 3339 (`2024-07-11T14:12:55Z`), or without a zone,
/// which Zoom uses for UTC in a few places (`2024-09-08 15:58:40`).
pub(crate) fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(Utc.from_utc_datetime(&t));
        }
    }
    None
}

pub(crate) fn id<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = Value::deserialize(d)?;
    u64_from_value(&v)
        .ok_or_else(|| serde::de::Error::custom("meeting id is not a non-negative integer"))
}

pub(crate) fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.as_ref().and_then(u64_from_value))
}

pub(crate) fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.as_ref().and_then(i64_from_value))
}

/// An optional date-time; an empty string counts as absent (Zoom sends `""` for
/// recurring meetings without a fixed time). A non-empty value that is not a date-time is
/// an error rather than silently dropped, because the CRM would show a wrong time.
pub(crate) fn opt_datetime<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    let v = Option::<String>::deserialize(d)?;
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => parse_datetime(s)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom("not a date-time")),
    }
}

/// Zoom's UTC form `yyyy-MM-ddTHH:mm:ssZ` (no fractional seconds, literal `Z`).
pub fn format_zoom_utc(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub(crate) fn ser_opt_zoom_utc<S: Serializer>(
    t: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&format_zoom_utc(t)),
        None => s.serialize_none(),
    }
}
