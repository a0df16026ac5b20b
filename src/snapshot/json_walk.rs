//! Low-level JSON helpers for the loader: a structural walker that finds
//! the byte span of every array element / object entry (so each row knows
//! the line it starts on), a monotonic line counter, and a row object type
//! that borrows its strings from the input instead of allocating a
//! `serde_json::Value` per cell.
//!
//! The walker does not validate: `json_in` validates every document with
//! serde_json (in parallel with the walk) and discards the walk's result
//! when the document is invalid. It never panics and always terminates,
//! whatever the input.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Bytes that open or close a nested value or a string.
const NESTING: [bool; 256] = {
    let mut t = [false; 256];
    t[b'"' as usize] = true;
    t[b'[' as usize] = true;
    t[b']' as usize] = true;
    t[b'{' as usize] = true;
    t[b'}' as usize] = true;
    t
};

/// Skips over the structure of a JSON document.
pub(crate) struct Walker<'b> {
    b: &'b [u8],
    pos: usize,
}

impl<'b> Walker<'b> {
    fn at(b: &'b [u8], pos: usize) -> Self {
        Walker { b, pos }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        (self.peek()? == c).then(|| self.pos += 1)
    }

    /// Skips a string starting at the current `"`.
    fn string(&mut self) -> Option<()> {
        self.pos += 1;
        loop {
            let rest = self.b.get(self.pos..)?;
            let i = rest.iter().position(|&c| c == b'"' || c == b'\\')?;
            if rest[i] == b'"' {
                self.pos += i + 1;
                return Some(());
            }
            self.pos += i + 2;
        }
    }

    /// Skips one value; returns its span.
    fn value(&mut self) -> Option<Range<usize>> {
        self.ws();
        let start = self.pos;
        match self.peek()? {
            b'"' => self.string()?,
            b'[' | b'{' => {
                let mut depth = 0usize;
                loop {
                    // Jump to the next byte that matters for nesting.
                    let rest = self.b.get(self.pos..)?;
                    self.pos += rest.iter().position(|&c| NESTING[usize::from(c)])?;
                    match self.peek()? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'[' | b'{' => depth += 1,
                        _ => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                self.pos += 1;
                                break;
                            }
                        }
                    }
                    self.pos += 1;
                }
            }
            _ => {
                while !matches!(
                    self.peek(),
                    None | Some(b',' | b']' | b'}' | b':' | b' ' | b'\t' | b'\n' | b'\r')
                ) {
                    self.pos += 1;
                }
            }
        }
        Some(start..self.pos)
    }

    /// The span of the document's top-level value.
    pub fn document(b: &'b [u8]) -> Option<Range<usize>> {
        Walker::at(b, 0).value()
    }

    /// The element spans of the array at `span`.
    pub fn array(b: &'b [u8], span: Range<usize>) -> Option<Vec<Range<usize>>> {
        let mut w = Walker::at(b, span.start);
        w.eat(b'[')?;
        let mut out = Vec::new();
        if w.eat(b']').is_some() {
            return Some(out);
        }
        loop {
            let v = w.value()?;
            if v.is_empty() {
                return None;
            }
            out.push(v);
            if w.eat(b',').is_none() {
                w.eat(b']')?;
                return Some(out);
            }
        }
    }

    /// The (key span, value span) entries of the object at `span`.
    pub fn object(b: &'b [u8], span: Range<usize>) -> Option<Vec<(Range<usize>, Range<usize>)>> {
        let mut w = Walker::at(b, span.start);
        w.eat(b'{')?;
        let mut out = Vec::new();
        if w.eat(b'}').is_some() {
            return Some(out);
        }
        loop {
            let key = w.value()?;
            w.eat(b':')?;
            let value = w.value()?;
            if key.is_empty() || value.is_empty() {
                return None;
            }
            out.push((key, value));
            if w.eat(b',').is_none() {
                w.eat(b'}')?;
                return Some(out);
            }
        }
    }
}

/// Turns increasing byte offsets into 1-based line numbers in one pass.
#[derive(Clone, Default)]
pub(crate) struct LineCounter {
    offset: usize,
    newlines: usize,
}

impl LineCounter {
    /// The line holding byte `offset` of `buf`. Offsets should increase
    /// from call to call; a smaller one restarts the count.
    pub fn line(&mut self, buf: &[u8], offset: usize) -> u32 {
        if offset < self.offset {
            *self = LineCounter::default();
        }
        let seg = buf.get(self.offset..offset).unwrap_or_default();
        self.newlines += seg.iter().filter(|&&b| b == b'\n').count();
        self.offset = offset;
        u32::try_from(self.newlines + 1).unwrap_or(u32::MAX)
    }
}

/// What kind of JSON value starts with byte `b`, for messages.
pub(crate) fn kind_at(b: Option<u8>) -> &'static str {
    match b {
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// A JSON value of a row, strings borrowed from the input when unescaped.
#[derive(Debug)]
pub(crate) enum JsonValue<'de> {
    Null,
    Bool(bool),
    /// A number, formatted (text columns accept numbers).
    Number(String),
    /// A number too large to have arrived with its digits intact.
    Inexact,
    String(Cow<'de, str>),
    Array(Vec<JsonValue<'de>>),
    /// An object; its content is never a cell value, so it is skipped.
    Object,
}

/// One row object: its entries in input order.
#[derive(Debug)]
pub(crate) struct JsonObject<'de>(pub Vec<(Cow<'de, str>, JsonValue<'de>)>);

/// A string (key or value), borrowed when possible.
struct Str<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for JsonValue<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JsonValue<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(JsonValue::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(JsonValue::Null)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(JsonValue::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(JsonValue::Number(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(JsonValue::Number(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                // An integer beyond 64 bits (or a float past 2^53) arrives
                // rounded: its digits are lost, so it is no value to keep.
                if v.abs() >= 9_007_199_254_740_992.0 {
                    return Ok(JsonValue::Inexact);
                }
                Ok(JsonValue::Number(
                    serde_json::Number::from_f64(v)
                        .map_or_else(|| v.to_string(), |n| n.to_string()),
                ))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(JsonValue::String(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(JsonValue::String(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(JsonValue::String(Cow::Owned(v)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(JsonValue::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(JsonValue::Object)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for JsonObject<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JsonObject<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
                    entries.push((key, map.next_value()?));
                }
                Ok(JsonObject(entries))
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walker_finds_elements_and_entries() {
        let doc = br#" { "a\"]" : [1, "x\\", {"y": [2]}], "b": null } "#;
        let span = Walker::document(doc).expect("doc");
        let entries = Walker::object(doc, span).expect("object");
        assert_eq!(entries.len(), 2);
        let (k, v) = entries[0].clone();
        assert_eq!(&doc[k], br#""a\"]""#);
        let elements = Walker::array(doc, v).expect("array");
        let texts: Vec<&[u8]> = elements.into_iter().map(|r| &doc[r]).collect();
        assert_eq!(texts, [&b"1"[..], br#""x\\""#, br#"{"y": [2]}"#]);
    }

    #[test]
    fn walker_gives_up_on_garbage_without_panicking() {
        let whole = |d: &[u8]| 0..d.len();
        assert!(Walker::array(b"[1 2]", whole(b"[1 2]")).is_none());
        assert!(Walker::array(b"[,]", whole(b"[,]")).is_none());
        assert!(Walker::array(b"[", whole(b"[")).is_none());
        assert!(Walker::object(b"{\"a\" 1}", whole(b"{\"a\" 1}")).is_none());
        assert!(Walker::object(b"{\"a\":}", whole(b"{\"a\":}")).is_none());
        assert!(Walker::object(b"{,}", whole(b"{,}")).is_none());
        for doc in [&b"\"abc"[..], b"]]]", b"\"\\", b"[[[[", b""] {
            let _ = Walker::document(doc);
        }
    }

    #[test]
    fn line_counter() {
        let buf = b"a\nb\n\nc";
        let mut l = LineCounter::default();
        assert_eq!(l.line(buf, 0), 1);
        assert_eq!(l.line(buf, 2), 2);
        assert_eq!(l.line(buf, 5), 4);
        assert_eq!(l.line(buf, 1), 1);
    }

    #[test]
    fn row_objects_borrow_strings() {
        let obj: JsonObject<'_> = serde_json::from_slice(
            br#"{"a": "x", "b\n": "y\u00e9", "c": [1, 2.5, null], "d": {"e": 1}, "f": true}"#,
        )
        .expect("object");
        assert!(matches!(
            &obj.0[0],
            (Cow::Borrowed("a"), JsonValue::String(Cow::Borrowed("x")))
        ));
        assert!(
            matches!(&obj.0[1], (Cow::Owned(k), JsonValue::String(Cow::Owned(v))) if k == "b\n" && v == "yé")
        );
        assert!(matches!(&obj.0[2].1, JsonValue::Array(items) if items.len() == 3));
        assert!(matches!(obj.0[3].1, JsonValue::Object));
        assert!(matches!(obj.0[4].1, JsonValue::Bool(true)));
    }
}
