//! Domains, repositories, policies, tags, tokens and endpoints through the Rust SDK.

use crate::harness::{code, Server};
use aws_sdk_codeartifact::types::{PackageFormat, Tag, UpstreamRepository};

fn upstream(name: &str) -> UpstreamRepository {
    UpstreamRepository::builder()
        .repository_name(name)
        .build()
        .unwrap()
}

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn domain_lifecycle() {
    let server = Server::start();
    let ca = server.client();
    let created = ca
        .create_domain()
        .domain("acme")
        .tags(tag("team", "core"))
        .send()
        .await
        .unwrap();
    let domain = created.domain.unwrap();
    assert_eq!(domain.name(), Some("acme"));
    assert_eq!(domain.owner(), Some("000000000000"));
    assert_eq!(
        domain.arn(),
        Some("arn:aws:codeartifact:us-east-1:000000000000:domain/acme")
    );
    assert_eq!(domain.repository_count(), 0);
    assert!(domain
        .encryption_key()
        .unwrap()
        .starts_with("arn:aws:kms:us-east-1:000000000000:key/"));
    assert!(domain.created_time().is_some());

    assert_eq!(
        code(ca.create_domain().domain("acme").send().await),
        "ConflictException"
    );
    assert_eq!(
        code(ca.create_domain().domain("Bad_Name").send().await),
        "ValidationException"
    );
    assert_eq!(
        code(ca.describe_domain().domain("nope").send().await),
        "ResourceNotFoundException"
    );

    ca.create_repository()
        .domain("acme")
        .repository("repo")
        .send()
        .await
        .unwrap();
    let described = ca
        .describe_domain()
        .domain("acme")
        .send()
        .await
        .unwrap()
        .domain
        .unwrap();
    assert_eq!(described.repository_count(), 1);
    assert_eq!(
        described.s3_bucket_arn(),
        Some("arn:aws:s3:::assets-000000000000-us-east-1")
    );
    assert_eq!(
        code(ca.delete_domain().domain("acme").send().await),
        "ConflictException"
    );
    ca.delete_repository()
        .domain("acme")
        .repository("repo")
        .send()
        .await
        .unwrap();
    let deleted = ca
        .delete_domain()
        .domain("acme")
        .send()
        .await
        .unwrap()
        .domain
        .unwrap();
    assert_eq!(deleted.status().map(|s| s.as_str()), Some("Deleted"));
    assert_eq!(
        code(ca.describe_domain().domain("acme").send().await),
        "ResourceNotFoundException"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn list_domains_paginates() {
    let server = Server::start();
    let ca = server.client();
    for name in ["d-c", "d-a", "d-e", "d-b", "d-d"] {
        ca.create_domain().domain(name).send().await.unwrap();
    }
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = ca
            .list_domains()
            .max_results(2)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        assert!(page.domains().len() <= 2);
        names.extend(page.domains().iter().map(|d| d.name().unwrap().to_string()));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(names, ["d-a", "d-b", "d-c", "d-d", "d-e"]);
    assert_eq!(
        code(ca.list_domains().next_token("bogus").send().await),
        "ValidationException"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn repositories_with_upstreams_and_external_connections() {
    let server = Server::start();
    let ca = server.client();
    ca.create_domain().domain("acme").send().await.unwrap();
    ca.create_repository()
        .domain("acme")
        .repository("npm-store")
        .send()
        .await
        .unwrap();
    ca.create_repository()
        .domain("acme")
        .repository("base")
        .send()
        .await
        .unwrap();
    let team = ca
        .create_repository()
        .domain("acme")
        .repository("team")
        .description("team repository")
        .upstreams(upstream("npm-store"))
        .upstreams(upstream("base"))
        .send()
        .await
        .unwrap()
        .repository
        .unwrap();
    let names: Vec<_> = team
        .upstreams()
        .iter()
        .map(|u| u.repository_name().unwrap())
        .collect();
    assert_eq!(names, ["npm-store", "base"], "upstream order is kept");
    assert_eq!(team.administrator_account(), Some("000000000000"));
    assert_eq!(
        team.arn(),
        Some("arn:aws:codeartifact:us-east-1:000000000000:repository/acme/team")
    );
    assert!(team.external_connections().is_empty());

    assert_eq!(
        code(
            ca.create_repository()
                .domain("acme")
                .repository("x1")
                .upstreams(upstream("ghost"))
                .send()
                .await
        ),
        "ResourceNotFoundException"
    );
    assert_eq!(
        code(
            ca.update_repository()
                .domain("acme")
                .repository("team")
                .upstreams(upstream("team"))
                .send()
                .await
        ),
        "ValidationException"
    );
    let mut eleven = ca.create_repository().domain("acme").repository("too-many");
    for i in 0..11 {
        eleven = eleven.upstreams(upstream(&format!("u{i}")));
    }
    assert_eq!(code(eleven.send().await), "ValidationException");

    let updated = ca
        .update_repository()
        .domain("acme")
        .repository("team")
        .set_upstreams(Some(vec![]))
        .send()
        .await
        .unwrap()
        .repository
        .unwrap();
    assert!(updated.upstreams().is_empty());
    assert_eq!(
        updated.description(),
        Some("team repository"),
        "absent members are kept"
    );

    let store = ca
        .associate_external_connection()
        .domain("acme")
        .repository("npm-store")
        .external_connection("public:npmjs")
        .send()
        .await
        .unwrap()
        .repository
        .unwrap();
    let connection = &store.external_connections()[0];
    assert_eq!(connection.external_connection_name(), Some("public:npmjs"));
    assert_eq!(connection.package_format(), Some(&PackageFormat::Npm));
    assert_eq!(
        code(
            ca.associate_external_connection()
                .domain("acme")
                .repository("npm-store")
                .external_connection("public:pypi")
                .send()
                .await
        ),
        "ValidationException"
    );
    assert_eq!(
        code(
            ca.associate_external_connection()
                .domain("acme")
                .repository("base")
                .external_connection("public:nowhere")
                .send()
                .await
        ),
        "ValidationException"
    );
    ca.disassociate_external_connection()
        .domain("acme")
        .repository("npm-store")
        .external_connection("public:npmjs")
        .send()
        .await
        .unwrap();

    let listed = ca
        .list_repositories_in_domain()
        .domain("acme")
        .repository_prefix("np")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.repositories().len(), 1);
    let all = ca.list_repositories().send().await.unwrap();
    let mut names: Vec<_> = all
        .repositories()
        .iter()
        .map(|r| r.name().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["base", "npm-store", "team"]);
    assert_eq!(
        code(
            ca.describe_repository()
                .domain("acme")
                .repository("ghost")
                .send()
                .await
        ),
        "ResourceNotFoundException"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn policies_use_revisions_as_locks() {
    let server = Server::start();
    let ca = server.client();
    ca.create_domain().domain("acme").send().await.unwrap();
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"codeartifact:GetAuthorizationToken","Resource":"*"}]}"#;
    assert_eq!(
        code(
            ca.get_domain_permissions_policy()
                .domain("acme")
                .send()
                .await
        ),
        "ResourceNotFoundException"
    );
    let first = ca
        .put_domain_permissions_policy()
        .domain("acme")
        .policy_document(doc)
        .send()
        .await
        .unwrap()
        .policy
        .unwrap();
    assert_eq!(first.document(), Some(doc), "stored verbatim");
    let revision = first.revision().unwrap().to_string();
    assert_eq!(
        code(
            ca.put_domain_permissions_policy()
                .domain("acme")
                .policy_document(doc)
                .policy_revision("stale")
                .send()
                .await
        ),
        "ConflictException"
    );
    let second = ca
        .put_domain_permissions_policy()
        .domain("acme")
        .policy_document(doc)
        .policy_revision(&revision)
        .send()
        .await
        .unwrap()
        .policy
        .unwrap();
    assert_ne!(second.revision(), Some(revision.as_str()));
    assert_eq!(
        code(
            ca.put_domain_permissions_policy()
                .domain("acme")
                .policy_document("{not json")
                .send()
                .await
        ),
        "ValidationException"
    );
    ca.delete_domain_permissions_policy()
        .domain("acme")
        .send()
        .await
        .unwrap();

    ca.create_repository()
        .domain("acme")
        .repository("repo")
        .send()
        .await
        .unwrap();
    let put = ca
        .put_repository_permissions_policy()
        .domain("acme")
        .repository("repo")
        .policy_document(doc)
        .send()
        .await
        .unwrap()
        .policy
        .unwrap();
    assert_eq!(
        put.resource_arn(),
        Some("arn:aws:codeartifact:us-east-1:000000000000:repository/acme/repo")
    );
    let got = ca
        .get_repository_permissions_policy()
        .domain("acme")
        .repository("repo")
        .send()
        .await
        .unwrap();
    assert_eq!(got.policy.unwrap().revision(), put.revision());
    ca.delete_repository_permissions_policy()
        .domain("acme")
        .repository("repo")
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(
            ca.delete_repository_permissions_policy()
                .domain("acme")
                .repository("repo")
                .send()
                .await
        ),
        "ResourceNotFoundException"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tags_on_domains_and_repositories() {
    let server = Server::start();
    let ca = server.client();
    let arn = ca
        .create_domain()
        .domain("acme")
        .send()
        .await
        .unwrap()
        .domain
        .unwrap()
        .arn
        .unwrap();
    ca.tag_resource()
        .resource_arn(&arn)
        .tags(tag("a", "1"))
        .tags(tag("b", "2"))
        .send()
        .await
        .unwrap();
    ca.tag_resource()
        .resource_arn(&arn)
        .tags(tag("a", "3"))
        .send()
        .await
        .unwrap();
    ca.untag_resource()
        .resource_arn(&arn)
        .tag_keys("b")
        .tag_keys("unknown")
        .send()
        .await
        .unwrap();
    let tags = ca
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    let pairs: Vec<_> = tags.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(pairs, [("a", "3")]);
    assert_eq!(
        code(
            ca.list_tags_for_resource()
                .resource_arn("arn:aws:codeartifact:us-east-1:000000000000:domain/ghost")
                .send()
                .await
        ),
        "ResourceNotFoundException"
    );
    assert_eq!(
        code(
            ca.tag_resource()
                .resource_arn("arn:aws:s3:::bucket")
                .tags(tag("a", "1"))
                .send()
                .await
        ),
        "ValidationException"
    );
    let mut many = ca.tag_resource().resource_arn(&arn);
    for i in 0..51 {
        many = many.tags(tag(&format!("k{i}"), "v"));
    }
    assert_eq!(code(many.send().await), "ServiceQuotaExceededException");
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_and_endpoints() {
    let server = Server::start();
    let ca = server.client();
    ca.create_domain().domain("acme").send().await.unwrap();
    ca.create_repository()
        .domain("acme")
        .repository("team")
        .send()
        .await
        .unwrap();
    let token = ca
        .get_authorization_token()
        .domain("acme")
        .send()
        .await
        .unwrap();
    let expiration = token.expiration().unwrap().secs();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let now = i64::try_from(now).unwrap();
    assert!(
        (expiration - now - 43_200).abs() < 5,
        "default lifetime is 12 hours"
    );
    assert_eq!(token.authorization_token().unwrap().split('.').count(), 5);
    let short = ca
        .get_authorization_token()
        .domain("acme")
        .duration_seconds(900)
        .send()
        .await
        .unwrap();
    assert!((short.expiration().unwrap().secs() - now - 900).abs() < 5);
    for bad in [1, 899, 43_201] {
        assert_eq!(
            code(
                ca.get_authorization_token()
                    .domain("acme")
                    .duration_seconds(bad)
                    .send()
                    .await
            ),
            "ValidationException",
            "duration {bad}"
        );
    }
    assert_eq!(
        code(ca.get_authorization_token().domain("ghost").send().await),
        "ResourceNotFoundException"
    );

    let endpoint = ca
        .get_repository_endpoint()
        .domain("acme")
        .repository("team")
        .format(PackageFormat::Npm)
        .send()
        .await
        .unwrap();
    assert_eq!(
        endpoint.repository_endpoint(),
        Some(format!("{}/npm/d/acme-000000000000/team/", server.endpoint()).as_str())
    );
    assert_eq!(
        code(
            ca.get_repository_endpoint()
                .domain("acme")
                .repository("ghost")
                .format(PackageFormat::Pypi)
                .send()
                .await
        ),
        "ResourceNotFoundException"
    );
}
