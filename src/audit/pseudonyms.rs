//! Who logged what, as researchers may see it.
//!
//! Field monitors' identities are sensitive: a key name such as
//! `maria-apurimac` on an incident can put a person at risk. Admins and
//! monitors see names; researchers see a stable pseudonym in their place
//! (`persona-3fa9c2d1`: the same person is the same pseudonym everywhere,
//! so a researcher can still tell "one monitor logged these five"), and
//! never a key id. The pseudonym is an HMAC of the name under a secret kept
//! in the database, so it cannot be turned back into the name by trying
//! likely names.

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::db::DbConn;
use crate::error::AppError;

const SECRET_NAME: &str = "pseudonyms";

/// Fields of any answer that name the key that did something.
const NAME_FIELDS: [&str; 2] = ["created_by", "key_name"];
/// Fields that identify a key outright: left out.
const KEY_ID_FIELDS: [&str; 1] = ["key_id"];

/// Turns names into pseudonyms; the same in every process on one database.
#[derive(Clone)]
pub struct Pseudonyms {
    key: Vec<u8>,
}

impl std::fmt::Debug for Pseudonyms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonyms(..)")
    }
}

impl Pseudonyms {
    pub fn load(conn: &mut DbConn) -> Result<Self, AppError> {
        Ok(Pseudonyms {
            key: crate::db::secret(conn, SECRET_NAME)?,
        })
    }

    /// The pseudonym of `name`.
    pub fn of(&self, name: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(name.as_bytes());
        let digest = mac.finalize().into_bytes();
        format!("persona-{}", hex::encode(&digest[..4]))
    }

    /// Rewrites an answer for a researcher whose own name is `own`: every
    /// name of a key becomes its pseudonym (except the reader's own), every
    /// key id goes, at any depth (incidents, their history's before and
    /// after, cases, entries, pages of them); every `sources` list loses
    /// its confidential sources.
    pub fn disclose(&self, value: &mut Value, own: &str) {
        match value {
            Value::Object(map) => {
                for field in KEY_ID_FIELDS {
                    map.remove(field);
                }
                for (field, inner) in map.iter_mut() {
                    // Confidential sources (a community member who spoke to
                    // a monitor) are for monitors and admins only.
                    if field == "sources" {
                        if let Value::Array(sources) = inner {
                            sources.retain(|s| s.get("confidential") != Some(&Value::Bool(true)));
                        }
                    }
                    match inner {
                        Value::String(name) if NAME_FIELDS.contains(&field.as_str()) => {
                            if name != own {
                                *name = self.of(name);
                            }
                        }
                        other => self.disclose(other, own),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.disclose(v, own)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_become_stable_pseudonyms_and_key_ids_go() {
        let p = Pseudonyms { key: b"k".to_vec() };
        let mut v = json!({"items": [
            {"created_by": "maria-apurimac", "key_id": "k1", "key_name": "maria-apurimac",
             "after": {"created_by": "jose", "title": "created_by"}},
            {"created_by": "yo"}
        ]});
        p.disclose(&mut v, "yo");
        let first = &v["items"][0];
        assert_eq!(first["created_by"], first["key_name"]);
        assert!(first["created_by"]
            .as_str()
            .unwrap()
            .starts_with("persona-"));
        assert_ne!(first["created_by"], "maria-apurimac");
        assert!(first.get("key_id").is_none());
        assert_eq!(first["after"]["created_by"], p.of("jose"));
        assert_eq!(first["after"]["title"], "created_by");
        assert_eq!(v["items"][1]["created_by"], "yo", "one's own name stays");
        let other = Pseudonyms {
            key: b"other".to_vec(),
        };
        assert_ne!(p.of("jose"), other.of("jose"), "the secret matters");
    }
}
