//! A stored contact as JSON: its seed's `Contact` with the fields written since laid over it,
//! serialised in one pass (no copy of the contact is built).
//!
//! The seed's contact is serialised by its generated `Serialize`; a serializer in between
//! replaces the properties that were written, adds written properties the seed left out, and
//! writes `company` and `companyName` from a written `companyId`, `updatedAt`, and the recent
//! activities. Every field is handled by its name in the generated field table.

use nateq_api::fields::Field;
use nateq_api::types::{Company, Contact};
use serde::ser::{self, Impossible, SerializeStruct};
use serde::{Serialize, Serializer};
use serde_json::Value;

/// What was written over a contact of the seed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Patch<'a> {
    /// Written request fields and their values (request-only fields are skipped: a `Contact`
    /// has no such property).
    pub fields: &'a [(&'static Field, Value)],
    /// The company named by a written `companyId`.
    pub company: Option<&'a Company>,
    /// When it was last changed.
    pub updated_at: Option<&'a str>,
}

/// `base` with `patch` laid over it and `activities` as its `activities`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Patched<'a, A> {
    pub base: &'a Contact,
    pub patch: Patch<'a>,
    pub activities: A,
}

impl<A: Serialize> Serialize for Patched<'_, A> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.base.serialize(Overlay {
            inner: serializer,
            patch: self.patch,
            activities: &self.activities,
        })
    }
}

/// The serializer the seed's contact is written through.
struct Overlay<'a, S, A> {
    inner: S,
    patch: Patch<'a>,
    activities: &'a A,
}

/// The struct being written: what has been written of the patch so far.
struct OverlayStruct<'a, S: Serializer, A> {
    inner: S::SerializeStruct,
    patch: Patch<'a>,
    activities: &'a A,
    /// Bit `i`: `patch.fields[i]` was written in place of the seed's value.
    written: u64,
    company_written: bool,
    company_name_written: bool,
    updated_at_written: bool,
}

const COMPANY: &str = "company";
const COMPANY_NAME: &str = "companyName";
const UPDATED_AT: &str = "updatedAt";
const ACTIVITIES: &str = "activities";

impl<'a, S: Serializer, A: Serialize> SerializeStruct for OverlayStruct<'a, S, A> {
    type Ok = S::Ok;
    type Error = S::Error;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), S::Error> {
        match key {
            ACTIVITIES => Ok(()),
            UPDATED_AT if self.patch.updated_at.is_some() => {
                self.updated_at_written = true;
                self.inner.serialize_field(key, &self.patch.updated_at)
            }
            COMPANY if self.patch.company.is_some() => {
                self.company_written = true;
                self.inner.serialize_field(key, &self.patch.company)
            }
            COMPANY_NAME if self.patch.company.is_some() => {
                self.company_name_written = true;
                let name = self.patch.company.and_then(|c| c.name.as_deref());
                self.inner.serialize_field(key, &name)
            }
            _ => match self.patch.fields.iter().position(|(f, _)| f.name == key) {
                Some(i) => {
                    self.written |= 1 << i.min(63);
                    match self.patch.fields.get(i) {
                        Some((_, value)) => self.inner.serialize_field(key, value),
                        None => Ok(()),
                    }
                }
                None => self.inner.serialize_field(key, value),
            },
        }
    }

    fn end(mut self) -> Result<S::Ok, S::Error> {
        // Written fields the seed's contact left out (absent, so not visited above).
        for (i, (field, value)) in self.patch.fields.iter().enumerate() {
            if !field.request_only && self.written & (1 << i.min(63)) == 0 {
                self.inner.serialize_field(field.name, value)?;
            }
        }
        if let Some(company) = self.patch.company {
            if !self.company_written {
                self.inner.serialize_field(COMPANY, company)?;
            }
            if !self.company_name_written {
                self.inner.serialize_field(COMPANY_NAME, &company.name)?;
            }
        }
        if let (Some(at), false) = (self.patch.updated_at, self.updated_at_written) {
            self.inner.serialize_field(UPDATED_AT, at)?;
        }
        self.inner.serialize_field(ACTIVITIES, self.activities)?;
        self.inner.end()
    }
}

fn not_a_struct<E: ser::Error>() -> E {
    E::custom("a stored contact is written from a struct")
}

impl<'a, S: Serializer, A: Serialize> Serializer for Overlay<'a, S, A> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Impossible<S::Ok, S::Error>;
    type SerializeTuple = Impossible<S::Ok, S::Error>;
    type SerializeTupleStruct = Impossible<S::Ok, S::Error>;
    type SerializeTupleVariant = Impossible<S::Ok, S::Error>;
    type SerializeMap = Impossible<S::Ok, S::Error>;
    type SerializeStruct = OverlayStruct<'a, S, A>;
    type SerializeStructVariant = Impossible<S::Ok, S::Error>;

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        Ok(OverlayStruct {
            inner: self
                .inner
                .serialize_struct(name, len + self.patch.fields.len() + 4)?,
            patch: self.patch,
            activities: self.activities,
            written: 0,
            company_written: false,
            company_name_written: false,
            updated_at_written: false,
        })
    }

    fn serialize_bool(self, _: bool) -> Result<S::Ok, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_i8(self, _: i8) -> Result<S::Ok, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_i16(self, _: i16) -> Result<S::Ok, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_i32(self, _: i32) -> Result<S::Ok, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_i64(self, _: i64) -> Result<S::Ok, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_u8(self, _: u8) -> Result<S::Ok, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_u16(self, _: u16) -> Result<S::Ok, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_u32(self, _: u32) -> Result<S::Ok, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_u64(self, _: u64) -> Result<S::Ok, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_f32(self, _: f32) -> Result<S::Ok, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_f64(self, _: f64) -> Result<S::Ok, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_char(self, _: char) -> Result<S::Ok, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_str(self, _: &str) -> Result<S::Ok, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<S::Ok, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_none(self) -> Result<S::Ok, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<S::Ok, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_unit(self) -> Result<S::Ok, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<S::Ok, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<S::Ok, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<S::Ok, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<S::Ok, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        Err(not_a_struct())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use nateq_api::fields::field;
    use serde_json::json;

    use super::*;

    /// The patched JSON is the seed's contact with the written fields set, whether the seed
    /// had a value (replaced in place) or not (added).
    #[test]
    fn written_fields_replace_or_join_the_seeds() {
        let seed = crate::seed::demo_contact(3).unwrap().contact;
        assert_eq!(seed.phone, None);
        assert_eq!(seed.company, None);
        let fields = [
            (field("name").unwrap(), json!("Grace")),
            (field("phone").unwrap(), json!("+1 555")),
            (field("doNotContact").unwrap(), json!(true)),
            (field("type").unwrap(), json!("guest")),
            (field("companyId").unwrap(), json!("co_x")),
        ];
        let company = Company {
            id: Some("co_x".into()),
            name: Some("X Ltd".into()),
            domain: None,
        };
        let patched = Patched {
            base: &seed,
            patch: Patch {
                fields: &fields,
                company: Some(&company),
                updated_at: Some("2026-02-01T00:00:00.000000Z"),
            },
            activities: [json!({"id": "act_1"})],
        };
        let mut expected = seed.clone();
        expected.name = Some("Grace".into());
        expected.phone = Some("+1 555".into());
        expected.do_not_contact = Some(true);
        expected.company_id = Some("co_x".into());
        expected.company_name = Some("X Ltd".into());
        expected.company = Some(company.clone());
        expected.updated_at = Some("2026-02-01T00:00:00.000000Z".into());
        expected.activities = Some(vec![nateq_api::types::Activity {
            id: Some("act_1".into()),
            ..Default::default()
        }]);
        let json = serde_json::to_value(&patched).unwrap();
        assert_eq!(json, serde_json::to_value(&expected).unwrap());
        assert!(json.get("type").is_none(), "a request-only field in {json}");
        // The same, written straight to bytes.
        let bytes = serde_json::to_vec(&patched).unwrap();
        assert_eq!(serde_json::from_slice::<Value>(&bytes).unwrap(), json);

        // Nothing written: the seed's contact as it is.
        let plain = Patched {
            base: &seed,
            patch: Patch {
                fields: &[],
                company: None,
                updated_at: None,
            },
            activities: seed.activities.clone().unwrap(),
        };
        assert_eq!(
            serde_json::to_value(plain).unwrap(),
            serde_json::to_value(&seed).unwrap()
        );
    }
}
