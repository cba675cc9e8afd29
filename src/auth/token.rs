//! Repository-endpoint authorization tokens: minting (for `GetAuthorizationToken`),
//! verification, and extraction from the `Authorization` header package managers send.
//!
//! A token is a self-contained, HMAC-protected claim set shaped like the service's compact
//! JWE (five base64url segments; the first a header with truthful `isu`/`exp`), so tools that
//! peek at it see familiar fields. The key lives in the data directory so tokens survive a
//! restart; there is no revocation, expiry is the only end of life.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::alphabet;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// File in the data directory that holds the raw 32-byte key.
const KEY_FILE: &str = "token.key";
const KEY_LEN: usize = 32;
/// Real tokens are about 1 500 characters; anything far longer is not one of ours and is
/// refused before any work is spent on it.
const MAX_TOKEN_LEN: usize = 8 * 1024;
const TOKEN_VERSION: u8 = 1;

/// Basic credentials from clients may or may not carry `=` padding.
const BASIC_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Makes every minted token distinct, even for identical claims in the same instant.
static MINT_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Why a token was refused; every case is a 401 for the package manager.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token of ours (wrong shape, bad encoding, unsupported `Authorization` scheme, or
    /// Basic credentials whose username is not `aws`).
    Malformed,
    /// Well-formed, but the HMAC does not match: tampered or minted with another key.
    BadSignature,
    /// Authentic but past its expiry.
    Expired,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenError::Malformed => "authorization token is malformed",
            TokenError::BadSignature => "authorization token signature is invalid",
            TokenError::Expired => "authorization token has expired",
        })
    }
}

impl std::error::Error for TokenError {}

/// What a token grants: access, on behalf of a principal, to one domain until `expires_at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenClaims {
    /// Account of the caller that requested the token.
    pub account_id: String,
    /// Principal that requested the token; requests made with it act as this principal.
    pub principal_arn: String,
    /// Owner account of the domain the token is scoped to.
    pub domain_owner: String,
    /// The one domain the token is valid for.
    pub domain: String,
    /// Mint time, epoch seconds.
    pub issued_at: i64,
    /// Expiry, epoch seconds; the token is refused from this instant on.
    pub expires_at: i64,
    /// Region the token was issued in: the path form of repository endpoints names no
    /// region, so requests are served in this one.
    #[serde(default)]
    pub region: String,
}

impl TokenClaims {
    /// Whether the token covers a repository in `domain` owned by `domain_owner`. Checked by
    /// the server against the URL, because a token is scoped to exactly one domain.
    pub fn authorizes(&self, domain_owner: &str, domain: &str) -> bool {
        self.domain_owner == domain_owner && self.domain == domain
    }
}

/// The JWE-like protected header (first segment). Field order mirrors the real tokens.
#[derive(Serialize, Deserialize)]
struct TokenHeader {
    ver: u8,
    isu: i64,
    enc: String,
    tag: String,
    exp: i64,
    alg: String,
    iv: String,
}

/// The secret that signs and verifies tokens.
#[derive(Clone)]
pub struct TokenKey {
    key: [u8; KEY_LEN],
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKey(<redacted>)")
    }
}

impl TokenKey {
    /// A fresh random key from the operating system.
    pub fn generate() -> io::Result<TokenKey> {
        let mut key = [0u8; KEY_LEN];
        getrandom::fill(&mut key)
            .map_err(|e| io::Error::other(format!("no OS randomness: {e}")))?;
        Ok(TokenKey { key })
    }

    /// A key from known bytes, for tests and deterministic setups.
    pub fn from_bytes(key: [u8; KEY_LEN]) -> TokenKey {
        TokenKey { key }
    }

    /// Loads `dir/token.key`, or creates it (owner-only, written to a temp file, fsynced and
    /// renamed into place) so tokens minted before a restart stay valid after it.
    pub fn load_or_create(dir: &Path) -> io::Result<TokenKey> {
        let path = dir.join(KEY_FILE);
        match fs::read(&path) {
            Ok(bytes) => {
                let key = <[u8; KEY_LEN]>::try_from(bytes.as_slice()).map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "{} must hold exactly {KEY_LEN} bytes; delete it to create a new key \
                             (tokens issued with the old one stop working)",
                            path.display()
                        ),
                    )
                })?;
                return Ok(TokenKey { key });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }

        fs::create_dir_all(dir)?;
        let key = TokenKey::generate()?;
        let tmp = dir.join(format!("{KEY_FILE}.tmp-{}", std::process::id()));
        // A leftover from a crashed attempt may have other permissions; start afresh.
        match fs::remove_file(&tmp) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp)?;
        file.write_all(&key.key)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, &path)?;
        // Make the rename itself durable.
        #[cfg(unix)]
        fs::File::open(dir)?.sync_all()?;
        Ok(key)
    }

    /// Mints a token for `claims`: `header.claims.nonce.padding.mac`, each base64url without
    /// padding, the MAC being HMAC-SHA256 over the first four segments as sent.
    pub fn mint(&self, claims: &TokenClaims) -> String {
        // Claims are plain data and always serialise; an empty object would fail verification
        // rather than grant anything.
        let claims_json = serde_json::to_vec(claims).unwrap_or_default();
        let fresh = self.fresh_bytes(&claims_json);
        let header = TokenHeader {
            ver: TOKEN_VERSION,
            isu: claims.issued_at,
            enc: "A128GCM".to_owned(),
            tag: URL_SAFE_NO_PAD.encode(&fresh[0..16]),
            exp: claims.expires_at,
            alg: "A128GCMKW".to_owned(),
            iv: URL_SAFE_NO_PAD.encode(&fresh[16..28]),
        };
        let header_json = serde_json::to_vec(&header).unwrap_or_default();
        let mut token = [
            URL_SAFE_NO_PAD.encode(header_json),
            URL_SAFE_NO_PAD.encode(&claims_json),
            URL_SAFE_NO_PAD.encode(&fresh[32..44]),
            URL_SAFE_NO_PAD.encode(&fresh[44..64]),
        ]
        .join(".");
        let mut mac = self.mac();
        mac.update(token.as_bytes());
        let tag = mac.finalize().into_bytes();
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(tag));
        token
    }

    /// Checks shape, then the MAC (in constant time), and only then trusts and returns the
    /// claims, refusing them from `expires_at` on.
    pub fn verify(&self, token: &str, now_epoch: i64) -> Result<TokenClaims, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        // The MAC covers the first four segments exactly as received.
        let Some((signed, tag)) = token.rsplit_once('.') else {
            return Err(TokenError::Malformed);
        };
        let segments: Vec<&str> = signed.split('.').collect();
        let [header, claims, _, _] = segments.as_slice() else {
            return Err(TokenError::Malformed);
        };
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| TokenError::Malformed)?;
        let mut mac = self.mac();
        mac.update(signed.as_bytes());
        mac.verify_slice(&tag)
            .map_err(|_| TokenError::BadSignature)?;

        let header: TokenHeader = decode_json(header)?;
        let claims: TokenClaims = decode_json(claims)?;
        if header.ver != TOKEN_VERSION
            || header.isu != claims.issued_at
            || header.exp != claims.expires_at
        {
            return Err(TokenError::Malformed);
        }
        if now_epoch >= claims.expires_at {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC is defined for keys of any length, so this never fails.
        match <HmacSha256 as Mac>::new_from_slice(&self.key) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC accepts keys of any length"),
        }
    }

    /// 64 unpredictable bytes for the header's `tag`/`iv` and segments 3–4, derived from the
    /// key so minting cannot fail; a counter and the clock make each token unique.
    fn fresh_bytes(&self, claims_json: &[u8]) -> [u8; 64] {
        let count = MINT_COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let mut out = [0u8; 64];
        for (block, chunk) in out.chunks_mut(32).enumerate() {
            let mut mac = self.mac();
            mac.update(b"codeartifact-local token nonce");
            mac.update(&[u8::try_from(block).unwrap_or(u8::MAX)]);
            mac.update(&count.to_be_bytes());
            mac.update(&nanos.to_be_bytes());
            mac.update(claims_json);
            chunk.copy_from_slice(&mac.finalize().into_bytes());
        }
        out
    }
}

fn decode_json<T: serde::de::DeserializeOwned>(segment: &str) -> Result<T, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)
}

/// Extracts the token from an `Authorization` header value in any encoding clients use:
/// `Bearer <t>` (npm, gem push, swift), `Basic base64(aws:<t>)` (pip, twine, Maven, NuGet,
/// bundler; any other username is refused) and a bare `<t>` (cargo sends the raw token).
pub fn token_from_authorization(value: &str) -> Result<String, TokenError> {
    let value = value.trim();
    let Some((scheme, rest)) = value.split_once([' ', '\t']) else {
        // A scheme with nothing after it is an empty credential, not a token.
        if value.eq_ignore_ascii_case("Bearer") || value.eq_ignore_ascii_case("Basic") {
            return Err(TokenError::Malformed);
        }
        return single_token(value).map(str::to_owned);
    };
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("Bearer") {
        single_token(rest).map(str::to_owned)
    } else if scheme.eq_ignore_ascii_case("Basic") {
        let decoded = BASIC_BASE64
            .decode(rest)
            .map_err(|_| TokenError::Malformed)?;
        let decoded = String::from_utf8(decoded).map_err(|_| TokenError::Malformed)?;
        match decoded.split_once(':') {
            Some(("aws", token)) => single_token(token).map(str::to_owned),
            _ => Err(TokenError::Malformed),
        }
    } else {
        Err(TokenError::Malformed)
    }
}

/// A token is one non-empty word.
fn single_token(token: &str) -> Result<&str, TokenError> {
    if token.is_empty() || token.contains(|c: char| c.is_whitespace()) {
        Err(TokenError::Malformed)
    } else {
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_735_732_800;

    fn claims() -> TokenClaims {
        TokenClaims {
            account_id: "111122223333".to_owned(),
            principal_arn: "arn:aws:iam::111122223333:user/alice".to_owned(),
            domain_owner: "111122223333".to_owned(),
            domain: "my-domain".to_owned(),
            issued_at: NOW,
            expires_at: NOW + 43_200,
            region: "us-west-2".to_owned(),
        }
    }

    fn key() -> TokenKey {
        TokenKey::from_bytes([7; KEY_LEN])
    }

    #[test]
    fn valid_token_round_trips_and_looks_like_a_jwe() {
        let token = key().mint(&claims());
        assert_eq!(key().verify(&token, NOW), Ok(claims()));
        assert_eq!(key().verify(&token, NOW + 43_199), Ok(claims()));

        let segments: Vec<&str> = token.split('.').collect();
        assert_eq!(segments.len(), 5);
        assert!(token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segments[0]).expect("b64"))
                .expect("json");
        assert_eq!(header["ver"], 1);
        assert_eq!(header["isu"], NOW);
        assert_eq!(header["exp"], NOW + 43_200);
        assert_eq!(header["enc"], "A128GCM");
        assert_eq!(header["alg"], "A128GCMKW");
        let header_text =
            String::from_utf8(URL_SAFE_NO_PAD.decode(segments[0]).expect("b64")).expect("utf8");
        assert!(
            header_text.starts_with(r#"{"ver":1,"isu":"#),
            "{header_text}"
        );
        // Each mint is distinct even for identical claims.
        assert_ne!(key().mint(&claims()), token);
    }

    #[test]
    fn any_tampered_segment_fails() {
        let token = key().mint(&claims());
        let segments: Vec<&str> = token.split('.').collect();
        for i in 0..segments.len() {
            let mut changed: Vec<String> = segments.iter().map(|s| (*s).to_owned()).collect();
            // Flip the first character to another base64url character.
            let first = changed[i].remove(0);
            changed[i].insert(0, if first == 'A' { 'B' } else { 'A' });
            let result = key().verify(&changed.join("."), NOW);
            assert!(
                matches!(
                    result,
                    Err(TokenError::BadSignature | TokenError::Malformed)
                ),
                "segment {i}: {result:?}"
            );
        }
        // Forged claims re-encoded with a stale MAC.
        let mut forged = claims();
        forged.domain = "other-domain".to_owned();
        let forged_claims = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).expect("json"));
        let mut parts = segments.clone();
        parts[1] = &forged_claims;
        assert_eq!(
            key().verify(&parts.join("."), NOW),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn malformed_tokens() {
        let token = key().mint(&claims());
        let too_long = "a".repeat(MAX_TOKEN_LEN + 1);
        let extra_segment = format!("{token}.x");
        let missing_segment = token.splitn(5, '.').take(4).collect::<Vec<_>>().join(".");
        for bad in [
            "",
            "abc",
            "a.b.c.d",
            "a.b.c.d.!!!",
            too_long.as_str(),
            extra_segment.as_str(),
            missing_segment.as_str(),
        ] {
            assert_eq!(
                key().verify(bad, NOW),
                Err(TokenError::Malformed),
                "{bad:.40}"
            );
        }
        // Well-formed but unsigned by us.
        assert_eq!(
            key().verify("a.b.c.d.AAAA", NOW),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn expired_token() {
        let token = key().mint(&claims());
        assert_eq!(key().verify(&token, NOW + 43_200), Err(TokenError::Expired));
        assert_eq!(key().verify(&token, i64::MAX), Err(TokenError::Expired));
    }

    #[test]
    fn wrong_key() {
        let token = key().mint(&claims());
        let other = TokenKey::from_bytes([8; KEY_LEN]);
        assert_eq!(other.verify(&token, NOW), Err(TokenError::BadSignature));
    }

    #[test]
    fn authorizes_only_its_domain() {
        let c = claims();
        assert!(c.authorizes("111122223333", "my-domain"));
        assert!(!c.authorizes("111122223333", "other-domain"));
        assert!(!c.authorizes("444455556666", "my-domain"));
    }

    #[test]
    fn authorization_header_encodings() {
        let basic = |creds: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(creds)
            )
        };
        assert_eq!(
            token_from_authorization("Bearer tok.en"),
            Ok("tok.en".to_owned())
        );
        assert_eq!(
            token_from_authorization("bearer   tok.en  "),
            Ok("tok.en".to_owned())
        );
        assert_eq!(
            token_from_authorization(&basic("aws:tok.en")),
            Ok("tok.en".to_owned())
        );
        // Unpadded Basic credentials are accepted too.
        let unpadded = basic("aws:tok.en1").trim_end_matches('=').to_owned();
        assert_eq!(
            token_from_authorization(&unpadded),
            Ok("tok.en1".to_owned())
        );
        assert_eq!(token_from_authorization("tok.en"), Ok("tok.en".to_owned()));

        for bad in [
            basic("admin:tok.en"),
            basic("AWS:tok.en"),
            basic("aws:"),
            basic("tok.en"),
            "Basic !!!".to_owned(),
            "Basic".to_owned(),
            "Bearer".to_owned(),
            "Bearer a b".to_owned(),
            "Digest abc".to_owned(),
            String::new(),
            "   ".to_owned(),
        ] {
            assert_eq!(
                token_from_authorization(&bad),
                Err(TokenError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn minted_token_through_every_encoding() {
        let token = key().mint(&claims());
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("aws:{token}"))
        );
        for header in [format!("Bearer {token}"), basic, token.clone()] {
            let extracted = token_from_authorization(&header).expect("extracts");
            assert_eq!(key().verify(&extracted, NOW), Ok(claims()));
        }
    }

    #[test]
    fn key_file_survives_restart() {
        let dir = std::env::temp_dir().join(format!("auth-token-key-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let first = TokenKey::load_or_create(&dir).expect("create");
        let token = first.mint(&claims());
        let second = TokenKey::load_or_create(&dir).expect("load");
        assert_eq!(second.verify(&token, NOW), Ok(claims()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.join(KEY_FILE))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers: Vec<_> = fs::read_dir(&dir)
            .expect("dir")
            .filter_map(Result::ok)
            .collect();
        assert_eq!(leftovers.len(), 1, "only token.key remains");

        fs::write(dir.join(KEY_FILE), b"short").expect("write");
        let err = TokenKey::load_or_create(&dir).expect_err("corrupt key");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn debug_hides_the_key() {
        assert_eq!(format!("{:?}", key()), "TokenKey(<redacted>)");
    }
}
