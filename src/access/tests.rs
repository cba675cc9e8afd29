use super::*;

const OWNER: &str = "111122223333";
const REPO: &str = "arn:aws:codeartifact:us-east-1:111122223333:repository/acme/team";
const PKG: &str = "arn:aws:codeartifact:us-east-1:111122223333:package/acme/team/npm//left-pad";
const ALICE: &str = "arn:aws:iam::111122223333:user/alice";
const BOB: &str = "arn:aws:iam::444455556666:user/bob";

fn resource_policy(statements: &str) -> Policy {
    Policy::parse(
        &format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#),
        Kind::Resource,
    )
    .expect("valid resource policy")
}

fn identity_policy(statements: &str) -> Policy {
    Policy::parse(
        &format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#),
        Kind::Identity,
    )
    .expect("valid identity policy")
}

/// One question, with the knobs the tests turn.
struct Ask<'a> {
    who: &'a str,
    action: &'a str,
    arn: &'a str,
    tags: Vec<(String, String)>,
    request_tags: Option<Vec<(String, String)>>,
    extra: Vec<(&'a str, String)>,
    ip: Option<IpAddr>,
}

fn ask<'a>(who: &'a str, action: &'a str) -> Ask<'a> {
    Ask {
        who,
        action,
        arn: REPO,
        tags: Vec::new(),
        request_tags: None,
        extra: Vec::new(),
        ip: None,
    }
}

impl Ask<'_> {
    fn on(mut self, arn: &'static str) -> Self {
        self.arn = arn;
        self
    }

    fn decide(&self, identity: Identity<'_>, policies: &[&Policy]) -> Decision {
        let account = &self.who[13..25];
        let cx = Context {
            principal: Principal {
                account,
                arn: self.who,
                org_id: Some("o-exampleorg"),
            },
            region: "us-east-1",
            now_ms: 1_767_225_600_000, // 2026-01-01T00:00:00Z
            source_ip: self.ip,
            request_tags: self.request_tags.as_deref(),
            tag_keys: None,
            extra: &self.extra,
        };
        let tags = self.tags.clone();
        let read_tags = move || tags.clone();
        let arns = [self.arn.to_string()];
        let resource = Resource {
            arns: &arns,
            account: OWNER,
            tags: &read_tags,
        };
        decide(&cx, self.action, &resource, identity, policies)
    }
}

use Decision::*;

#[test]
fn a_trusted_owner_is_allowed_without_policies_and_others_are_not() {
    let read = ask(ALICE, "codeartifact:ReadFromRepository");
    assert_eq!(read.decide(Identity::Trusted, &[]), Allow);
    // A trusted identity of another account lacks only the resource side.
    let read = ask(BOB, "codeartifact:ReadFromRepository");
    assert_eq!(read.decide(Identity::Trusted, &[]), NoResourceAllow);
}

#[test]
fn same_account_needs_identity_or_resource_allow() {
    let none: [Policy; 0] = [];
    let reads = [identity_policy(
        r#"{"Effect":"Allow","Action":"codeartifact:Read*","Resource":"*"}"#,
    )];
    let a = ask(ALICE, "codeartifact:ReadFromRepository");
    assert_eq!(a.decide(Identity::Policies(&none), &[]), NoIdentityAllow);
    assert_eq!(a.decide(Identity::Policies(&reads), &[]), Allow);
    let grant = resource_policy(
        r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"codeartifact:ReadFromRepository"}"#,
    );
    assert_eq!(a.decide(Identity::Policies(&none), &[&grant]), Allow);
    let publish = ask(ALICE, "codeartifact:PublishPackageVersion");
    assert_eq!(
        publish.decide(Identity::Policies(&reads), &[&grant]),
        NoIdentityAllow
    );
}

#[test]
fn another_account_needs_both_sides() {
    let grant = resource_policy(
        r#"{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"codeartifact:*","Resource":"*"}"#,
    );
    let mine = [identity_policy(
        r#"{"Effect":"Allow","Action":"codeartifact:ReadFromRepository","Resource":"arn:aws:codeartifact:*:111122223333:repository/acme/*"}"#,
    )];
    let read = ask(BOB, "codeartifact:ReadFromRepository");
    assert_eq!(read.decide(Identity::Policies(&mine), &[&grant]), Allow);
    assert_eq!(read.decide(Identity::Policies(&mine), &[]), NoResourceAllow);
    let none: [Policy; 0] = [];
    assert_eq!(
        read.decide(Identity::Policies(&none), &[&grant]),
        NoIdentityAllow
    );
    // Trusted identities (no policies configured) get what the resource grants.
    assert_eq!(read.decide(Identity::Trusted, &[&grant]), Allow);
}

#[test]
fn an_explicit_deny_in_either_resource_policy_wins() {
    let domain_allows = resource_policy(
        r#"{"Effect":"Allow","Principal":"*","Action":"codeartifact:*","Resource":"*"}"#,
    );
    let repo_denies = resource_policy(
        r#"{"Effect":"Deny","Principal":"*","Action":"codeartifact:DeleteRepository","Resource":"*"}"#,
    );
    let delete = ask(ALICE, "codeartifact:DeleteRepository");
    assert_eq!(
        delete.decide(Identity::Trusted, &[&domain_allows, &repo_denies]),
        ExplicitDeny { identity: false }
    );
    assert_eq!(
        delete.decide(Identity::Trusted, &[&repo_denies, &domain_allows]),
        ExplicitDeny { identity: false }
    );
    let denied = [identity_policy(
        r#"{"Effect":"Deny","NotAction":"codeartifact:Describe*","Resource":"*"}"#,
    )];
    assert_eq!(
        delete.decide(Identity::Policies(&denied), &[&domain_allows]),
        ExplicitDeny { identity: true }
    );
}

#[test]
fn not_principal_and_role_sessions() {
    let policy = resource_policy(
        r#"{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:role/admin"},"Action":"codeartifact:Delete*","Resource":"*"},
           {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:role/ci/builder"},"Action":"codeartifact:ReadFromRepository"}"#,
    );
    assert_eq!(
        ask(ALICE, "codeartifact:DeletePackage").decide(Identity::Trusted, &[&policy]),
        ExplicitDeny { identity: false }
    );
    let admin = "arn:aws:iam::111122223333:role/admin";
    assert_eq!(
        ask(admin, "codeartifact:DeletePackage").decide(Identity::Trusted, &[&policy]),
        Allow
    );
    let session = "arn:aws:sts::444455556666:assumed-role/builder/run-42";
    assert_eq!(
        ask(session, "codeartifact:ReadFromRepository").decide(Identity::Trusted, &[&policy]),
        Allow
    );
    let other = "arn:aws:sts::444455556666:assumed-role/deployer/run-42";
    assert_eq!(
        ask(other, "codeartifact:ReadFromRepository").decide(Identity::Trusted, &[&policy]),
        NoResourceAllow
    );
}

#[test]
fn resources_match_like_iam() {
    let one_package = resource_policy(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"444455556666"}},"Action":"codeartifact:PublishPackageVersion","Resource":"{PKG}"}}"#
    ));
    let publish = ask(BOB, "codeartifact:PublishPackageVersion");
    assert_eq!(
        publish.on(PKG).decide(Identity::Trusted, &[&one_package]),
        Allow
    );
    let other = "arn:aws:codeartifact:us-east-1:111122223333:package/acme/team/npm//right-pad";
    assert_eq!(
        ask(BOB, "codeartifact:PublishPackageVersion")
            .on(other)
            .decide(Identity::Trusted, &[&one_package]),
        NoResourceAllow
    );
    assert!(arn_glob(
        "arn:aws:codeartifact:*:111122223333:package/acme/*",
        PKG
    ));
    assert!(!arn_glob(
        "arn:aws:codeartifact:*:999999999999:package/acme/*",
        PKG
    ));
    // `:` and `/` are different characters; a region wildcard does not cross `:`.
    assert!(!arn_glob("arn:aws:codeartifact:*:package/acme/*", PKG));
    assert!(glob(
        "codeartifact:get*",
        "codeartifact:getauthorizationtoken"
    ));
    assert!(!glob(
        "codeartifact:get*",
        "codeartifact:readfromrepository"
    ));
    assert!(glob(
        "codeartifact:?escribe*",
        "codeartifact:describedomain"
    ));
}

#[test]
fn tag_conditions_read_resource_and_request_tags() {
    let prod_locked = resource_policy(
        r#"{"Effect":"Deny","Principal":"*","Action":"codeartifact:DeleteRepository","Resource":"*",
            "Condition":{"StringEquals":{"aws:ResourceTag/env":"prod"}}}"#,
    );
    let mut delete = ask(ALICE, "codeartifact:DeleteRepository");
    assert_eq!(delete.decide(Identity::Trusted, &[&prod_locked]), Allow);
    delete.tags = vec![("env".into(), "prod".into())];
    assert_eq!(
        delete.decide(Identity::Trusted, &[&prod_locked]),
        ExplicitDeny { identity: false }
    );

    // The service's own example: creating without an allowed cost centre is denied, because
    // a negated operator holds when the key is missing.
    let cost = [identity_policy(
        r#"{"Effect":"Allow","Action":"codeartifact:*","Resource":"*"},
           {"Effect":"Deny","Action":"codeartifact:CreateRepository","Resource":"*",
            "Condition":{"StringNotEquals":{"aws:RequestTag/costcenter":["1","2"]}}}"#,
    )];
    let mut create = ask(ALICE, "codeartifact:CreateRepository");
    assert_eq!(
        create.decide(Identity::Policies(&cost), &[]),
        ExplicitDeny { identity: true }
    );
    create.request_tags = Some(vec![("costcenter".into(), "2".into())]);
    assert_eq!(create.decide(Identity::Policies(&cost), &[]), Allow);
    create.request_tags = Some(vec![("costcenter".into(), "3".into())]);
    assert_eq!(
        create.decide(Identity::Policies(&cost), &[]),
        ExplicitDeny { identity: true }
    );

    let only_team = [identity_policy(
        r#"{"Effect":"Allow","Action":"codeartifact:TagResource","Resource":"*",
            "Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["team","env"]}}}"#,
    )];
    let mut tag = ask(ALICE, "codeartifact:TagResource");
    tag.request_tags = Some(vec![
        ("team".into(), "a".into()),
        ("env".into(), "b".into()),
    ]);
    assert_eq!(tag.decide(Identity::Policies(&only_team), &[]), Allow);
    tag.request_tags = Some(vec![
        ("team".into(), "a".into()),
        ("owner".into(), "b".into()),
    ]);
    assert_eq!(
        tag.decide(Identity::Policies(&only_team), &[]),
        NoIdentityAllow
    );
}

#[test]
fn every_operator_family() {
    let check = |condition: &str, a: &Ask<'_>| {
        let p = [identity_policy(&format!(
            r#"{{"Effect":"Allow","Action":"*","Resource":"*","Condition":{condition}}}"#
        ))];
        a.decide(Identity::Policies(&p), &[]) == Allow
    };
    let mut a = ask(ALICE, "sts:GetServiceBearerToken");
    a.extra = vec![
        ("sts:durationseconds", "3600".to_string()),
        (
            "sts:awsservicename",
            "codeartifact.amazonaws.com".to_string(),
        ),
    ];
    a.ip = Some("10.1.2.3".parse().expect("ip"));
    assert!(check(
        r#"{"NumericLessThanEquals":{"sts:DurationSeconds":3600}}"#,
        &a
    ));
    assert!(!check(
        r#"{"NumericLessThan":{"sts:DurationSeconds":"3600"}}"#,
        &a
    ));
    assert!(check(
        r#"{"StringEquals":{"sts:AWSServiceName":"codeartifact.amazonaws.com"}}"#,
        &a
    ));
    assert!(check(
        r#"{"StringEqualsIgnoreCase":{"aws:PrincipalArn":"ARN:AWS:IAM::111122223333:USER/ALICE"}}"#,
        &a
    ));
    assert!(check(
        r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/*"}}"#,
        &a
    ));
    assert!(!check(
        r#"{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/a*"}}"#,
        &a
    ));
    assert!(check(
        r#"{"StringEquals":{"aws:PrincipalOrgID":"o-exampleorg","aws:PrincipalAccount":"111122223333"}}"#,
        &a
    ));
    assert!(check(
        r#"{"StringEquals":{"aws:username":"alice","aws:PrincipalType":"User"}}"#,
        &a
    ));
    assert!(check(
        r#"{"DateGreaterThan":{"aws:CurrentTime":"2025-12-31T00:00:00Z"}}"#,
        &a
    ));
    assert!(!check(
        r#"{"DateLessThan":{"aws:CurrentTime":"2025-12-31"}}"#,
        &a
    ));
    assert!(check(
        r#"{"NumericGreaterThan":{"aws:EpochTime":1700000000}}"#,
        &a
    ));
    assert!(check(r#"{"Bool":{"aws:SecureTransport":"false"}}"#, &a));
    assert!(check(
        r#"{"IpAddress":{"aws:SourceIp":["10.0.0.0/8"]}}"#,
        &a
    ));
    assert!(!check(
        r#"{"NotIpAddress":{"aws:SourceIp":"10.1.0.0/16"}}"#,
        &a
    ));
    assert!(check(
        r#"{"Null":{"aws:RequestTag/x":"true","aws:PrincipalArn":"false"}}"#,
        &a
    ));
    assert!(check(
        r#"{"StringEqualsIfExists":{"aws:RequestTag/x":"y"}}"#,
        &a
    ));
    assert!(!check(r#"{"StringEquals":{"aws:RequestTag/x":"y"}}"#, &a));
    assert!(!check(
        r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":"y"}}"#,
        &a
    ));
    assert!(check(
        r#"{"ForAllValues:StringEquals":{"aws:TagKeys":"y"}}"#,
        &a
    ));
    assert!(check(
        r#"{"StringLike":{"aws:RequestedRegion":"us-*"}}"#,
        &a
    ));
    assert!(check(
        r#"{"StringNotEquals":{"aws:ResourceAccount":["1","2"]}}"#,
        &a
    ));
}

#[test]
fn messages_follow_the_service() {
    let m = denial_message(
        BOB,
        "codeartifact:ReadFromRepository",
        REPO,
        NoResourceAllow,
    );
    assert_eq!(
        m,
        "User: arn:aws:iam::444455556666:user/bob is not authorized to perform: \
         codeartifact:ReadFromRepository on resource: \
         arn:aws:codeartifact:us-east-1:111122223333:repository/acme/team because no \
         resource-based policy allows the codeartifact:ReadFromRepository action"
    );
    assert!(
        denial_message(BOB, "a:b", REPO, ExplicitDeny { identity: true })
            .ends_with("with an explicit deny in an identity-based policy")
    );
    assert!(denial_message(BOB, "a:b", REPO, NoIdentityAllow)
        .ends_with("because no identity-based policy allows the a:b action"));
}

#[test]
fn a_stored_policy_that_no_longer_parses_denies_everything() {
    let broken = Policy::deny_all();
    assert_eq!(
        ask(ALICE, "codeartifact:DescribeDomain").decide(Identity::Trusted, &[&broken]),
        ExplicitDeny { identity: false }
    );
}
