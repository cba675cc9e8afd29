//! Behaviour of the generated bindings and the runtime: routing, input binding and
//! validation (with AWS's messages), and output rendering.

use std::collections::{BTreeMap, HashSet};

use codeartifact_model::rt::{
    bind_input, compile_pattern, render_output, validate_value, OperationInput, RawInput,
    Timestamp, ValidationError,
};
use codeartifact_model::*;
use serde_json::{json, Value};

/// Binds `T` from a query string, headers and a body, like the server would.
fn bind<T: OperationInput>(
    query: &[(&str, &str)],
    headers: &[(&str, &str)],
    body: &str,
) -> Result<T, ValidationError> {
    let query: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    };
    bind_input(&RawInput {
        query: &query,
        header: &header,
        body: body.as_bytes(),
    })
}

fn message<T: OperationInput + std::fmt::Debug>(query: &[(&str, &str)], body: &str) -> Outcome {
    let err = bind::<T>(query, &[], body).expect_err("expected a validation error");
    (err.reason, err.message)
}

const FVF: &str = "FIELD_VALIDATION_FAILED";

/// A validation failure: reason and message.
type Outcome = (&'static str, String);

#[test]
fn every_operation_is_routed_uniquely() {
    let mut seen = HashSet::new();
    for op in Operation::ALL {
        assert!(
            seen.insert((op.method(), op.path())),
            "{} shares a route",
            op.name()
        );
        assert_eq!(Operation::route(op.method(), op.path()), Some(op));
        let slashed = format!("{}/", op.path());
        assert_eq!(Operation::route(op.method(), &slashed), Some(op));
        assert!(op.errors().contains(&"ValidationException"));
    }
    assert_eq!(seen.len(), 48);
    assert_eq!(
        Operation::route("POST", "/v1/domain/"),
        Some(Operation::CreateDomain)
    );
    assert_eq!(
        Operation::route("POST", "/v1/package"),
        Some(Operation::PutPackageOriginConfiguration)
    );
    assert_eq!(Operation::route("POST", "/v1/domain//"), None);
    assert_eq!(Operation::route("PATCH", "/v1/domain"), None);
    assert_eq!(Operation::route("GET", "/"), None);
    assert_eq!(Operation::CreateDomain.input().name, "CreateDomainRequest");
    assert_eq!(Operation::CreateDomain.output().name, "CreateDomainResult");
}

#[test]
fn every_model_pattern_compiles() {
    let text = include_str!("../codeartifact.json");
    let model: Value = serde_json::from_str(text).unwrap();
    let mut count = 0;
    for (name, shape) in model["shapes"].as_object().unwrap() {
        if let Some(pattern) = shape.get("pattern").and_then(Value::as_str) {
            compile_pattern(pattern).unwrap_or_else(|e| panic!("{name}: {pattern}: {e}"));
            count += 1;
        }
    }
    assert!(count > 20);
}

#[test]
fn errors_table() {
    assert!(ERRORS.contains(&("ValidationException", 400)));
    assert!(ERRORS.contains(&("ResourceNotFoundException", 404)));
    assert!(ERRORS.contains(&("ThrottlingException", 429)));
}

#[test]
fn enums_round_trip() {
    assert_eq!(PackageFormat::Npm.as_str(), "npm");
    assert_eq!(HashAlgorithm::Sha256.to_string(), "SHA-256");
    assert_eq!(
        serde_json::to_value(PackageGroupOriginRestrictionMode::AllowSpecificRepositories).unwrap(),
        json!("ALLOW_SPECIFIC_REPOSITORIES")
    );
    assert!(PackageFormat::ALL.contains(&PackageFormat::Cargo));
    // Enum-keyed maps (de)serialize with string keys.
    let restrictions: BTreeMap<
        PackageGroupOriginRestrictionType,
        PackageGroupOriginRestrictionMode,
    > = serde_json::from_value(json!({"PUBLISH": "BLOCK"})).unwrap();
    assert_eq!(
        restrictions.get(&PackageGroupOriginRestrictionType::Publish),
        Some(&PackageGroupOriginRestrictionMode::Block)
    );
}

#[test]
fn binds_query_header_and_body() {
    let input: CreateRepositoryRequest = bind(
        &[
            ("domain", "my-domain"),
            ("repository", "repo"),
            ("domain", "ignored"),
        ],
        &[],
        r#"{"description": "d", "upstreams": [{"repositoryName": "up"}], "unknown": 1}"#,
    )
    .unwrap();
    assert_eq!(input.domain, "my-domain");
    assert_eq!(input.repository, "repo");
    assert_eq!(input.description.as_deref(), Some("d"));
    assert_eq!(input.upstreams.unwrap()[0].repository_name, "up");

    let input: PublishPackageVersionRequest = bind(
        &[
            ("domain", "d1"),
            ("repository", "r1"),
            ("format", "generic"),
            ("namespace", "ns"),
            ("package", "p"),
            ("version", "1.0"),
            ("asset", "a.tgz"),
            ("unfinished", "true"),
        ],
        &[("X-Amz-Content-Sha256", &"a".repeat(64))],
        "raw payload bytes, not JSON",
    )
    .unwrap();
    assert_eq!(input.format, PackageFormat::Generic);
    assert_eq!(input.package_version, "1.0");
    assert_eq!(input.unfinished, Some(true));
    assert_eq!(input.asset_sha256.len(), 64);

    let input: GetAuthorizationTokenRequest =
        bind(&[("domain", "d1"), ("duration", "900")], &[], "").unwrap();
    assert_eq!(input.duration_seconds, Some(900));
}

#[test]
fn empty_bodies_are_accepted() {
    for body in ["", "{}", "  "] {
        let input: ListDomainsRequest = bind(&[], &[], body).unwrap();
        assert_eq!(input, ListDomainsRequest::default());
    }
    // A body member name sent in the query is not bound (and vice versa).
    let input: ListDomainsRequest = bind(&[("maxResults", "5")], &[], "").unwrap();
    assert_eq!(input.max_results, None);
    let input: CreateDomainRequest = bind(&[("domain", "d1")], &[], r#"{"domain": "x"}"#).unwrap();
    assert_eq!(input.domain, "d1");
}

#[test]
fn validation_messages() {
    let pattern = r"[a-z][a-z0-9\-]{0,48}[a-z0-9]";
    let cases: Vec<(Outcome, Outcome)> = vec![
        (
            message::<CreateDomainRequest>(&[], ""),
            (
                FVF,
                "1 validation error detected: Value null at 'domain' failed to satisfy \
                 constraint: Member must not be null"
                    .into(),
            ),
        ),
        (
            message::<CreateDomainRequest>(&[("domain", "x")], ""),
            (
                FVF,
                format!(
                    "2 validation errors detected: Value 'x' at 'domain' failed to satisfy \
                     constraint: Member must have length greater than or equal to 2; \
                     Value 'x' at 'domain' failed to satisfy constraint: Member must satisfy \
                     regular expression pattern: {pattern}"
                ),
            ),
        ),
        (
            message::<CreateDomainRequest>(&[("domain", &"a".repeat(51))], ""),
            (
                FVF,
                format!(
                    "2 validation errors detected: Value '{a}' at 'domain' failed to satisfy \
                     constraint: Member must have length less than or equal to 50; \
                     Value '{a}' at 'domain' failed to satisfy constraint: Member must satisfy \
                     regular expression pattern: {pattern}",
                    a = "a".repeat(51)
                ),
            ),
        ),
        (
            message::<CreateDomainRequest>(&[("domain", "Bad_Domain")], ""),
            (
                FVF,
                format!(
                    "1 validation error detected: Value 'Bad_Domain' at 'domain' failed to \
                     satisfy constraint: Member must satisfy regular expression pattern: {pattern}"
                ),
            ),
        ),
        (
            message::<ListPackagesRequest>(
                &[("domain", "d1"), ("repository", "r1"), ("format", "rpm")],
                "",
            ),
            (
                FVF,
                "1 validation error detected: Value 'rpm' at 'format' failed to satisfy \
                 constraint: Member must satisfy enum value set: \
                 [npm, pypi, maven, nuget, generic, ruby, swift, cargo]"
                    .into(),
            ),
        ),
        (
            message::<ListDomainsRequest>(&[], r#"{"maxResults": 1001}"#),
            (
                FVF,
                "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy \
                 constraint: Member must have value less than or equal to 1000"
                    .into(),
            ),
        ),
        (
            message::<ListDomainsRequest>(&[], r#"{"maxResults": 0}"#),
            (
                FVF,
                "1 validation error detected: Value '0' at 'maxResults' failed to satisfy \
                 constraint: Member must have value greater than or equal to 1"
                    .into(),
            ),
        ),
        (
            message::<ListDomainsRequest>(&[], r#"{"maxResults": "ten"}"#),
            (
                FVF,
                "1 validation error detected: Value 'ten' at 'maxResults' failed to satisfy \
                 constraint: Member must be an integer"
                    .into(),
            ),
        ),
        (
            message::<GetAuthorizationTokenRequest>(&[("domain", "d1"), ("duration", "abc")], ""),
            (
                FVF,
                "1 validation error detected: Value 'abc' at 'durationSeconds' failed to \
                 satisfy constraint: Member must be an integer"
                    .into(),
            ),
        ),
        (
            message::<GetAuthorizationTokenRequest>(&[("domain", "d1"), ("duration", "43201")], ""),
            (
                FVF,
                "1 validation error detected: Value '43201' at 'durationSeconds' failed to \
                 satisfy constraint: Member must have value less than or equal to 43200"
                    .into(),
            ),
        ),
        (
            message::<CreateRepositoryRequest>(
                &[("domain", "d1"), ("repository", "r1")],
                r#"{"upstreams": [{"repositoryName": "ok"}, {"repositoryName": "-"}, {}]}"#,
            ),
            (
                FVF,
                "3 validation errors detected: Value '-' at 'upstreams.2.member.repositoryName' \
                 failed to satisfy constraint: Member must have length greater than or equal \
                 to 2; Value '-' at 'upstreams.2.member.repositoryName' failed to satisfy \
                 constraint: Member must satisfy regular expression pattern: \
                 [A-Za-z0-9][A-Za-z0-9._\\-]{1,99}; Value null at \
                 'upstreams.3.member.repositoryName' failed to satisfy constraint: Member \
                 must not be null"
                    .into(),
            ),
        ),
        (
            message::<TagResourceRequest>(
                &[("resourceArn", "arn:x")],
                r#"{"tags": [{"key": "a", "value": "b"}, {"key": "", "value": "v"}]}"#,
            ),
            (
                FVF,
                "2 validation errors detected: Value '' at 'tags.2.member.key' failed to \
                 satisfy constraint: Member must have length greater than or equal to 1; \
                 Value '' at 'tags.2.member.key' failed to satisfy constraint: Member must \
                 satisfy regular expression pattern: \\P{C}+"
                    .into(),
            ),
        ),
        (
            message::<CopyPackageVersionsRequest>(
                &[
                    ("domain", "d1"),
                    ("source-repository", "r1"),
                    ("destination-repository", "r2"),
                    ("format", "npm"),
                    ("package", "p"),
                ],
                r#"{"versions": "1.0"}"#,
            ),
            (
                FVF,
                "1 validation error detected: Value '1.0' at 'versions' failed to satisfy \
                 constraint: Member must be a list"
                    .into(),
            ),
        ),
    ];
    for (got, want) in cases {
        assert_eq!(got.0, want.0, "{}", got.1);
        assert_eq!(got.1, want.1);
    }
}

#[test]
fn all_violations_are_reported_in_member_order() {
    let (reason, msg) = message::<PublishPackageVersionRequest>(
        &[("domain", "d1"), ("format", "zip"), ("unfinished", "yes")],
        "",
    );
    assert_eq!(reason, FVF);
    assert_eq!(
        msg,
        "7 validation errors detected: \
         Value null at 'assetName' failed to satisfy constraint: Member must not be null; \
         Value null at 'assetSHA256' failed to satisfy constraint: Member must not be null; \
         Value 'zip' at 'format' failed to satisfy constraint: Member must satisfy enum value \
         set: [npm, pypi, maven, nuget, generic, ruby, swift, cargo]; \
         Value null at 'package' failed to satisfy constraint: Member must not be null; \
         Value null at 'packageVersion' failed to satisfy constraint: Member must not be null; \
         Value null at 'repository' failed to satisfy constraint: Member must not be null; \
         Value 'yes' at 'unfinished' failed to satisfy constraint: Member must be a boolean"
    );
}

#[test]
fn malformed_bodies_cannot_be_parsed() {
    for body in ["{", "[]", "\"x\"", "not json", "{\"maxResults\": }"] {
        let err = bind::<ListDomainsRequest>(&[], &[], body).unwrap_err();
        assert_eq!(err.reason, "CANNOT_PARSE", "{body}");
        assert!(err
            .message
            .starts_with("Could not parse request body into json"));
    }
    // Operations without body members ignore the body entirely.
    let input: DescribeDomainRequest = bind(&[("domain", "d1")], &[], "{").unwrap();
    assert_eq!(input.domain, "d1");
}

#[test]
fn map_keys_are_validated() {
    let violations = validate_value(
        &ORIGIN_RESTRICTIONS,
        "restrictions",
        &json!({"PUBLISH": "ALLOW", "BOGUS": "BLOCK"}),
    );
    assert_eq!(
        violations,
        [
            "Value '{BOGUS=BLOCK, PUBLISH=ALLOW}' at 'restrictions' failed to satisfy constraint: \
          Map keys must satisfy constraint: [Member must satisfy enum value set: \
          [EXTERNAL_UPSTREAM, INTERNAL_UPSTREAM, PUBLISH]]"
        ]
    );
    assert!(validate_value(&DOMAIN_NAME, "domain", &Value::Null).is_empty());
}

#[test]
fn render_moves_header_members_and_drops_the_payload() {
    let out = render_output(&GetPackageVersionAssetResult {
        asset_name: Some("a.tgz".into()),
        package_version: Some("1.0".into()),
        package_version_revision: Some("rev".into()),
    });
    assert_eq!(
        out.headers,
        [
            ("X-AssetName", "a.tgz".to_owned()),
            ("X-PackageVersion", "1.0".to_owned()),
            ("X-PackageVersionRevision", "rev".to_owned()),
        ]
    );
    assert_eq!(out.body, b"{}");

    let out = render_output(&ThrottlingException {
        message: "slow down".into(),
        retry_after_seconds: Some(3),
    });
    assert_eq!(out.headers, [("Retry-After", "3".to_owned())]);
    assert_eq!(out.body, br#"{"message":"slow down"}"#);

    let out = render_output(&TagResourceResult {});
    assert_eq!(out.body, b"{}");
}

#[test]
fn timestamps_are_epoch_seconds() {
    let out = render_output(&GetAuthorizationTokenResult {
        authorization_token: Some("t".into()),
        expiration: Some(Timestamp::from_millis(1_700_000_000_500)),
    });
    let body: Value = serde_json::from_slice(&out.body).unwrap();
    assert_eq!(body["expiration"], json!(1_700_000_000.5));
    let domain: DomainDescription =
        serde_json::from_value(json!({"name": "d1", "createdTime": 1_700_000_000})).unwrap();
    assert_eq!(domain.created_time, Some(Timestamp(1_700_000_000.0)));
}
