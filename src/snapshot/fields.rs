//! Cell parsers: one function per kind of value a snapshot column can hold
//! (GUID, boolean, date, duration, closed vocabulary, list, scope).
//!
//! They take a trimmed, non-empty cell and either return the normalised
//! value or an [`Invalid`] saying what was wrong and what was expected; the
//! caller adds file, line and field. Keeping them free of any format (CSV or
//! JSON) lets both readers share exactly the same normalisation.

use jiff::fmt::temporal::SpanParser;
use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::diag::quote;
use super::model::{Guid, IsoDuration, Scope};

/// Why a cell was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Invalid {
    /// Lower-case message quoting the input, e.g. "invalid boolean `maybe`".
    pub message: String,
    /// What would have been accepted.
    pub expected: String,
}

impl Invalid {
    fn new(what: &str, cell: &str, expected: impl Into<String>) -> Self {
        Invalid {
            message: format!("invalid {what} {}", quote(cell)),
            expected: expected.into(),
        }
    }
}

/// What a GUID column accepts.
pub(crate) const GUID_EXPECTED: &str = "a GUID such as 62e90394-69f5-4237-9190-012177145e10";
/// What a boolean column accepts.
pub(crate) const BOOL_EXPECTED: &str = "true/false, yes/no, 1/0 or empty";
/// What a date column accepts.
pub(crate) const DATE_EXPECTED: &str =
    "an ISO 8601 date or date-time such as 2026-11-01 or 2026-11-01T09:30:00Z";
/// What a duration column accepts.
pub(crate) const DURATION_EXPECTED: &str = "an ISO 8601 duration such as P730D";
/// What a text column accepts.
pub(crate) const TEXT_EXPECTED: &str = "text";

/// A GUID, any case, braces allowed.
pub(crate) fn guid(cell: &str) -> Result<Guid, Invalid> {
    fast_guid(cell.as_bytes())
        .or_else(|| Guid::parse(cell))
        .ok_or_else(|| Invalid::new("GUID", cell, GUID_EXPECTED))
}

/// The common case of [`Guid::parse`] (bare `8-4-4-4-12`), eight digits
/// at a time: GUID columns dominate large snapshots.
fn fast_guid(b: &[u8]) -> Option<Guid> {
    let b: &[u8; 36] = b.try_into().ok()?;
    if b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
        return None;
    }
    let word = |first: &[u8], second: &[u8]| {
        let mut w = [0; 8];
        w[..4].copy_from_slice(first);
        w[4..].copy_from_slice(second);
        w
    };
    let high = u64::from(hex8(word(&b[0..4], &b[4..8]))?) << 32
        | u64::from(hex8(word(&b[9..13], &b[14..18]))?);
    let low = u64::from(hex8(word(&b[19..23], &b[24..28]))?) << 32
        | u64::from(hex8(word(&b[28..32], &b[32..36]))?);
    Some(Guid([high, low]))
}

/// Eight hex digits (any case), the first the most significant; `None`
/// when any byte is not a hex digit. Works on all eight bytes at once: for
/// ASCII bytes, adding `0x80 - lo` to every byte sets a byte's high bit
/// exactly when the byte is `>= lo`, without carrying into the next byte.
fn hex8(digits: [u8; 8]) -> Option<u32> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = ONES * 0x80;
    let x = u64::from_be_bytes(digits);
    // Letters folded to lower case; digits are unchanged by this.
    let l = x | (ONES * 0x20);
    let digit = x.wrapping_add(ONES * (0x80 - 0x30)) & !x.wrapping_add(ONES * (0x80 - 0x3A));
    let letter = l.wrapping_add(ONES * (0x80 - 0x61)) & !l.wrapping_add(ONES * (0x80 - 0x67));
    if x & HIGH != 0 || (digit | letter) & HIGH != HIGH {
        return None;
    }
    // Digits: the low nibble; letters (bit 6 set): the low nibble + 9.
    let v = (l & (ONES * 0x0F)) + ((l >> 6) & ONES) * 9;
    // Pack the eight nibbles, one per byte, into 32 bits.
    let v = (v | v >> 4) & 0x00FF_00FF_00FF_00FF;
    let v = (v | v >> 8) & 0x0000_FFFF_0000_FFFF;
    let v = (v | v >> 16) & 0xFFFF_FFFF;
    u32::try_from(v).ok()
}

/// `true/false` (any case), `yes/no`, `1/0`.
pub(crate) fn boolean(cell: &str) -> Result<bool, Invalid> {
    const TRUE: &[&str] = &["true", "yes", "1"];
    const FALSE: &[&str] = &["false", "no", "0"];
    if TRUE.iter().any(|t| cell.eq_ignore_ascii_case(t)) {
        Ok(true)
    } else if FALSE.iter().any(|t| cell.eq_ignore_ascii_case(t)) {
        Ok(false)
    } else {
        Err(Invalid::new("boolean", cell, BOOL_EXPECTED))
    }
}

/// Parses a date or date-time the way snapshot cells are parsed (see
/// [`timestamp`]): for command-line values such as `--as-of`.
pub fn parse_timestamp(s: &str) -> Option<Timestamp> {
    timestamp(s.trim()).ok()
}

/// An ISO 8601 date-time with offset (`Z`, `-08:00`, fractional seconds
/// allowed), a date-time without offset (UTC) or a plain date (midnight UTC).
///
/// Every civil date from `0001-01-01` to `9999-12-31` is valid. A
/// timestamp ends at 9999-12-30T22:00Z (so that any offset still gives a
/// civil date): a later instant, such as the `9999-12-31` exports write
/// for "never expires", is held as that last instant ([`date_text`] shows
/// it as `9999-12-31`).
pub(crate) fn timestamp(cell: &str) -> Result<Timestamp, Invalid> {
    use jiff::fmt::temporal::{Pieces, PiecesOffset};
    if let Ok(t) = cell.parse::<Timestamp>() {
        return Ok(t);
    }
    // `civil::DateTime` also accepts a plain date (midnight).
    if let Ok(dt) = cell.parse::<jiff::civil::DateTime>() {
        return Ok(TimeZone::UTC
            .to_timestamp(dt)
            .unwrap_or_else(|_| beyond_range(dt)));
    }
    // A valid date-time with an offset that lies past the range.
    if let Ok(pieces) = Pieces::parse(cell) {
        let offset = match pieces.offset() {
            Some(PiecesOffset::Zulu) => Some(jiff::tz::Offset::UTC),
            Some(PiecesOffset::Numeric(n)) => Some(n.offset()),
            _ => None,
        };
        if let (Some(offset), None) = (offset, pieces.time_zone_annotation()) {
            let dt = pieces
                .date()
                .to_datetime(pieces.time().unwrap_or(jiff::civil::Time::midnight()));
            return Ok(offset.to_timestamp(dt).unwrap_or_else(|_| beyond_range(dt)));
        }
    }
    Err(Invalid::new("date", cell, DATE_EXPECTED))
}

/// The nearest timestamp to a civil date-time past either end of the range.
fn beyond_range(dt: jiff::civil::DateTime) -> Timestamp {
    if dt.year() > 0 {
        Timestamp::MAX
    } else {
        Timestamp::MIN
    }
}

/// A timestamp as a date (`2026-11-01`), the last one (where `9999-12-31`
/// is held, see [`timestamp`]) as `9999-12-31`.
pub fn date_text(t: Timestamp) -> String {
    if t == Timestamp::MAX {
        "9999-12-31".to_owned()
    } else {
        t.strftime("%Y-%m-%d").to_string()
    }
}

/// An ISO 8601 duration (`P730D`, `PT0S`), kept as written.
pub(crate) fn duration(cell: &str) -> Result<IsoDuration, Invalid> {
    static PARSER: SpanParser = SpanParser::new();
    PARSER
        .parse_span(cell)
        .map(|span| IsoDuration {
            text: cell.into(),
            span,
        })
        .map_err(|_| Invalid::new("duration", cell, DURATION_EXPECTED))
}

/// Longest GDAP relationship `duration` Microsoft accepts, in days.
pub(crate) const GDAP_MAX_DAYS: i64 = 730;
/// What a GDAP `duration` accepts.
pub(crate) const GDAP_DURATION_EXPECTED: &str = "an ISO 8601 duration from P1D to P730D";

/// A GDAP relationship `duration`: an ISO 8601 duration of at most
/// [`GDAP_MAX_DAYS`] days (Graph `delegatedAdminRelationship`). Years and
/// months count from 2001-01-01, so `P2Y` is 730 days.
pub(crate) fn gdap_duration(cell: &str) -> Result<IsoDuration, Invalid> {
    let d = duration(cell).map_err(|mut e| {
        e.expected = GDAP_DURATION_EXPECTED.into();
        e
    })?;
    let days = d
        .span
        .total((jiff::Unit::Day, jiff::civil::date(2001, 1, 1)))
        .unwrap_or(f64::INFINITY);
    if days > GDAP_MAX_DAYS as f64 {
        return Err(Invalid {
            message: format!(
                "GDAP duration {} is longer than the {GDAP_MAX_DAYS} days Microsoft allows",
                quote(cell)
            ),
            expected: GDAP_DURATION_EXPECTED.into(),
        });
    }
    Ok(d)
}

/// A value of a closed vocabulary (the `vocabulary!` types of the model):
/// `parse` is the type's case-insensitive parser, `all` its spellings.
pub(crate) fn vocab<T>(
    cell: &str,
    parse: fn(&str) -> Option<T>,
    all: &[&str],
) -> Result<T, Invalid> {
    parse(cell).ok_or_else(|| {
        let mut inv = Invalid::new("value", cell, expected_one_of(all));
        suggest(&mut inv.message, cell, all.iter().copied());
        inv
    })
}

/// `one of a, b, c`.
pub(crate) fn expected_one_of(all: &[&str]) -> String {
    format!("one of {}", all.join(", "))
}

/// The candidate closest to `input`, if it is close enough to suggest.
pub(crate) fn did_you_mean<'c>(
    input: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    let input = input.trim().to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::normalized_damerau_levenshtein(&input, c), c))
        .filter(|(score, _)| *score >= 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Appends "; did you mean `x`?" to `message` when a candidate is close
/// enough to `input`.
pub(crate) fn suggest<'c>(
    message: &mut String,
    input: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) {
    if let Some(best) = did_you_mean(input, candidates) {
        message.push_str("; did you mean `");
        message.push_str(best);
        message.push_str("`?");
    }
}

/// The items of a `;`-separated list cell, trimmed, empty items dropped.
pub(crate) fn list(cell: &str) -> impl Iterator<Item = &str> {
    cell.split(';').map(str::trim).filter(|s| !s.is_empty())
}

/// A role-assignment scope: one leading `/`, trailing `/` stripped
/// (except `/` itself), GUID segments lower-cased, the ARM keywords that
/// place a scope (`subscriptions`, `resourceGroups`, `providers`) in their
/// canonical case wherever they stand as keywords (Azure ids ignore case,
/// and exports write `/Subscriptions/...` too), the rest kept as written.
pub(crate) fn scope(cell: &str) -> Scope {
    let t = cell.trim().trim_end_matches('/');
    let mut out = String::with_capacity(t.len() + 1);
    out.push('/');
    for (i, seg) in t.trim_start_matches('/').split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        // Segments alternate keyword / name: `subscriptions` and (at the
        // root) `providers` open a scope; under a subscription come
        // `resourceGroups` and `providers`.
        let keyword = match i {
            0 => ["subscriptions", "providers"]
                .into_iter()
                .find(|k| seg.eq_ignore_ascii_case(k)),
            2 | 4 => ["resourceGroups", "providers"]
                .into_iter()
                .find(|k| seg.eq_ignore_ascii_case(k)),
            _ => None,
        };
        match keyword {
            Some(k) => out.push_str(k),
            None if seg.bytes().any(|b| b.is_ascii_uppercase()) && Guid::parse(seg).is_some() => {
                out.push_str(&seg.to_ascii_lowercase());
            }
            None => out.push_str(seg),
        }
    }
    Scope(out.into_boxed_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::model::RelState;

    #[test]
    fn booleans() {
        for t in ["true", "TRUE", "True", "yes", "YES", "1"] {
            assert_eq!(boolean(t), Ok(true), "{t}");
        }
        for f in ["false", "False", "no", "No", "0"] {
            assert_eq!(boolean(f), Ok(false), "{f}");
        }
        let e = boolean("maybe").expect_err("invalid");
        assert_eq!(e.message, "invalid boolean `maybe`");
        assert_eq!(e.expected, "true/false, yes/no, 1/0 or empty");
    }

    #[test]
    fn dates_in_every_accepted_form() {
        let t = |s: &str| timestamp(s).expect(s).to_string();
        assert_eq!(t("2026-11-01"), "2026-11-01T00:00:00Z");
        assert_eq!(t("2026-11-01T09:30:00"), "2026-11-01T09:30:00Z");
        assert_eq!(t("2026-11-01T09:30:00Z"), "2026-11-01T09:30:00Z");
        assert_eq!(t("2017-08-09T14:35:51-07:00"), "2017-08-09T21:35:51Z");
        assert_eq!(
            t("2022-02-10T11:24:42.3148266Z"),
            "2022-02-10T11:24:42.3148266Z"
        );
        assert_eq!(t("2017-07-25T01:51:00"), "2017-07-25T01:51:00Z");
        let e = timestamp("2026-13-01").expect_err("month 13");
        assert_eq!(e.message, "invalid date `2026-13-01`");
        assert!(timestamp("yesterday").is_err());
        assert!(timestamp("01/11/2026").is_err());
    }

    /// Validates issue #11 item 18: the extremes exports use are valid
    /// dates. `9999-12-31` ("never expires") lies past the last instant a
    /// timestamp holds (9999-12-30T22:00Z, so that any offset still gives
    /// a civil date): it is held as that last instant and shown as
    /// `9999-12-31`; the first day of year 1 is held as it is.
    #[test]
    fn extreme_but_valid_dates() {
        let end = Timestamp::MAX;
        for s in [
            "9999-12-31",
            "9999-12-31T00:00:00",
            "9999-12-31T23:59:59Z",
            "9999-12-31T23:59:59.9999999Z",
            "9999-12-31T23:59:59+14:00",
            "9999-12-31T23:59:59-12:00",
            "9999-12-30T23:00:00Z",
        ] {
            assert_eq!(timestamp(s), Ok(end), "{s}");
            assert_eq!(date_text(timestamp(s).expect(s)), "9999-12-31", "{s}");
        }
        let t = |s: &str| timestamp(s).expect(s).to_string();
        assert_eq!(t("9999-12-30T21:59:59Z"), "9999-12-30T21:59:59Z");
        assert_eq!(t("0001-01-01"), "0001-01-01T00:00:00Z");
        assert_eq!(t("0001-01-01T00:00:00Z"), "0001-01-01T00:00:00Z");
        assert_eq!(t("0001-01-01T00:00:00+14:00"), "0000-12-31T10:00:00Z");
        assert_eq!(
            date_text(timestamp("0001-01-01").expect("year 1")),
            "0001-01-01"
        );
        // Still invalid: no such day, no year 10000.
        for s in [
            "9999-12-32",
            "10000-01-01",
            "9999-13-31",
            "9999-12-31T24:00:01Z",
        ] {
            assert!(timestamp(s).is_err(), "{s}");
        }
    }

    #[test]
    fn parse_timestamp_for_command_lines() {
        let t = parse_timestamp(" 2026-11-01 ").expect("date");
        assert_eq!(t.to_string(), "2026-11-01T00:00:00Z");
        assert!(parse_timestamp("soon").is_none());
    }

    #[test]
    fn gdap_durations_stop_at_730_days() {
        assert_eq!(
            gdap_duration("P730D").expect("P730D").text.as_ref(),
            "P730D"
        );
        assert!(gdap_duration("P2Y").is_ok());
        let e = gdap_duration("P731D").expect_err("too long");
        assert!(e.message.contains("`P731D`"), "{}", e.message);
        assert_eq!(e.expected, GDAP_DURATION_EXPECTED);
        assert!(gdap_duration("P3Y").is_err());
        assert!(gdap_duration("PT17521H").is_err());
        assert!(gdap_duration("two years").is_err());
    }

    #[test]
    fn durations_keep_their_text() {
        let d = duration("P730D").expect("P730D");
        assert_eq!(&*d.text, "P730D");
        assert_eq!(d.span.get_days(), 730);
        assert!(duration("PT0S").expect("PT0S").span.is_zero());
        assert_eq!(duration("P180D").expect("P180D").span.get_days(), 180);
        let e = duration("730 days").expect_err("not ISO");
        assert_eq!(e.message, "invalid duration `730 days`");
        assert!(duration("P").is_err());
    }

    #[test]
    fn fast_guid_agrees_with_guid_parse() {
        for s in [
            "62e90394-69f5-4237-9190-012177145e10",
            "62E90394-69F5-4237-9190-012177145E1G",
            "62e90394-69f5-4237-9190-012177145e1",
            "62e90394x69f5-4237-9190-012177145e10",
            "ffffffff-ffff-ffff-ffff-ffffffffffff",
            "00000000-0000-0000-0000-00000000000/",
            "00000000-0000-0000-0000-00000000000:",
            "00000000-0000-0000-0000-00000000000g",
            "00000000-0000-0000-0000-00000000000`",
        ] {
            assert_eq!(fast_guid(s.as_bytes()), Guid::parse(s), "{s}");
        }
    }

    #[test]
    fn fast_guid_agrees_with_guid_parse_on_every_byte() {
        for base in [
            *b"62e90394-69f5-4237-9190-012177145e10",
            *b"ABCDEF01-2345-6789-abcd-ef0123456789",
        ] {
            assert!(fast_guid(&base).is_some());
            for at in 0..base.len() {
                for byte in 0..=u8::MAX {
                    let mut s = base;
                    s[at] = byte;
                    let parsed = std::str::from_utf8(&s).ok().and_then(Guid::parse);
                    assert_eq!(fast_guid(&s), parsed, "{at} {byte:#x}");
                }
            }
        }
    }

    #[test]
    fn guids() {
        assert_eq!(
            guid("{62E90394-69F5-4237-9190-012177145E10}")
                .expect("guid")
                .to_string(),
            "62e90394-69f5-4237-9190-012177145e10"
        );
        let e = guid("not-a-guid").expect_err("bad");
        assert_eq!(e.message, "invalid GUID `not-a-guid`");
    }

    #[test]
    fn vocab_suggests_the_closest_value() {
        assert_eq!(
            vocab("ACTIVE", RelState::parse, RelState::ALL),
            Ok(RelState::Active)
        );
        let e = vocab("actve", RelState::parse, RelState::ALL).expect_err("bad");
        assert_eq!(e.message, "invalid value `actve`; did you mean `active`?");
        assert_eq!(
            e.expected,
            "one of pending, active, removed, expired, terminated"
        );
        let e = vocab("zzz", RelState::parse, RelState::ALL).expect_err("bad");
        assert_eq!(e.message, "invalid value `zzz`");
    }

    #[test]
    fn suggestions_only_for_near_misses() {
        let cols = ["tenant_id", "principal_id", "enabled", "name"];
        assert_eq!(did_you_mean("enabeld", cols), Some("enabled"));
        assert_eq!(did_you_mean("NME", cols), Some("name"));
        assert_eq!(did_you_mean("principalid", cols), Some("principal_id"));
        assert_eq!(did_you_mean("PrincipalType", cols), None);
        assert_eq!(did_you_mean("Country", cols), None);
    }

    #[test]
    fn lists_split_on_semicolons() {
        let v: Vec<_> = list(" Global Administrator ;; Helpdesk Administrator;").collect();
        assert_eq!(v, ["Global Administrator", "Helpdesk Administrator"]);
    }

    #[test]
    fn scopes_are_normalised() {
        let s = |c: &str| scope(c).0.to_string();
        assert_eq!(s("/"), "/");
        assert_eq!(s(" / "), "/");
        assert_eq!(
            s("subscriptions/AAAAAAAA-0000-0000-0000-00000000000A/resourceGroups/RG-One/"),
            "/subscriptions/aaaaaaaa-0000-0000-0000-00000000000a/resourceGroups/RG-One"
        );
        assert_eq!(
            s("/providers/Microsoft.Management/managementGroups/Root"),
            "/providers/Microsoft.Management/managementGroups/Root"
        );
        // ARM keywords in any case; names keep theirs.
        assert_eq!(
            s("/Subscriptions/AAAAAAAA-0000-0000-0000-00000000000A/RESOURCEGROUPS/Providers/PROVIDERS/Microsoft.Compute/virtualMachines/VM1"),
            "/subscriptions/aaaaaaaa-0000-0000-0000-00000000000a/resourceGroups/Providers/providers/Microsoft.Compute/virtualMachines/VM1"
        );
        assert_eq!(
            scope("/SUBSCRIPTIONS/AAAAAAAA-0000-0000-0000-00000000000A").subscription(),
            Guid::parse("aaaaaaaa-0000-0000-0000-00000000000a")
        );
        assert_eq!(s("/subscriptions"), "/subscriptions");
        assert_eq!(s("//"), "/");
    }
}
