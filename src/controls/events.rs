//! `GET /_codeartifact/events`: the event stream, as long-poll JSON or, when the client
//! accepts `text/event-stream`, as Server-Sent Events.
//!
//! Query: `after` (a cursor from an earlier answer, or `now`; without it, from the oldest
//! event kept), `wait` (long poll: seconds to wait for a match, 0–60, default 0), `limit`
//! (1–1000, default 100) and the filters `domain`, `domainOwner`, `repository`, `format`,
//! `namespace`, `package`, `version`, `operation` (`Created`, `Updated`, `Deleted`).
//! A cursor that was never handed out, or that fell out of the kept window, is a 400.

use super::invalid;
use crate::events::stream::{Filter, Stream};
use crate::state::App;
use crate::wire::{decode_query, full, Body};
use bytes::Bytes;
use codeartifact_model::PackageFormat;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::BodyExt as _;
use std::sync::Arc;
use std::time::Duration;

/// Longest long poll.
const MAX_WAIT_SECONDS: u64 = 60;
const MAX_LIMIT: usize = 1000;
/// Events scanned per read before the ring's lock is let go.
const SCAN: usize = 4096;
/// An SSE comment is sent this often on a quiet stream, so idle timeouts do not close it.
const KEEP_ALIVE: Duration = Duration::from_secs(10);

/// A parsed request.
struct Query {
    after: Option<u64>,
    wait: Duration,
    limit: usize,
    filter: Filter,
}

fn parse(stream: &Stream, query: &str, last_event_id: Option<&str>) -> Result<Query, String> {
    let mut parsed = Query {
        after: None,
        wait: Duration::ZERO,
        limit: 100,
        filter: Filter::default(),
    };
    let mut seen = std::collections::HashSet::new();
    let mut after = last_event_id.map(str::to_string);
    for (name, value) in decode_query(query) {
        if !seen.insert(name.clone()) {
            return Err(format!("`{name}` is given more than once"));
        }
        let f = &mut parsed.filter;
        match name.as_str() {
            "after" => after = Some(value),
            "wait" => {
                let seconds: f64 = value
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite())
                    .ok_or_else(|| format!("`wait` must be a number of seconds, not `{value}`"))?;
                if !(0.0..=MAX_WAIT_SECONDS as f64).contains(&seconds) {
                    return Err(format!(
                        "`wait` must be between 0 and {MAX_WAIT_SECONDS} seconds, got {value}"
                    ));
                }
                parsed.wait = Duration::from_secs_f64(seconds);
            }
            "limit" => {
                parsed.limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        format!("`limit` must be from 1 to {MAX_LIMIT}, not `{value}`")
                    })?;
            }
            "domain" => f.domain = Some(value),
            "domainOwner" => f.domain_owner = Some(value),
            "repository" => f.repository = Some(value),
            "format" => {
                if !PackageFormat::ALL.iter().any(|p| p.as_str() == value) {
                    return Err(format!(
                        "Unknown format `{value}`; one of {}",
                        PackageFormat::ALL
                            .iter()
                            .map(|p| p.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                f.format = Some(value);
            }
            "namespace" => f.namespace = Some(value),
            "package" => f.package = Some(value),
            "version" => f.version = Some(value),
            "operation" => {
                if !matches!(value.as_str(), "Created" | "Updated" | "Deleted") {
                    return Err(format!(
                        "Unknown operation `{value}`; one of Created, Updated, Deleted"
                    ));
                }
                f.operation = Some(value);
            }
            other => {
                return Err(format!(
                    "Unknown parameter `{other}`; known: after, wait, limit, domain, domainOwner, \
                     repository, format, namespace, package, version, operation"
                ))
            }
        }
    }
    parsed.after = match after.as_deref() {
        None => None,
        Some("now") => Some(stream.end()),
        Some(cursor) => {
            let position: u64 = cursor
                .parse()
                .map_err(|_| format!("The cursor `{cursor}` does not exist"))?;
            stream.check(position).map_err(|e| e.to_string())?;
            Some(position)
        }
    };
    Ok(parsed)
}

/// Serves the stream in the form the client asked for.
pub async fn serve(app: &App, parts: &http::request::Parts) -> Response<Body> {
    let Some(stream) = &app.stream else {
        return invalid("The event stream is off");
    };
    let sse = parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    let last_event_id = parts
        .headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .filter(|_| sse);
    let query = match parse(stream, parts.uri.query().unwrap_or(""), last_event_id) {
        Ok(query) => query,
        Err(message) => return invalid(message),
    };
    let start = query.after.unwrap_or_else(|| stream.start());
    if sse {
        return server_sent_events(Arc::clone(stream), start, query.filter);
    }
    long_poll(stream, start, &query).await
}

async fn long_poll(stream: &Stream, start: u64, query: &Query) -> Response<Body> {
    let deadline = tokio::time::Instant::now() + query.wait;
    let mut position = start;
    let (items, next) = loop {
        let batch = match stream.read(position, &query.filter, query.limit, SCAN) {
            Ok(batch) => batch,
            Err(e) => return invalid(e.to_string()),
        };
        position = batch.next;
        if !batch.items.is_empty() {
            break (batch.items, position);
        }
        if position < stream.end() {
            continue;
        }
        let waited = tokio::time::timeout_at(deadline, stream.wait_beyond(position)).await;
        if !matches!(waited, Ok(true)) {
            break (Vec::new(), position);
        }
    };
    let mut body = Vec::with_capacity(64 + items.iter().map(|i| i.json.len() + 1).sum::<usize>());
    body.extend_from_slice(b"{\"events\":[");
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            body.push(b',');
        }
        body.extend_from_slice(&item.json);
    }
    body.extend_from_slice(format!("],\"cursor\":\"{next}\"}}").as_bytes());
    let mut response = Response::new(full(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The SSE state: where the reader is, and whether the stream has ended.
struct Reader {
    stream: Arc<Stream>,
    position: u64,
    filter: Filter,
    first: bool,
    done: bool,
}

impl Reader {
    /// The next chunk to send; `None` when the stream ends. Holds one chunk at a time, and
    /// is polled only as the socket takes bytes, so a slow reader costs no memory here.
    async fn next_chunk(&mut self) -> Option<Bytes> {
        if self.first {
            self.first = false;
            return Some(Bytes::from(format!(
                "retry: 1000\n: subscribed at cursor {}\n\n",
                self.position
            )));
        }
        loop {
            if self.done || self.stream.is_closed() {
                return None;
            }
            let batch = match self.stream.read(self.position, &self.filter, 64, SCAN) {
                Ok(batch) => batch,
                Err(e) => {
                    self.done = true;
                    let data = serde_json::json!({
                        "__type": "ValidationException",
                        "message": e.to_string(),
                    });
                    return Some(Bytes::from(format!("event: error\ndata: {data}\n\n")));
                }
            };
            self.position = batch.next;
            if !batch.items.is_empty() {
                let mut chunk = Vec::new();
                for item in &batch.items {
                    chunk.extend_from_slice(format!("id: {}\ndata: ", item.number + 1).as_bytes());
                    chunk.extend_from_slice(&item.json);
                    chunk.extend_from_slice(b"\n\n");
                }
                return Some(Bytes::from(chunk));
            }
            if self.position < self.stream.end() {
                continue;
            }
            match tokio::time::timeout(KEEP_ALIVE, self.stream.wait_beyond(self.position)).await {
                Ok(true) => continue,
                Ok(false) => return None,
                Err(_) => return Some(Bytes::from_static(b": keep-alive\n\n")),
            }
        }
    }
}

fn server_sent_events(stream: Arc<Stream>, start: u64, filter: Filter) -> Response<Body> {
    let reader = Reader {
        stream,
        position: start,
        filter,
        first: true,
        done: false,
    };
    let chunks = futures_util::stream::unfold(reader, |mut reader| async move {
        let chunk = reader.next_chunk().await?;
        Some((
            Ok::<_, std::io::Error>(http_body::Frame::data(chunk)),
            reader,
        ))
    });
    let body = http_body_util::StreamBody::new(chunks).boxed();
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
