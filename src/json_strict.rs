//! Reading JSON objects whose keys must be unique.
//!
//! serde_json keeps the last of two equal keys without a word (and a
//! derived struct rejects a repeated field only for the fields it knows).
//! In a waivers file, a baseline or an export manifest a repeated key is a
//! mistake that changes the meaning (an `expires` date overridden), so
//! these readers reject it, with serde_json's line and column.
//!
//! [`Entries`] reads one object level, keeping each value raw so that its
//! position can be reported later; [`check_unique_keys`] checks every
//! object of a whole document.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// The message of a repeated key.
fn duplicate<E: de::Error>(key: &str) -> E {
    E::custom(format!(
        "duplicate key `{}` (each key may appear once per object)",
        key.escape_debug()
    ))
}

/// One JSON object's entries in document order, values raw; a key that
/// appears twice is an error at the second one.
#[derive(Debug)]
pub struct Entries<'a>(pub Vec<(String, &'a RawValue)>);

impl<'a> Entries<'a> {
    /// The raw value of `key`.
    pub fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Entries<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Entries<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut seen = HashSet::new();
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if !seen.insert(key.clone()) {
                        return Err(duplicate(&key));
                    }
                    out.push((key, map.next_value::<&'a RawValue>()?));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// Any JSON value, kept nowhere, whose objects (at any depth) have unique
/// keys. Nesting counts against serde_json's recursion limit.
struct UniqueKeys;

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = UniqueKeys;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<UniqueKeys, E> {
                Ok(UniqueKeys)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<UniqueKeys, E> {
                Ok(UniqueKeys)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<UniqueKeys, E> {
                Ok(UniqueKeys)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<UniqueKeys, E> {
                Ok(UniqueKeys)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<UniqueKeys, E> {
                Ok(UniqueKeys)
            }
            fn visit_unit<E: de::Error>(self) -> Result<UniqueKeys, E> {
                Ok(UniqueKeys)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<UniqueKeys, A::Error> {
                while seq.next_element::<UniqueKeys>()?.is_some() {}
                Ok(UniqueKeys)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UniqueKeys, A::Error> {
                let mut seen = HashSet::new();
                while let Some(key) = map.next_key::<String>()? {
                    if !seen.insert(key.clone()) {
                        return Err(duplicate(&key));
                    }
                    map.next_value::<UniqueKeys>()?;
                }
                Ok(UniqueKeys)
            }
        }
        d.deserialize_any(V)
    }
}

/// Checks a whole JSON document: valid, not nested beyond serde_json's
/// recursion limit, and no object with a key twice.
pub fn check_unique_keys(text: &str) -> Result<(), serde_json::Error> {
    serde_json::from_str::<UniqueKeys>(text).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_keep_order_and_reject_a_repeated_key() {
        let e: Entries<'_> = serde_json::from_str(r#"{"b": 1, "a": [2]}"#).expect("entries");
        let keys: Vec<&str> = e.0.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["b", "a"]);
        assert_eq!(e.get("a").map(RawValue::get), Some("[2]"));
        let err = serde_json::from_str::<Entries<'_>>("{\"a\": 1,\n \"a\": 2}").expect_err("dup");
        assert!(err.to_string().starts_with("duplicate key `a`"), "{err}");
        assert_eq!((err.line(), err.column()), (2, 4));
    }

    #[test]
    fn unique_keys_at_any_depth() {
        assert!(check_unique_keys(r#"{"a": {"b": 1, "c": [{"d": 1}, {"d": 2}]}}"#).is_ok());
        let err = check_unique_keys(r#"{"a": [{"d": 1, "d": 2}]}"#).expect_err("dup");
        assert!(err.to_string().starts_with("duplicate key `d`"), "{err}");
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let err = check_unique_keys(&deep).expect_err("too deep");
        assert!(err.to_string().contains("recursion limit"), "{err}");
    }
}
