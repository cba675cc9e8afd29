//! SigV4 on the control plane, seen from a real SDK client.

use crate::harness::{code, Server};

#[tokio::test(flavor = "multi_thread")]
async fn wrong_secret_and_unknown_keys_are_refused() {
    let server = Server::start();
    assert_eq!(
        code(
            server
                .client_as("test", "wrong")
                .list_domains()
                .send()
                .await
        ),
        "InvalidSignatureException"
    );
    assert_eq!(
        code(
            server
                .client_as("AKIDUNKNOWN", "x")
                .list_domains()
                .send()
                .await
        ),
        "UnrecognizedClientException"
    );
    server
        .client()
        .list_domains()
        .send()
        .await
        .expect("the right secret is accepted");
}

#[tokio::test(flavor = "multi_thread")]
async fn configured_identities_act_in_their_own_account() {
    let server = Server::start_with(&["--identities", "AKIDOTHER:othersecret:111122223333"]);
    let other = server.client_as("AKIDOTHER", "othersecret");
    let domain = other
        .create_domain()
        .domain("theirs")
        .send()
        .await
        .unwrap()
        .domain
        .unwrap();
    assert_eq!(domain.owner(), Some("111122223333"));
    // The default identity lives in another account: the domain is not its own.
    let ca = server.client();
    assert!(ca.list_domains().send().await.unwrap().domains().is_empty());
    assert_eq!(
        code(
            ca.describe_domain()
                .domain("theirs")
                .domain_owner("111122223333")
                .send()
                .await
        ),
        "AccessDeniedException"
    );
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":["codeartifact:DescribeDomain","codeartifact:GetAuthorizationToken"],"Resource":"*"}]}"#;
    other
        .put_domain_permissions_policy()
        .domain("theirs")
        .policy_document(policy)
        .send()
        .await
        .unwrap();
    let described = ca
        .describe_domain()
        .domain("theirs")
        .domain_owner("111122223333")
        .send()
        .await
        .unwrap();
    assert_eq!(described.domain.unwrap().owner(), Some("111122223333"));
    ca.get_authorization_token()
        .domain("theirs")
        .domain_owner("111122223333")
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(
            ca.delete_domain()
                .domain("theirs")
                .domain_owner("111122223333")
                .send()
                .await
        ),
        "AccessDeniedException"
    );
}
