//! Signed tokens for the links in emails (one-click unsubscribe, open pixel, click redirect):
//! a payload and an HMAC-SHA256 of it under the database's secret, both base64url. A token
//! cannot be forged or changed without the secret; the purpose is part of what is signed, so an
//! unsubscribe token is not a click token.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Signs and checks tokens with one secret.
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

/// How many bytes of the MAC a token keeps (128 bits).
const MAC_LEN: usize = 16;

impl Signer {
    pub fn new(secret: &[u8]) -> Signer {
        Signer {
            key: secret.to_vec(),
        }
    }

    fn mac(&self, purpose: &str, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(purpose.as_bytes());
        mac.update(b":");
        mac.update(payload);
        mac
    }

    /// The first `bytes` bytes of the MAC of `payload` for `purpose`, in hexadecimal (an
    /// unguessable part of a Message-ID, say).
    pub fn tag_hex(&self, purpose: &str, payload: &str, bytes: usize) -> String {
        let tag = self
            .mac(purpose, payload.as_bytes())
            .finalize()
            .into_bytes();
        crate::mail::hex(&tag[..bytes.min(tag.len())])
    }

    /// A token carrying `payload` for `purpose`.
    pub fn sign(&self, purpose: &str, payload: &str) -> String {
        let tag = self
            .mac(purpose, payload.as_bytes())
            .finalize()
            .into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(&tag[..MAC_LEN])
        )
    }

    /// The payload of a token signed for `purpose`, or `None` for anything else (tampered,
    /// truncated, another purpose, not a token at all).
    pub fn verify(&self, purpose: &str, token: &str) -> Option<String> {
        let (p, t) = token.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(p).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(t).ok()?;
        if tag.len() != MAC_LEN {
            return None;
        }
        self.mac(purpose, &payload)
            .verify_truncated_left(&tag)
            .ok()?;
        String::from_utf8(payload).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_only_unchanged_and_for_its_purpose() {
        let s = Signer::new(b"secret");
        let t = s.sign("unsubscribe", "12.3.0");
        assert_eq!(s.verify("unsubscribe", &t).as_deref(), Some("12.3.0"));
        assert_eq!(s.verify("click", &t), None);
        assert_eq!(Signer::new(b"other").verify("unsubscribe", &t), None);
        let (p, m) = t.split_once('.').unwrap();
        let forged = format!("{}.{m}", URL_SAFE_NO_PAD.encode("13.3.0"));
        assert_eq!(s.verify("unsubscribe", &forged), None);
        assert_eq!(s.verify("unsubscribe", p), None);
        assert_eq!(s.verify("unsubscribe", ""), None);
        assert_eq!(s.verify("unsubscribe", "...."), None);
    }
}
