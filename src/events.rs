//! EventBridge events for package version changes (events spec). The registry describes
//! every committed version change as a `VersionChangeEvent`; this module addresses it to its
//! recipients, wraps it in the envelope the service sends to each recipient account and
//! delivers it to the sinks the user configured: a JSON-lines file, and an
//! EventBridge-compatible endpoint (`PutEvents` on the `default` bus of each recipient
//! account). `Deliverer` is the registry's `ChangeSink`.
//!
//! The registry writes each change to an outbox in the same batch as the change, and a
//! thread of its own hands the outbox to `Deliverer` in commit order: a slow or failing
//! sink never delays or fails the request that made the change, and a crash between a
//! commit and its delivery only delays the event to the next start (the service's events
//! are asynchronous and at-least-once too).

pub mod stream;

use crate::auth::Identities;
use crate::registry::{Arn, ChangeSink, DomainId, VersionChangeEvent};
use bytes::Bytes;
use http::{header, Request, Uri};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

pub const SOURCE: &str = "aws.codeartifact";
pub const DETAIL_TYPE: &str = "CodeArtifact Package Version State Change";
/// PutEvents takes at most this many entries per call.
const PUT_EVENTS_ENTRIES: usize = 10;

/// One package version change, addressed to its recipients.
#[derive(Debug, Clone)]
pub struct PackageEvent {
    /// When the change committed (milliseconds since the epoch).
    pub time_ms: i64,
    /// The domain's region.
    pub region: String,
    /// The package's ARN (always in the domain owner's account).
    pub resource: String,
    pub detail: Value,
    /// The domain owner, and the repository administrator when that is another account:
    /// each gets its own copy, identical but for `account` and `id`.
    pub recipients: Vec<String>,
}

impl PackageEvent {
    /// The event of a committed change: its `detail`, and its recipients — the domain owner,
    /// and the repository administrator when that is another account.
    pub fn of(change: &VersionChangeEvent) -> PackageEvent {
        let domain = DomainId {
            region: &change.region,
            owner: &change.domain_owner,
            name: &change.domain,
        };
        let mut recipients = vec![change.domain_owner.clone()];
        if change.repository_administrator != change.domain_owner {
            recipients.push(change.repository_administrator.clone());
        }
        PackageEvent {
            time_ms: change.time_ms,
            region: change.region.clone(),
            resource: Arn::package(
                domain,
                &change.repository,
                &change.format,
                change.namespace.as_deref(),
                &change.package,
            ),
            detail: json!({
                "domainName": change.domain,
                "domainOwner": change.domain_owner,
                "repositoryName": change.repository,
                "repositoryAdministrator": change.repository_administrator,
                "packageFormat": change.format,
                "packageNamespace": change.namespace,
                "packageName": change.package,
                "packageVersion": change.version,
                "packageVersionState": change.state,
                "packageVersionRevision": change.revision,
                "changes": {
                    "assetsAdded": change.assets_added,
                    "assetsRemoved": change.assets_removed,
                    "assetsUpdated": change.assets_updated,
                    "metadataUpdated": change.metadata_updated,
                    "statusChanged": change.status_changed,
                },
                "operationType": change.operation.as_str(),
                "sequenceNumber": change.sequence_number,
                "eventDeduplicationId": change.deduplication_id,
            }),
            recipients,
        }
    }

    /// The event as EventBridge delivers it to `account`.
    pub fn envelope(&self, account: &str) -> Value {
        json!({
            "version": "0",
            "id": uuid::Uuid::new_v4().to_string(),
            "detail-type": DETAIL_TYPE,
            "source": SOURCE,
            "account": account,
            "time": rfc3339_seconds(self.time_ms),
            "region": self.region,
            "resources": [self.resource],
            "detail": self.detail,
        })
    }
}

fn rfc3339_seconds(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

impl ChangeSink for Deliverer {
    fn deliver(&mut self, changes: &[VersionChangeEvent]) {
        if let Some(stream) = &self.stream {
            stream.push(changes);
        }
        if self.file.is_none() && self.endpoint.is_none() {
            return;
        }
        let events: Vec<PackageEvent> = changes.iter().map(PackageEvent::of).collect();
        self.send(&events);
    }
}

/// Where events go; nothing is built when neither is set.
#[derive(Debug, Clone, Default)]
pub struct Sinks {
    /// Appends one JSON envelope per line.
    pub file: Option<PathBuf>,
    /// An EventBridge-compatible endpoint (`http://…`), sent `PutEvents`.
    pub endpoint: Option<String>,
    /// The event stream of the admin routes.
    pub stream: Option<std::sync::Arc<stream::Stream>>,
}

/// Delivers events to the configured sinks. The registry drives it from its outbox, so
/// events survive a crash between their commit and their delivery.
pub struct Deliverer {
    file: Option<std::fs::File>,
    endpoint: Option<PutEvents>,
    stream: Option<std::sync::Arc<stream::Stream>>,
}

impl Deliverer {
    /// Opens the configured sinks; `None` when there are none. PutEvents calls are signed
    /// as the recipient account's configured identity, when it has one.
    pub fn open(
        sinks: Sinks,
        identities: Identities,
        runtime: tokio::runtime::Handle,
    ) -> Result<Option<Deliverer>, String> {
        if sinks.file.is_none() && sinks.endpoint.is_none() && sinks.stream.is_none() {
            return Ok(None);
        }
        let file = match &sinks.file {
            Some(path) => Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| format!("cannot open the events file {}: {e}", path.display()))?,
            ),
            None => None,
        };
        let endpoint = match &sinks.endpoint {
            Some(url) => Some(PutEvents::new(url, identities, runtime)?),
            None => None,
        };
        Ok(Some(Deliverer {
            file,
            endpoint,
            stream: sinks.stream,
        }))
    }

    /// Sends one copy of each event to each of its recipients, through every sink. Failures
    /// are logged: a sink that is down loses what it missed, never the request.
    pub fn send(&mut self, batch: &[PackageEvent]) {
        let copies: Vec<(String, &PackageEvent, Value)> = batch
            .iter()
            .flat_map(|event| {
                event
                    .recipients
                    .iter()
                    .map(move |account| (account.clone(), event, event.envelope(account)))
            })
            .collect();
        if let Some(out) = &mut self.file {
            let mut lines = Vec::new();
            for (_, _, envelope) in &copies {
                lines.extend_from_slice(envelope.to_string().as_bytes());
                lines.push(b'\n');
            }
            if let Err(e) = out.write_all(&lines).and_then(|()| out.flush()) {
                tracing::warn!(error = %e, "cannot write events to the events file");
            }
        }
        if let Some(endpoint) = &self.endpoint {
            endpoint.send(&copies);
        }
    }
}

/// EventBridge's `PutEvents`, one call per recipient account and at most ten entries each.
struct PutEvents {
    uri: Uri,
    host: String,
    client: Client<HttpConnector, Full<Bytes>>,
    identities: Identities,
    runtime: tokio::runtime::Handle,
}

impl PutEvents {
    fn new(
        url: &str,
        identities: Identities,
        runtime: tokio::runtime::Handle,
    ) -> Result<Self, String> {
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("invalid events endpoint {url}: {e}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!(
                "the events endpoint must be an http:// URL, not {url}"
            ));
        }
        let host = uri
            .authority()
            .map(|a| a.to_string())
            .ok_or_else(|| format!("the events endpoint {url} has no host"))?;
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        Ok(PutEvents {
            uri,
            host,
            client: Client::builder(TokioExecutor::new()).build(connector),
            identities,
            runtime,
        })
    }

    fn send(&self, copies: &[(String, &PackageEvent, Value)]) {
        let mut accounts: Vec<&str> = copies.iter().map(|(a, _, _)| a.as_str()).collect();
        accounts.sort_unstable();
        accounts.dedup();
        for account in accounts {
            let entries: Vec<Value> = copies
                .iter()
                .filter(|(a, _, _)| a == account)
                .map(|(_, event, envelope)| {
                    json!({
                        "Source": SOURCE,
                        "DetailType": DETAIL_TYPE,
                        "Detail": envelope["detail"].to_string(),
                        "Resources": [event.resource],
                        "Time": event.time_ms / 1000,
                        "EventBusName": "default",
                    })
                })
                .collect();
            let region = copies
                .iter()
                .find(|(a, _, _)| a == account)
                .map_or("us-east-1", |(_, e, _)| e.region.as_str());
            for chunk in entries.chunks(PUT_EVENTS_ENTRIES) {
                let body = json!({ "Entries": chunk }).to_string();
                if let Err(why) = self.call(account, region, body) {
                    tracing::warn!(account, why, "PutEvents failed; events dropped");
                }
            }
        }
    }

    fn call(&self, account: &str, region: &str, body: String) -> Result<(), String> {
        let mut request = Request::post(self.uri.clone())
            .header(header::HOST, &self.host)
            .header(header::CONTENT_TYPE, "application/x-amz-json-1.1")
            .header("x-amz-target", "AWSEvents.PutEvents")
            .body(Full::new(Bytes::from(body.clone())))
            .map_err(|e| e.to_string())?;
        if let Some(identity) = self.identities.iter().find(|i| i.account_id == account) {
            sign(&mut request, identity, region, "events", body.as_bytes())?;
        }
        let client = self.client.clone();
        self.runtime.block_on(async move {
            let work = async {
                let response = client.request(request).await.map_err(|e| e.to_string())?;
                let status = response.status();
                let body = response
                    .into_body()
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                if !status.is_success() {
                    return Err(format!(
                        "answered {status}: {}",
                        String::from_utf8_lossy(&body)
                    ));
                }
                let failed = serde_json::from_slice::<Value>(&body)
                    .ok()
                    .and_then(|v| v.get("FailedEntryCount").and_then(Value::as_u64))
                    .unwrap_or(0);
                if failed > 0 {
                    return Err(format!("{failed} entries were refused"));
                }
                Ok(())
            };
            tokio::time::timeout(Duration::from_secs(10), work)
                .await
                .map_err(|_| "timed out".to_string())?
        })
    }
}

/// SigV4-signs a request to an AWS service (`events` for PutEvents; `codeartifact` for the
/// seed applier's in-process control-plane calls) as `identity`. The payload hash is sent
/// in `x-amz-content-sha256`, as the AWS CLI does for CodeArtifact.
pub fn sign(
    request: &mut Request<Full<Bytes>>,
    identity: &crate::auth::Identity,
    region: &str,
    service: &str,
    body: &[u8],
) -> Result<(), String> {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    use aws_sigv4::sign::v4;
    let credentials = aws_credential_types::Credentials::new(
        &identity.access_key_id,
        &identity.secret_access_key,
        identity.session_token.clone(),
        None,
        "codeartifact-local",
    );
    let identity = credentials.into();
    let mut settings = SigningSettings::default();
    if service != "events" {
        settings.payload_checksum_kind = aws_sigv4::http_request::PayloadChecksumKind::XAmzSha256;
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let uri = request.uri().to_string();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let method = request.method().as_str().to_string();
    let signable = SignableRequest::new(
        &method,
        &uri,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    instructions.apply_to_request_http1x(request);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::VersionOperation;

    /// A sample change (also used by `stream`'s tests).
    pub(super) fn change(namespace: Option<&str>, administrator: &str) -> VersionChangeEvent {
        VersionChangeEvent {
            time_ms: 1_700_000_000_123,
            region: "us-west-2".into(),
            domain: "acme".into(),
            domain_owner: "111122223333".into(),
            repository: "team".into(),
            repository_administrator: administrator.into(),
            format: "npm".into(),
            namespace: namespace.map(str::to_string),
            package: "left-pad".into(),
            version: "1.3.0".into(),
            state: "Published".into(),
            revision: "rev=".into(),
            operation: VersionOperation::Created,
            assets_added: 1,
            assets_removed: 0,
            assets_updated: 0,
            metadata_updated: true,
            status_changed: true,
            sequence_number: 7,
            deduplication_id: "dedup=".into(),
            cursor: 7,
        }
    }

    #[test]
    fn a_change_becomes_the_services_event_detail() {
        let event = PackageEvent::of(&change(None, "111122223333"));
        assert_eq!(
            event.detail.to_string(),
            r#"{"changes":{"assetsAdded":1,"assetsRemoved":0,"assetsUpdated":0,"metadataUpdated":true,"statusChanged":true},"domainName":"acme","domainOwner":"111122223333","eventDeduplicationId":"dedup=","operationType":"Created","packageFormat":"npm","packageName":"left-pad","packageNamespace":null,"packageVersion":"1.3.0","packageVersionRevision":"rev=","packageVersionState":"Published","repositoryAdministrator":"111122223333","repositoryName":"team","sequenceNumber":7}"#
        );
        assert_eq!(
            event.resource,
            "arn:aws:codeartifact:us-west-2:111122223333:package/acme/team/npm//left-pad"
        );
        assert_eq!(event.recipients, ["111122223333"]);
        let envelope = event.envelope("111122223333");
        assert_eq!(envelope["time"], "2023-11-14T22:13:20Z");
        assert_eq!(envelope["detail-type"], DETAIL_TYPE);
    }

    #[test]
    fn another_administrator_gets_a_copy_and_namespaces_are_named() {
        let event = PackageEvent::of(&change(Some("@types"), "444455556666"));
        assert_eq!(event.recipients, ["111122223333", "444455556666"]);
        assert_eq!(event.detail["packageNamespace"], "@types");
        assert!(event
            .resource
            .ends_with("package/acme/team/npm/@types/left-pad"));
    }
}
