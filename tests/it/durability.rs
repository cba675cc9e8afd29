//! Acknowledged writes survive SIGTERM and kill -9.

use crate::harness::Server;
use aws_sdk_codeartifact::types::Tag;

#[tokio::test(flavor = "multi_thread")]
async fn state_survives_restart_and_kill() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start_in(&data, &[]);
    let ca = server.client();
    ca.create_domain().domain("acme").send().await.unwrap();
    ca.create_repository()
        .domain("acme")
        .repository("repo")
        .send()
        .await
        .unwrap();
    let doc = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"codeartifact:ReadFromRepository"}]}"#;
    ca.put_repository_permissions_policy()
        .domain("acme")
        .repository("repo")
        .policy_document(doc)
        .send()
        .await
        .unwrap();
    let arn = "arn:aws:codeartifact:us-east-1:000000000000:repository/acme/repo";
    ca.tag_resource()
        .resource_arn(arn)
        .tags(Tag::builder().key("k").value("v").build().unwrap())
        .send()
        .await
        .unwrap();
    let token = ca
        .get_authorization_token()
        .domain("acme")
        .send()
        .await
        .unwrap();
    assert!(server.terminate().success(), "clean exit on SIGTERM");

    let server = Server::start_in(&data, &[]);
    let ca = server.client();
    ca.create_repository()
        .domain("acme")
        .repository("after-restart")
        .send()
        .await
        .unwrap();
    server.kill();

    let server = Server::start_in(&data, &[]);
    let ca = server.client();
    let repos = ca
        .list_repositories_in_domain()
        .domain("acme")
        .send()
        .await
        .unwrap();
    let names: Vec<_> = repos
        .repositories()
        .iter()
        .map(|r| r.name().unwrap())
        .collect();
    assert_eq!(names, ["after-restart", "repo"]);
    let policy = ca
        .get_repository_permissions_policy()
        .domain("acme")
        .repository("repo")
        .send()
        .await
        .unwrap();
    assert_eq!(policy.policy.unwrap().document(), Some(doc));
    let tags = ca
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().len(), 1);
    drop(token);
}
