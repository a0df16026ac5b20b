//! Graph PowerShell output saved with `ConvertTo-Json`: what differs from
//! the REST JSON the other readers expect, and how it is normalised.
//!
//! - Keys are PascalCase (`Id`, `DisplayName`, `AccessDetails`): every reader
//!   looks keys up case-insensitively ([`super::source::Obj`]).
//! - Type-specific properties of directory objects (`Get-MgGroupMember`,
//!   `Get-MgDirectoryRoleMember`, an expanded `Principal`) sit in an
//!   `AdditionalProperties` dictionary, `@odata.type` included: it is merged
//!   into the object ([`super::source::Obj::new`]).
//! - Windows PowerShell 5.1 writes dates as `"\/Date(1646693718678)\/"`
//!   ([`date`]) and arrays sometimes as `{"value": [...], "Count": n}`
//!   (handled as a page); `>` writes UTF-16 ([`super::source::decode`]).
//! - Durations are .NET `TimeSpan`s: an object with `Ticks`, `Days`, … or
//!   the text `730.00:00:00` ([`timespan`]).
//! - `ConvertTo-Json`'s default `-Depth 2` replaces deeper objects by their
//!   .NET type name; such a file is refused with the fix ([`truncated`]).

use jiff::Timestamp;
use serde_json::Value;

use super::source::Body;
use crate::snapshot::Diagnostic;

/// `/Date(1646693718678)/` or `/Date(1646693718678+0100)/` (milliseconds
/// since the Unix epoch, UTC).
pub(crate) fn date(s: &str) -> Option<Timestamp> {
    let inner = s
        .trim()
        .trim_matches(|c| c == '\\' || c == '/')
        .strip_prefix("Date(")?
        .strip_suffix(')')?;
    let end = inner
        .char_indices()
        .skip(1)
        .find(|(_, c)| *c == '+' || *c == '-')
        .map_or(inner.len(), |(i, _)| i);
    let ms: i64 = inner[..end].parse().ok()?;
    Timestamp::from_millisecond(ms).ok()
}

/// A .NET `TimeSpan` as `ConvertTo-Json` writes it (an object with `Ticks`
/// or `TotalSeconds`, or `d.hh:mm:ss` text) as an ISO 8601 duration.
pub(crate) fn timespan(v: &Value) -> Option<String> {
    let seconds: i64 = match v {
        Value::Object(m) => {
            let get = |k: &str| {
                m.iter()
                    .find(|(x, _)| x.eq_ignore_ascii_case(k))
                    .and_then(|(_, v)| v.as_f64())
            };
            if let Some(t) = get("Ticks") {
                (t / 10_000_000.0).round() as i64
            } else {
                get("TotalSeconds")?.round() as i64
            }
        }
        Value::String(s) => parse_timespan_text(s.trim())?,
        _ => return None,
    };
    Some(if seconds == 0 {
        "PT0S".to_owned()
    } else if seconds % 86_400 == 0 {
        format!("P{}D", seconds / 86_400)
    } else {
        format!("PT{seconds}S")
    })
}

/// `[-][d.]hh:mm:ss[.fffffff]`.
fn parse_timespan_text(s: &str) -> Option<i64> {
    let (days, rest) = match s.split_once('.') {
        Some((d, r)) if r.contains(':') && !d.contains(':') => (d.parse::<i64>().ok()?, r),
        _ => (0, s),
    };
    let mut parts = rest.split(':');
    let h: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let sec: f64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() {
        return None;
    }
    Some(days * 86_400 + h * 3_600 + m * 60 + sec.round() as i64)
}

/// A string that is a .NET type name where `ConvertTo-Json` ran out of
/// depth (`System.Collections.Hashtable`, `Microsoft.Graph.PowerShell.Models.…`).
fn is_type_name(s: &str) -> bool {
    s.starts_with("System.Collections.")
        || s.starts_with("Microsoft.Graph.PowerShell.Models.")
        || s.starts_with("Microsoft.Graph.Beta.PowerShell.Models.")
        || s == "System.Object[]"
}

/// The error for a file whose objects `ConvertTo-Json` truncated.
pub(crate) fn truncated(body: &Body, display: &str) -> Option<Diagnostic> {
    for item in &body.items {
        if let Some((k, v)) = item.obj.strings().find(|(_, v)| is_type_name(v)) {
            return Some(
                Diagnostic::error(
                    display,
                    format!("`{k}` holds the type name `{v}` instead of its value: `ConvertTo-Json` cut the objects short"),
                )
                .at_line(item.line)
                .with_field(k)
                .with_expected("the full object")
                .with_help("export again with `ConvertTo-Json -Depth 10`"),
            );
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::source::parse_json;

    #[test]
    fn windows_powershell_dates() {
        assert_eq!(
            date("/Date(1646693718678)/")
                .map(|t| t.to_string())
                .as_deref(),
            Some("2022-03-07T22:55:18.678Z")
        );
        assert_eq!(
            date("\\/Date(1646693718678+0100)\\/")
                .map(|t| t.to_string())
                .as_deref(),
            Some("2022-03-07T22:55:18.678Z")
        );
        assert!(date("2022-03-07").is_none());
    }

    #[test]
    fn timespans_become_iso_durations() {
        let v: Value =
            serde_json::from_str(r#"{"Ticks":630720000000000,"Days":730}"#).expect("json");
        assert_eq!(timespan(&v).as_deref(), Some("P730D"));
        assert_eq!(
            timespan(&Value::String("180.00:00:00".into())).as_deref(),
            Some("P180D")
        );
        assert_eq!(
            timespan(&Value::String("00:00:00".into())).as_deref(),
            Some("PT0S")
        );
        assert_eq!(
            timespan(&Value::String("01:30:00".into())).as_deref(),
            Some("PT5400S")
        );
        assert!(timespan(&Value::Bool(true)).is_none());
    }

    #[test]
    fn truncated_objects_are_refused_with_the_fix() {
        let body = parse_json(
            r#"[{"Id":"x","AccessDetails":"Microsoft.Graph.PowerShell.Models.MicrosoftGraphDelegatedAdminAccessDetails"}]"#,
            "f",
        )
        .expect("json");
        let d = truncated(&body, "f").expect("refused");
        assert_eq!(d.field.as_deref(), Some("AccessDetails"));
        assert!(d.help.as_deref().unwrap_or("").contains("-Depth"));
    }
}
