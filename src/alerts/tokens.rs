//! The links mails carry: confirmation and unsubscribe tokens, signed with
//! HMAC-SHA256 under a key kept in the database (so every server process on
//! one database signs and checks alike, and a restart keeps links valid).
//!
//! A token names its purpose inside the signed text: a confirmation token
//! cannot unsubscribe, nor the reverse.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::db::DbConn;
use crate::error::AppError;

const KEY_NAME: &str = "mail_link_signing";

/// Signs and checks mail links.
#[derive(Clone)]
pub struct LinkSigner {
    key: Vec<u8>,
}

impl std::fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkSigner(..)")
    }
}

impl LinkSigner {
    /// The database's signing key, made on first use. Two processes racing
    /// to make it both end up with the one that was stored first.
    pub fn load(conn: &mut DbConn) -> Result<Self, AppError> {
        Ok(LinkSigner {
            key: crate::db::secret(conn, KEY_NAME)?,
        })
    }

    fn mac(&self, text: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(text.as_bytes());
        mac
    }

    fn sign(&self, text: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(text).finalize().into_bytes())
    }

    fn verify(&self, text: &str, signature: &str) -> bool {
        match URL_SAFE_NO_PAD.decode(signature) {
            Ok(bytes) => self.mac(text).verify_slice(&bytes).is_ok(),
            Err(_) => false,
        }
    }

    /// `WATCH.EXPIRES.SIG`: valid until `expires` (Unix seconds) and only
    /// while the watch keeps `nonce` (a resend replaces it).
    pub fn confirm_token(&self, watch_id: &str, expires: i64, nonce: &str) -> String {
        let sig = self.sign(&format!("confirm\n{watch_id}\n{expires}\n{nonce}"));
        format!("{watch_id}.{expires}.{sig}")
    }

    /// Splits a confirmation token into the watch and expiry it claims; the
    /// claim is checked with `check_confirm` once the watch's nonce is read.
    /// Only the spelling Vigía writes is read: a lowercase hyphenated id and
    /// the expiry in plain decimal (no sign, no leading zero), so that one
    /// link has one spelling (`+EXP` or `0EXP` would otherwise sign alike).
    pub fn parse_confirm(token: &str) -> Option<(String, i64, String)> {
        let mut parts = token.split('.');
        let (id, expires, sig) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || !canonical_id(id) {
            return None;
        }
        let canonical_number = !expires.is_empty()
            && expires.bytes().all(|b| b.is_ascii_digit())
            && (expires == "0" || !expires.starts_with('0'));
        if !canonical_number {
            return None;
        }
        Some((id.to_string(), expires.parse().ok()?, sig.to_string()))
    }

    pub fn check_confirm(&self, watch_id: &str, expires: i64, nonce: &str, sig: &str) -> bool {
        self.verify(&format!("confirm\n{watch_id}\n{expires}\n{nonce}"), sig)
    }

    /// `WATCH.SIG`: stops one watch, for good, with no login.
    pub fn unsubscribe_token(&self, watch_id: &str) -> String {
        let sig = self.sign(&format!("unsubscribe\n{watch_id}"));
        format!("{watch_id}.{sig}")
    }

    /// The watch an unsubscribe token stops, if its signature holds.
    pub fn check_unsubscribe(&self, token: &str) -> Option<String> {
        let (id, sig) = token.split_once('.')?;
        if !canonical_id(id) {
            return None;
        }
        self.verify(&format!("unsubscribe\n{id}"), sig)
            .then(|| id.to_string())
    }

    /// The signature in a watch's Atom feed link (the id is in the path):
    /// valid while the watch keeps `nonce`; a new link replaces the nonce.
    pub fn feed_token(&self, watch_id: &str, nonce: &str) -> String {
        self.sign(&format!("feed\n{watch_id}\n{nonce}"))
    }

    pub fn check_feed(&self, watch_id: &str, nonce: &str, token: &str) -> bool {
        canonical_id(watch_id) && self.verify(&format!("feed\n{watch_id}\n{nonce}"), token)
    }
}

/// A watch id as Vigía writes it: a UUID, lowercase and hyphenated.
fn canonical_id(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok_and(|u| u.hyphenated().to_string() == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> LinkSigner {
        LinkSigner {
            key: b"0123456789abcdef0123456789abcdef".to_vec(),
        }
    }

    #[test]
    fn unsubscribe_tokens_resist_tampering() {
        let s = signer();
        let id = "6f1c3a52-8d2e-4f0b-9a57-1c2d3e4f5a6b";
        let token = s.unsubscribe_token(id);
        assert_eq!(s.check_unsubscribe(&token).as_deref(), Some(id));
        let other = "7f1c3a52-8d2e-4f0b-9a57-1c2d3e4f5a6b";
        let swapped = token.replacen(id, other, 1);
        assert_eq!(s.check_unsubscribe(&swapped), None);
        let mut flipped = token.clone();
        flipped.pop();
        flipped.push(if token.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(s.check_unsubscribe(&flipped), None);
        assert_eq!(s.check_unsubscribe("nonsense"), None);
    }

    #[test]
    fn confirm_tokens_are_single_purpose() {
        let s = signer();
        let id = "6f1c3a52-8d2e-4f0b-9a57-1c2d3e4f5a6b";
        let token = s.confirm_token(id, 1_900_000_000, "n1");
        let (watch, expires, sig) = LinkSigner::parse_confirm(&token).expect("parses");
        assert!(s.check_confirm(&watch, expires, "n1", &sig));
        assert!(!s.check_confirm(&watch, expires, "n2", &sig), "old nonce");
        assert!(!s.check_confirm(&watch, expires + 1, "n1", &sig));
        // One spelling: a sign, a leading zero or another form of the id
        // is not the token that was sent.
        let sig_part = token.rsplit('.').next().unwrap_or_default();
        for variant in [
            format!("{id}.+1900000000.{sig_part}"),
            format!("{id}.01900000000.{sig_part}"),
            format!("{id}. 1900000000.{sig_part}"),
            format!("{}.1900000000.{sig_part}", id.to_uppercase()),
            format!("{}.1900000000.{sig_part}", id.replace('-', "")),
        ] {
            assert_eq!(LinkSigner::parse_confirm(&variant), None, "{variant}");
        }
        let unsubscribe = s.unsubscribe_token(id);
        let upper = unsubscribe.replacen(id, &id.to_uppercase(), 1);
        assert_eq!(s.check_unsubscribe(&upper), None);
        // A feed link reads one watch's feed while its nonce holds.
        let feed = s.feed_token(id, "n1");
        assert!(s.check_feed(id, "n1", &feed));
        assert!(!s.check_feed(id, "n2", &feed), "replaced link");
        assert!(!s.check_feed(&id.to_uppercase(), "n1", &feed));
        assert!(!s.check_feed(id, "n1", &s.unsubscribe_token(id)));
        // A confirmation signature does not unsubscribe.
        assert_eq!(s.check_unsubscribe(&format!("{id}.{sig}")), None);
    }
}
