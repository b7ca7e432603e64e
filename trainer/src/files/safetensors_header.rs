//! The JSON header of a safetensors file, read for one thing the
//! `safetensors` crate does not check: a name given twice.
//!
//! A safetensors file is an 8-byte little-endian length N, N bytes of JSON
//! (an object of tensors by name, and an optional `__metadata__` object of
//! strings), then the tensor data. JSON allows a key to repeat, and readers
//! keep one of the values (the `safetensors` crate: the last), so a file
//! with a tensor or a metadata entry named twice means different things to
//! different readers. charm refuses it.

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use std::collections::HashSet;
use std::fmt;

/// The first key that an object of the header of `file` (a safetensors
/// file, already checked by the `safetensors` crate) gives twice, if any.
pub fn duplicate_key(file: &[u8]) -> Option<String> {
    let len = u64::from_le_bytes(file.get(..8)?.try_into().ok()?);
    let header = file.get(8..8usize.checked_add(usize::try_from(len).ok()?)?)?;
    let mut found = None;
    let mut de = serde_json::Deserializer::from_slice(header);
    // An error here is the duplicate (found is set) or malformed JSON, which
    // the safetensors crate has refused before this is called.
    let _ = UniqueKeys(&mut found).deserialize(&mut de);
    found
}

/// Walks a JSON value; stops with an error at the first key an object
/// repeats, which it leaves in `.0`.
struct UniqueKeys<'a>(&'a mut Option<String>);

impl<'de> DeserializeSeed<'de> for UniqueKeys<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueKeys<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(UniqueKeys(&mut *self.0))?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                *self.0 = Some(key);
                return Err(A::Error::custom("duplicate key"));
            }
            map.next_value_seed(UniqueKeys(&mut *self.0))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(header: &str) -> Vec<u8> {
        let mut f = (header.len() as u64).to_le_bytes().to_vec();
        f.extend_from_slice(header.as_bytes());
        f
    }

    #[test]
    fn a_name_given_twice_is_found_at_any_depth() {
        let t = r#"{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#;
        assert_eq!(
            duplicate_key(&file(&format!(r#"{{"a":{t},"b":{t}}}"#))),
            None
        );
        assert_eq!(
            duplicate_key(&file(&format!(r#"{{"a":{t},"a":{t}}}"#))),
            Some("a".into())
        );
        assert_eq!(
            duplicate_key(&file(
                r#"{"__metadata__":{"charm.val_loss":"1.5","charm.val_loss":"1.4"}}"#
            )),
            Some("charm.val_loss".into())
        );
        // Escapes spell the same key.
        assert_eq!(
            duplicate_key(&file(r#"{"__metadata__":{"k":"1","\u006b":"2"}}"#)),
            Some("k".into())
        );
    }

    #[test]
    fn short_or_bad_input_finds_nothing_and_does_not_panic() {
        assert_eq!(duplicate_key(b""), None);
        assert_eq!(duplicate_key(&u64::MAX.to_le_bytes()), None);
        assert_eq!(duplicate_key(&file("{not json")), None);
    }
}
