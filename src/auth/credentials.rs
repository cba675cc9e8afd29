//! Configured caller identities: which access keys exist, their secrets, and the account and
//! principal each one speaks for.
//!
//! Identities come from the built-in default (`test`/`test`), an env/flag spec string, or a
//! JSON file. Secrets never appear in `Debug` output or error messages.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::access::{Kind, Policy};

/// One configured caller: the secret used to verify its signatures and the principal it is.
#[derive(Clone, PartialEq, Eq)]
pub struct Identity {
    /// The access key id clients put in the SigV4 credential scope.
    pub access_key_id: String,
    /// The secret the signing key is derived from; never logged.
    pub secret_access_key: String,
    /// Twelve-digit account the caller belongs to (default `domainOwner`, ARN account).
    pub account_id: String,
    /// IAM principal ARN, used for policy evaluation and `GetAuthorizationToken` checks.
    pub principal_arn: String,
    /// Session token for temporary credentials; requests must then carry it in
    /// `X-Amz-Security-Token`, and requests for keys without one must not.
    pub session_token: Option<String>,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Secrets stay out of logs, panics and test failure output.
        f.debug_struct("Identity")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("account_id", &self.account_id)
            .field("principal_arn", &self.principal_arn)
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl Identity {
    /// Builds an IAM-user identity named after its access key, the default when a spec
    /// gives no principal ARN.
    pub fn iam_user(access_key_id: &str, secret_access_key: &str, account_id: &str) -> Identity {
        Identity {
            access_key_id: access_key_id.to_owned(),
            secret_access_key: secret_access_key.to_owned(),
            account_id: account_id.to_owned(),
            principal_arn: format!("arn:aws:iam::{account_id}:user/{access_key_id}"),
            session_token: None,
        }
    }
}

/// Why a set of identities could not be loaded. Messages name the entry and access key but
/// never the secret.
#[derive(Debug)]
pub enum CredentialsError {
    /// One entry of a spec string or JSON file is invalid.
    Invalid {
        /// 1-based position of the entry, so users can find it.
        entry: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The same access key id is configured twice in one source.
    DuplicateAccessKey(String),
    /// The source defines no identity at all.
    Empty,
    /// The identities file could not be read.
    Io {
        /// The file that was being read.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The identities file is not the expected JSON document.
    Json {
        /// The file that was being parsed.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
}

impl fmt::Display for CredentialsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialsError::Invalid { entry, reason } => {
                write!(f, "identity #{entry}: {reason}")
            }
            CredentialsError::DuplicateAccessKey(key) => {
                write!(f, "access key id '{key}' is configured more than once")
            }
            CredentialsError::Empty => f.write_str("no identities configured"),
            CredentialsError::Io { path, source } => {
                write!(f, "cannot read identities file {}: {source}", path.display())
            }
            CredentialsError::Json { path, source } => write!(
                f,
                "identities file {} is not valid ({source}); expected \
                 {{\"identities\":[{{\"accessKeyId\":…,\"secretAccessKey\":…,\"accountId\":…,\"principalArn\":…}}]}}",
                path.display()
            ),
        }
    }
}

impl std::error::Error for CredentialsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CredentialsError::Io { source, .. } => Some(source),
            CredentialsError::Json { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// What IAM knows of a principal besides its keys: its identity-based policies and its
/// organization.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grants {
    /// `None`: no policies configured, so the principal is trusted as today (its own
    /// account's resources are allowed, others' need a resource policy). `Some`: exactly
    /// these policies, as IAM evaluates them (an empty list allows nothing).
    pub policies: Option<Vec<Policy>>,
    /// `aws:PrincipalOrgID`.
    pub organization_id: Option<String>,
}

/// All configured identities, looked up by access key id on every signed request, and the
/// grants of each principal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identities {
    by_access_key: HashMap<String, Identity>,
    by_principal: HashMap<String, Grants>,
}

/// The JSON file layout: `{"managedPolicies":{name: document}, "identities":[{...}]}`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct IdentitiesFile {
    #[serde(default)]
    managed_policies: HashMap<String, serde_json::Value>,
    identities: Vec<IdentityEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct IdentityEntry {
    access_key_id: String,
    secret_access_key: String,
    account_id: String,
    principal_arn: Option<String>,
    session_token: Option<String>,
    #[serde(default)]
    organization_id: Option<String>,
    /// Policies written into the identity, by name.
    #[serde(default)]
    inline_policies: Option<std::collections::BTreeMap<String, serde_json::Value>>,
    /// Names of managed policies: the file's `managedPolicies`, or AWS's
    /// `AWSCodeArtifactAdminAccess` and `AWSCodeArtifactReadOnlyAccess`.
    #[serde(default)]
    attached_policies: Option<Vec<String>>,
}

/// AWS's managed policies for CodeArtifact, as documented.
const AWS_MANAGED: [(&str, &str); 2] = [
    (
        "AWSCodeArtifactAdminAccess",
        r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"codeartifact:*","Resource":"*"},
            {"Effect":"Allow","Action":"sts:GetServiceBearerToken","Resource":"*",
             "Condition":{"StringEquals":{"sts:AWSServiceName":"codeartifact.amazonaws.com"}}}]}"#,
    ),
    (
        "AWSCodeArtifactReadOnlyAccess",
        r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":["codeartifact:Describe*","codeartifact:Get*",
              "codeartifact:List*","codeartifact:ReadFromRepository"],"Resource":"*"},
            {"Effect":"Allow","Action":"sts:GetServiceBearerToken","Resource":"*",
             "Condition":{"StringEquals":{"sts:AWSServiceName":"codeartifact.amazonaws.com"}}}]}"#,
    ),
];

/// A policy document given as a JSON object or as a string holding one.
fn identity_policy(name: &str, doc: &serde_json::Value) -> Result<Policy, String> {
    let text = match doc {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Policy::parse(&text, Kind::Identity).map_err(|e| format!("policy '{name}': {e}"))
}

impl Identities {
    /// The identity used when nothing is configured: an IAM user (not root, because the
    /// service refuses `GetAuthorizationToken` to root) with key `test` and secret `test`.
    pub fn default_test() -> Identities {
        let mut identities = Identities::default();
        identities.insert(Identity::iam_user("test", "test", "000000000000"));
        identities
    }

    /// Parses `AKID:SECRET:ACCOUNT[:PRINCIPAL_ARN][,AKID2:...]` (the env/flag form).
    ///
    /// The principal ARN may itself contain `:`, so everything after the third `:` is the ARN;
    /// without one the principal is `arn:aws:iam::ACCOUNT:user/AKID`.
    pub fn parse_spec(spec: &str) -> Result<Identities, CredentialsError> {
        let mut entries = Vec::new();
        for (index, raw) in spec.split(',').enumerate() {
            let entry = index + 1;
            let raw = raw.trim();
            let invalid = |reason: String| CredentialsError::Invalid { entry, reason };
            if raw.is_empty() {
                return Err(invalid("empty entry (stray ',')".to_owned()));
            }
            let mut fields = raw.splitn(4, ':');
            let (Some(key), Some(secret), Some(account)) =
                (fields.next(), fields.next(), fields.next())
            else {
                return Err(invalid(
                    "expected ACCESS_KEY_ID:SECRET_ACCESS_KEY:ACCOUNT_ID[:PRINCIPAL_ARN]"
                        .to_owned(),
                ));
            };
            entries.push(IdentityEntry {
                access_key_id: key.to_owned(),
                secret_access_key: secret.to_owned(),
                account_id: account.to_owned(),
                principal_arn: fields.next().map(str::to_owned),
                session_token: None,
                organization_id: None,
                inline_policies: None,
                attached_policies: None,
            });
        }
        Identities::from_entries(entries, &HashMap::new())
    }

    /// Reads `{"identities":[{"accessKeyId":..,"secretAccessKey":..,"accountId":..,
    /// "principalArn":..}]}`; `principalArn` and `sessionToken` are optional.
    pub fn from_json_file(path: &Path) -> Result<Identities, CredentialsError> {
        let text = std::fs::read_to_string(path).map_err(|source| CredentialsError::Io {
            path: path.to_owned(),
            source,
        })?;
        let file: IdentitiesFile =
            serde_json::from_str(&text).map_err(|source| CredentialsError::Json {
                path: path.to_owned(),
                source,
            })?;
        Identities::from_entries(file.identities, &file.managed_policies)
    }

    fn from_entries(
        entries: Vec<IdentityEntry>,
        managed: &HashMap<String, serde_json::Value>,
    ) -> Result<Identities, CredentialsError> {
        if entries.is_empty() {
            return Err(CredentialsError::Empty);
        }
        let mut identities = Identities::default();
        for (index, mut entry) in entries.into_iter().enumerate() {
            let invalid = |reason| CredentialsError::Invalid {
                entry: index + 1,
                reason,
            };
            let grants = grants(&mut entry, managed).map_err(invalid)?;
            let identity = validate(entry).map_err(invalid)?;
            if identities.get(&identity.access_key_id).is_some() {
                return Err(CredentialsError::DuplicateAccessKey(identity.access_key_id));
            }
            if grants != Grants::default() {
                let known = identities
                    .by_principal
                    .entry(identity.principal_arn.clone())
                    .or_default();
                if let Some(policies) = grants.policies {
                    known.policies.get_or_insert_with(Vec::new).extend(policies);
                }
                if grants.organization_id.is_some() {
                    known.organization_id = grants.organization_id;
                }
            }
            identities.insert(identity);
        }
        Ok(identities)
    }

    /// The grants of a principal; the default (trusted, no organization) when none are
    /// configured.
    pub fn grants(&self, principal_arn: &str) -> Option<&Grants> {
        self.by_principal.get(principal_arn)
    }

    /// Adds or replaces the identity for its access key.
    pub fn insert(&mut self, identity: Identity) {
        self.by_access_key
            .insert(identity.access_key_id.clone(), identity);
    }

    /// Adds every identity of `other`; on a shared access key `other` wins, so later sources
    /// (flag over file over default) override earlier ones.
    pub fn merge(&mut self, other: Identities) {
        self.by_access_key.extend(other.by_access_key);
        self.by_principal.extend(other.by_principal);
    }

    /// The identity for an access key id, if configured.
    pub fn get(&self, access_key_id: &str) -> Option<&Identity> {
        self.by_access_key.get(access_key_id)
    }

    /// Number of configured identities.
    pub fn len(&self) -> usize {
        self.by_access_key.len()
    }

    /// Whether no identity is configured (every signed request would then be refused).
    pub fn is_empty(&self) -> bool {
        self.by_access_key.is_empty()
    }

    /// All identities, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Identity> {
        self.by_access_key.values()
    }
}

/// Takes an entry's policies and organization out of it, parsed and checked.
fn grants(
    entry: &mut IdentityEntry,
    managed: &HashMap<String, serde_json::Value>,
) -> Result<Grants, String> {
    let mut policies = None;
    if let Some(inline) = entry.inline_policies.take() {
        let list: &mut Vec<Policy> = policies.get_or_insert_with(Vec::new);
        for (name, doc) in &inline {
            list.push(identity_policy(name, doc)?);
        }
    }
    if let Some(names) = entry.attached_policies.take() {
        let list: &mut Vec<Policy> = policies.get_or_insert_with(Vec::new);
        for name in &names {
            let policy = match (
                managed.get(name),
                AWS_MANAGED.iter().find(|(n, _)| n == name),
            ) {
                (Some(doc), _) => identity_policy(name, doc)?,
                (None, Some((_, doc))) => Policy::parse(doc, Kind::Identity)
                    .map_err(|e| format!("policy '{name}': {e}"))?,
                (None, None) => {
                    return Err(format!(
                        "attached policy '{name}' is neither in managedPolicies nor an AWS \
                         managed policy this emulator knows"
                    ))
                }
            };
            list.push(policy);
        }
    }
    if let Some(org) = &entry.organization_id {
        let ok = org.len() >= 12
            && org.starts_with("o-")
            && org[2..]
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if !ok {
            return Err(format!(
                "organization id '{org}' must look like o-exampleorgid"
            ));
        }
    }
    Ok(Grants {
        policies,
        organization_id: entry.organization_id.take(),
    })
}

/// Checks one entry and fills in the default principal. Errors mention the access key but
/// never the secret.
fn validate(entry: IdentityEntry) -> Result<Identity, String> {
    let IdentityEntry {
        access_key_id,
        secret_access_key,
        account_id,
        principal_arn,
        session_token,
        ..
    } = entry;
    if access_key_id.is_empty() || !access_key_id.chars().all(|c| c.is_ascii_graphic()) {
        return Err(format!(
            "access key id '{access_key_id}' must be non-empty printable ASCII without spaces"
        ));
    }
    if access_key_id.contains('/') {
        // '/' separates the credential scope fields, so such a key could never be named.
        return Err(format!(
            "access key id '{access_key_id}' must not contain '/'"
        ));
    }
    if secret_access_key.is_empty() {
        return Err(format!(
            "secret access key for '{access_key_id}' must not be empty"
        ));
    }
    if account_id.len() != 12 || !account_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "account id '{account_id}' for '{access_key_id}' must be exactly 12 digits"
        ));
    }
    let principal_arn = match principal_arn {
        None => format!("arn:aws:iam::{account_id}:user/{access_key_id}"),
        Some(arn) => {
            check_principal_arn(&arn, &account_id)
                .map_err(|why| format!("principal ARN '{arn}' for '{access_key_id}': {why}"))?;
            arn
        }
    };
    if session_token.as_deref() == Some("") {
        return Err(format!(
            "session token for '{access_key_id}' must not be empty (omit it instead)"
        ));
    }
    Ok(Identity {
        access_key_id,
        secret_access_key,
        account_id,
        principal_arn,
        session_token,
    })
}

/// A principal must be an IAM or STS ARN in the identity's own account, otherwise policy
/// evaluation and cross-account checks would compare against the wrong account.
fn check_principal_arn(arn: &str, account_id: &str) -> Result<(), &'static str> {
    let fields: Vec<&str> = arn.splitn(6, ':').collect();
    match fields.as_slice() {
        ["arn", partition, service, "", account, resource]
            if !partition.is_empty() && !resource.is_empty() =>
        {
            if *service != "iam" && *service != "sts" {
                Err("service must be 'iam' or 'sts'")
            } else if *account != account_id {
                Err("account must match the identity's account id")
            } else {
                Ok(())
            }
        }
        _ => Err("expected arn:PARTITION:iam::ACCOUNT:RESOURCE"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_identity_is_an_iam_user() {
        let ids = Identities::default_test();
        let test = ids.get("test").expect("default identity");
        assert_eq!(test.secret_access_key, "test");
        assert_eq!(test.account_id, "000000000000");
        assert_eq!(test.principal_arn, "arn:aws:iam::000000000000:user/test");
        assert_eq!(test.session_token, None);
        assert_eq!(ids.len(), 1);
    }

    #[test]
    fn spec_with_default_and_explicit_principals() {
        let ids = Identities::parse_spec(
            "AKIA1:sec/ret+1:111122223333, AKIA2:s2:444455556666:arn:aws:iam::444455556666:role/dev",
        )
        .expect("valid spec");
        assert_eq!(ids.len(), 2);
        let one = ids.get("AKIA1").expect("AKIA1");
        assert_eq!(one.secret_access_key, "sec/ret+1");
        assert_eq!(one.principal_arn, "arn:aws:iam::111122223333:user/AKIA1");
        let two = ids.get("AKIA2").expect("AKIA2");
        assert_eq!(two.account_id, "444455556666");
        assert_eq!(two.principal_arn, "arn:aws:iam::444455556666:role/dev");
        assert!(ids.get("AKIA3").is_none());
    }

    #[test]
    fn bad_specs_are_explained_without_secrets() {
        let cases = [
            ("", "identity #1: empty entry"),
            ("AKIA1:secret", "identity #1: expected ACCESS_KEY_ID"),
            ("AKIA1:secret:12345", "identity #1: account id '12345'"),
            ("AKIA1:secret:1234567890ab", "must be exactly 12 digits"),
            ("AKIA1:secret:111122223333,", "identity #2: empty entry"),
            ("AKIA1::111122223333", "secret access key for 'AKIA1'"),
            (":secret:111122223333", "access key id ''"),
            ("AK/IA:secret:111122223333", "must not contain '/'"),
            (
                "AKIA1:secret:111122223333:arn:aws:iam::999999999999:user/x",
                "account must match",
            ),
            ("AKIA1:secret:111122223333:user/x", "expected arn:"),
            (
                "AKIA1:secret:111122223333:arn:aws:s3::111122223333:x",
                "service must be",
            ),
        ];
        for (spec, expected) in cases {
            let err = Identities::parse_spec(spec).expect_err(spec).to_string();
            assert!(err.contains(expected), "{spec:?} gave {err:?}");
            assert!(!err.contains(":secret"), "{err} leaks the secret");
        }
        let dup = Identities::parse_spec("A:s:111122223333,A:t:111122223333").expect_err("dup");
        assert_eq!(
            dup.to_string(),
            "access key id 'A' is configured more than once"
        );
    }

    #[test]
    fn merge_lets_later_sources_win() {
        let mut ids = Identities::default_test();
        ids.merge(
            Identities::parse_spec("test:other:111122223333,B:b:111122223333").expect("spec"),
        );
        assert_eq!(ids.len(), 2);
        let test = ids.get("test").expect("test");
        assert_eq!(test.secret_access_key, "other");
        assert_eq!(test.account_id, "111122223333");
    }

    #[test]
    fn json_file() {
        let dir = std::env::temp_dir().join(format!("auth-creds-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("identities.json");
        std::fs::write(
            &path,
            r#"{"identities":[
                {"accessKeyId":"AKIA1","secretAccessKey":"s1","accountId":"111122223333",
                 "principalArn":"arn:aws:iam::111122223333:user/alice"},
                {"accessKeyId":"ASIA2","secretAccessKey":"s2","accountId":"444455556666",
                 "sessionToken":"tok"}]}"#,
        )
        .expect("write");
        let ids = Identities::from_json_file(&path).expect("valid file");
        assert_eq!(
            ids.get("AKIA1").map(|i| i.principal_arn.as_str()),
            Some("arn:aws:iam::111122223333:user/alice")
        );
        let two = ids.get("ASIA2").expect("ASIA2");
        assert_eq!(two.principal_arn, "arn:aws:iam::444455556666:user/ASIA2");
        assert_eq!(two.session_token.as_deref(), Some("tok"));

        std::fs::write(&path, r#"{"identities":[{"accessKeyId":"A"}]}"#).expect("write");
        let err = Identities::from_json_file(&path).expect_err("missing fields");
        assert!(matches!(err, CredentialsError::Json { .. }), "{err}");
        std::fs::write(&path, r#"{"identities":[]}"#).expect("write");
        assert!(matches!(
            Identities::from_json_file(&path),
            Err(CredentialsError::Empty)
        ));
        let missing = Identities::from_json_file(&dir.join("nope.json")).expect_err("missing");
        assert!(matches!(missing, CredentialsError::Io { .. }));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn identity_policies_inline_managed_and_aws() {
        let dir = std::env::temp_dir().join(format!("auth-policies-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("identities.json");
        std::fs::write(
            &path,
            r#"{"managedPolicies":{"ci-read":{"Version":"2012-10-17","Statement":[
                  {"Effect":"Allow","Action":"codeartifact:ReadFromRepository","Resource":"*"}]}},
                "identities":[
                {"accessKeyId":"CI","secretAccessKey":"s","accountId":"111122223333",
                 "principalArn":"arn:aws:iam::111122223333:role/ci","organizationId":"o-abcdefghij",
                 "attachedPolicies":["ci-read","AWSCodeArtifactReadOnlyAccess"],
                 "inlinePolicies":{"token":"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"sts:GetServiceBearerToken\",\"Resource\":\"*\"}}"}},
                {"accessKeyId":"OLD","secretAccessKey":"s","accountId":"111122223333"}]}"#,
        )
        .expect("write");
        let ids = Identities::from_json_file(&path).expect("valid file");
        let ci = ids
            .grants("arn:aws:iam::111122223333:role/ci")
            .expect("grants");
        assert_eq!(ci.policies.as_ref().map(Vec::len), Some(3));
        assert_eq!(ci.organization_id.as_deref(), Some("o-abcdefghij"));
        assert!(ids.grants("arn:aws:iam::111122223333:user/OLD").is_none());

        for (entry, expected) in [
            (r#""attachedPolicies":["nope"]"#, "attached policy 'nope'"),
            (
                r#""inlinePolicies":{"p":{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}}"#,
                "policy 'p': Invalid policy document: an identity-based policy cannot have a Principal",
            ),
            (r#""organizationId":"org""#, "organization id 'org'"),
        ] {
            std::fs::write(
                &path,
                format!(
                    r#"{{"identities":[{{"accessKeyId":"A","secretAccessKey":"s","accountId":"111122223333",{entry}}}]}}"#
                ),
            )
            .expect("write");
            let err = Identities::from_json_file(&path).expect_err(entry).to_string();
            assert!(err.contains(expected), "{entry}: {err}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn debug_redacts_secrets() {
        let mut identity = Identity::iam_user("AKIA1", "very-secret", "111122223333");
        identity.session_token = Some("session-secret".to_owned());
        let shown = format!("{identity:?}");
        assert!(!shown.contains("very-secret") && !shown.contains("session-secret"));
        assert!(shown.contains("AKIA1"));
    }
}
