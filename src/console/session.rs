//! Console sign-in: the access key id and secret of a configured identity, checked in
//! constant time, exchanged for a signed cookie with an expiry.
//!
//! The cookie is `{hex(access key id)}.{expiry epoch seconds}.{hex(mac)}`, the MAC an
//! HMAC-SHA256 under a key drawn from the OS when the process starts (a restart signs
//! everyone out) over the access key id, the expiry and a hash of the identity's secret (a
//! changed secret ends its sessions). It is `HttpOnly`, `SameSite=Strict`, and scoped to
//! the console's path.

use crate::auth::{Identities, Identity};
use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};
use std::sync::OnceLock;
use subtle::ConstantTimeEq as _;

/// The cookie's name.
pub const COOKIE: &str = "codeartifact_console";
/// How long a sign-in lasts.
pub const LIFETIME_SECONDS: i64 = 8 * 3600;

/// This process's session key.
fn key() -> &'static [u8; 32] {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    KEY.get_or_init(|| {
        let mut key = [0u8; 32];
        // Without OS randomness no session can be trusted: an all-zero key would be
        // guessable, so sign-in then fails closed (see `sign`).
        if getrandom::fill(&mut key).is_err() {
            key = [0u8; 32];
        }
        key
    })
}

fn mac(identity: &Identity, expiry: i64) -> Option<[u8; 32]> {
    let key = key();
    if key.iter().all(|b| *b == 0) {
        return None;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    mac.update(b"codeartifact-console\0");
    mac.update(identity.access_key_id.as_bytes());
    mac.update(b"\0");
    mac.update(expiry.to_string().as_bytes());
    mac.update(b"\0");
    mac.update(&Sha256::digest(identity.secret_access_key.as_bytes()));
    Some(mac.finalize().into_bytes().into())
}

/// The identity whose access key id and secret these are; every secret comparison takes
/// the same time whether the key exists or not.
pub fn check<'a>(identities: &'a Identities, key_id: &str, secret: &str) -> Option<&'a Identity> {
    let found = identities.get(key_id);
    let expected = found.map_or("\u{0}no identity\u{0}", |i| i.secret_access_key.as_str());
    let same = Sha256::digest(expected.as_bytes()).ct_eq(&Sha256::digest(secret.as_bytes()));
    found.filter(|_| bool::from(same))
}

/// The cookie value for a signed-in identity, valid until `now + LIFETIME_SECONDS`.
pub fn sign(identity: &Identity, now: i64) -> Option<String> {
    let expiry = now + LIFETIME_SECONDS;
    let mac = mac(identity, expiry)?;
    Some(format!(
        "{}.{expiry}.{}",
        hex::encode(identity.access_key_id.as_bytes()),
        hex::encode(mac)
    ))
}

/// The identity a cookie value speaks for, if its MAC holds and it has not expired.
pub fn verify<'a>(identities: &'a Identities, value: &str, now: i64) -> Option<&'a Identity> {
    let mut parts = value.split('.');
    let (key_id, expiry, given) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let key_id = String::from_utf8(hex::decode(key_id).ok()?).ok()?;
    let expiry: i64 = expiry.parse().ok()?;
    let given = hex::decode(given).ok()?;
    if expiry <= now {
        return None;
    }
    let identity = identities.get(&key_id)?;
    let expected = mac(identity, expiry)?;
    bool::from(expected.as_slice().ct_eq(&given)).then_some(identity)
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'h>(header: &'h str, name: &str) -> Option<&'h str> {
    header.split(';').find_map(|pair| {
        let (n, v) = pair.trim().split_once('=')?;
        (n == name).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use crate::auth::{Identities, Identity};
    use crate::console::session::{check, cookie, sign, verify, COOKIE, LIFETIME_SECONDS};

    fn identities() -> Identities {
        let mut ids = Identities::default();
        ids.insert(Identity::iam_user("alice", "s3cret", "111111111111"));
        ids
    }

    #[test]
    fn only_the_right_secret_signs_in() {
        let ids = identities();
        assert!(check(&ids, "alice", "s3cret").is_some());
        assert!(check(&ids, "alice", "s3cre").is_none());
        assert!(check(&ids, "bob", "s3cret").is_none());
        assert!(check(&ids, "", "").is_none());
    }

    #[test]
    fn a_cookie_holds_until_it_expires_and_cannot_be_altered() {
        let ids = identities();
        let alice = ids.get("alice").unwrap();
        let value = sign(alice, 1_000).unwrap();
        assert_eq!(verify(&ids, &value, 1_001).unwrap().access_key_id, "alice");
        assert!(verify(&ids, &value, 1_000 + LIFETIME_SECONDS).is_none());
        // A longer expiry, another key id or a flipped MAC byte: refused.
        let parts: Vec<&str> = value.split('.').collect();
        let later = format!(
            "{}.{}.{}",
            parts[0],
            1_000 + 10 * LIFETIME_SECONDS,
            parts[2]
        );
        assert!(verify(&ids, &later, 1_001).is_none());
        let other = format!("{}.{}.{}", hex::encode("bob"), parts[1], parts[2]);
        assert!(verify(&ids, &other, 1_001).is_none());
        let mut flipped = parts[2].to_string();
        let last = if flipped.ends_with('0') { "1" } else { "0" };
        flipped.replace_range(flipped.len() - 1.., last);
        let flipped = format!("{}.{}.{flipped}", parts[0], parts[1]);
        assert!(verify(&ids, &flipped, 1_001).is_none());
        assert!(verify(&ids, "garbage", 1_001).is_none());
        // A changed secret ends the session.
        let mut rotated = Identities::default();
        rotated.insert(Identity::iam_user("alice", "new", "111111111111"));
        assert!(verify(&rotated, &value, 1_001).is_none());
    }

    #[test]
    fn cookies_are_found_by_name() {
        let header = format!("a=1; {COOKIE}=abc.1.ff; b=2");
        assert_eq!(cookie(&header, COOKIE), Some("abc.1.ff"));
        assert_eq!(cookie("x=1", COOKIE), None);
    }
}
