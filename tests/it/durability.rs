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

/// kill -9 while 16 clients publish: after a restart every acknowledged version is intact
/// and byte-exact, and no stored version points at missing bytes.
#[tokio::test(flavor = "multi_thread")]
async fn publishes_survive_kill_minus_nine() {
    use aws_sdk_codeartifact::primitives::ByteStream;
    use aws_sdk_codeartifact::types::PackageFormat;
    use sha2::{Digest, Sha256};
    use std::sync::{Arc, Mutex};

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

    /// Versions the server acknowledged, with the bytes sent.
    type Acknowledged = Arc<Mutex<Vec<(String, Vec<u8>)>>>;
    let acknowledged: Acknowledged = Arc::default();
    let mut workers = Vec::new();
    for worker in 0..16u32 {
        let ca = ca.clone();
        let acknowledged = Arc::clone(&acknowledged);
        workers.push(tokio::spawn(async move {
            for n in 0..10_000u32 {
                let version = format!("{worker}.{n}.0");
                let content: Vec<u8> = format!("{version}:")
                    .repeat(2000 + (n as usize % 7) * 500)
                    .into_bytes();
                let sha: String = Sha256::digest(&content)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                let sent = ca
                    .publish_package_version()
                    .domain("acme")
                    .repository("repo")
                    .format(PackageFormat::Generic)
                    .namespace("ns")
                    .package("pkg")
                    .package_version(&version)
                    .asset_name("asset.bin")
                    .asset_sha256(sha)
                    .asset_content(ByteStream::from(content.clone()))
                    .send()
                    .await;
                match sent {
                    Ok(_) => acknowledged.lock().unwrap().push((version, content)),
                    Err(_) => return,
                }
            }
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    server.kill();
    for worker in workers {
        worker.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        !acknowledged.is_empty(),
        "some publishes were acknowledged before the kill"
    );

    let server = Server::start_in(&data, &[]);
    let ca = server.client();
    let get = |version: String| {
        ca.get_package_version_asset()
            .domain("acme")
            .repository("repo")
            .format(PackageFormat::Generic)
            .namespace("ns")
            .package("pkg")
            .package_version(version)
            .asset("asset.bin")
            .send()
    };
    for (version, content) in &acknowledged {
        let body = get(version.clone())
            .await
            .unwrap()
            .asset
            .collect()
            .await
            .unwrap()
            .into_bytes();
        assert!(
            body.as_ref() == content.as_slice(),
            "version {version} is byte-exact"
        );
    }
    let mut token = None;
    loop {
        let page = ca
            .list_package_versions()
            .domain("acme")
            .repository("repo")
            .format(PackageFormat::Generic)
            .namespace("ns")
            .package("pkg")
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        for v in page.versions() {
            get(v.version().to_string())
                .await
                .unwrap_or_else(|e| panic!("version {} lost its asset: {e:?}", v.version()));
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
}
