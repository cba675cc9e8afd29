//! HTTP plumbing every layer may use: the body types, response builders, the one bounded
//! request-body reader, file streaming with byte ranges, and query decoding.
//!
//! A leaf: it imports nothing from the crate, knows no protocol's error shape and no state.

use bytes::Bytes;
use futures_util::TryStreamExt;
use http::{header, HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// Response bodies: whole buffers, or streams for large downloads.
pub type Body = BoxBody<Bytes, std::io::Error>;

/// Errors a request body may end with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Request bodies as every handler sees them, whatever the connection delivered.
pub type RequestBody = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;

/// Boxes any request body into a [`RequestBody`] that fails with [`Stalled`] when no byte
/// of it arrives for `progress_timeout` (a client that declares a length and stops, or
/// trickles nothing, cannot hold a handler forever), and with [`TooSlow`] when, once it
/// has been waited for longer than `progress_timeout`, it has averaged less than
/// `min_rate` bytes per second of waiting (a byte dripped just inside each timeout cannot
/// hold it either). A `min_rate` of 0 sets no minimum.
pub fn boxed_request<B>(
    request: Request<B>,
    progress_timeout: Duration,
    min_rate: u64,
) -> Request<RequestBody>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    request.map(|body| {
        Progress {
            inner: body.map_err(Into::into).boxed_unsync(),
            timeout: progress_timeout,
            min_rate,
            deadline: Box::pin(tokio::time::sleep(progress_timeout)),
            waiting: None,
            waited: Duration::ZERO,
            received: 0,
        }
        .boxed_unsync()
    })
}

/// The error a request body ends with when it made no progress for its timeout.
#[derive(Debug)]
pub struct Stalled(pub Duration);

impl std::fmt::Display for Stalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no data was received for {} seconds",
            self.0.as_secs_f64()
        )
    }
}

impl std::error::Error for Stalled {}

/// The error a request body ends with when it arrives slower than the minimum rate.
#[derive(Debug)]
pub struct TooSlow {
    pub received: u64,
    pub waited: Duration,
    pub min_rate: u64,
}

impl std::fmt::Display for TooSlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} bytes were received in {:.1} seconds, below the minimum rate of {} bytes per second",
            self.received,
            self.waited.as_secs_f64(),
            self.min_rate
        )
    }
}

impl std::error::Error for TooSlow {}

/// Whether a body error (or any error in its source chain) is [`Stalled`] or [`TooSlow`].
pub fn is_stalled(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if e.is::<Stalled>() || e.is::<TooSlow>() {
            return true;
        }
        current = e.source();
    }
    false
}

/// A body whose every frame must arrive within `timeout` of being asked for, and which
/// must average `min_rate` bytes per second of waiting once it has been waited for longer
/// than `timeout`. Time the handler spends elsewhere (waiting for the write lock, writing
/// a batch) does not count.
struct Progress {
    inner: RequestBody,
    timeout: Duration,
    min_rate: u64,
    deadline: Pin<Box<tokio::time::Sleep>>,
    /// When the frame asked for and not yet delivered was asked for (the deadline is armed).
    waiting: Option<tokio::time::Instant>,
    /// Time spent waiting for the frames delivered so far.
    waited: Duration,
    /// Bytes delivered so far.
    received: u64,
}

impl Progress {
    /// The total waiting time at which the body falls below the minimum rate.
    fn rate_limit(&self) -> Option<Duration> {
        if self.min_rate == 0 {
            return None;
        }
        let earned = Duration::from_secs_f64(self.received as f64 / self.min_rate as f64);
        Some(earned.max(self.timeout))
    }
}

impl http_body::Body for Progress {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        let asked = match this.waiting {
            Some(asked) => asked,
            None => {
                let now = tokio::time::Instant::now();
                this.waiting = Some(now);
                let mut deadline = now + this.timeout;
                if let Some(limit) = this.rate_limit() {
                    deadline = deadline.min(now + limit.saturating_sub(this.waited));
                }
                this.deadline.as_mut().reset(deadline);
                now
            }
        };
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.waiting = None;
                this.waited += asked.elapsed();
                if let Some(data) = frame
                    .as_ref()
                    .and_then(|f| f.as_ref().ok())
                    .and_then(Frame::data_ref)
                {
                    this.received += data.len() as u64;
                }
                Poll::Ready(frame)
            }
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) if asked.elapsed() >= this.timeout => {
                    Poll::Ready(Some(Err(Box::new(Stalled(this.timeout)))))
                }
                Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(TooSlow {
                    received: this.received,
                    waited: this.waited + asked.elapsed(),
                    min_rate: this.min_rate,
                })))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A request body as a plain stream of byte chunks, what the blob store takes.
pub fn byte_stream(
    body: RequestBody,
) -> impl futures_util::Stream<Item = Result<Bytes, BodyError>> + Unpin + Send {
    http_body_util::BodyDataStream::new(body).map_err(|e| BodyError::from_body(e.as_ref()))
}

/// A whole in-memory body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// A JSON response with the given status.
pub fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Body> {
    let mut response = Response::new(full(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// An AWS-shaped error: status, `x-amzn-errortype`, JSON body with `__type` and `message`.
pub fn error_response(
    status: StatusCode,
    error_type: &'static str,
    body: serde_json::Value,
    extra: &[(header::HeaderName, HeaderValue)],
) -> Response<Body> {
    let mut response = json_response(status, &body);
    let headers: &mut HeaderMap = response.headers_mut();
    headers.insert("x-amzn-errortype", HeaderValue::from_static(error_type));
    for (name, value) in extra {
        headers.append(name.clone(), value.clone());
    }
    response
}

/// An AWS error whose body is only `__type` and `message`, with `x-amzn-errortype`.
pub fn aws_error(
    status: StatusCode,
    error_type: &'static str,
    message: impl Into<String>,
) -> Response<Body> {
    let body = serde_json::json!({ "__type": error_type, "message": message.into() });
    error_response(status, error_type, body, &[])
}

/// A plain-text response.
pub fn text(status: StatusCode, message: impl Into<String>) -> Response<Body> {
    let mut response = Response::new(full(message.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// A request header as text, when present and readable.
pub fn header_text<B>(request: &Request<B>, name: header::HeaderName) -> Option<String> {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The boundary of a `multipart/form-data` request; `None` when it is not one.
pub fn multipart_boundary<B>(request: &Request<B>) -> Option<String> {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| multer::parse_boundary(ct).ok())
}

/// Why a request body could not be read into memory.
#[derive(Debug)]
pub enum BodyError {
    /// Longer than the limit.
    TooLarge(usize),
    /// The client's body ended early or broke.
    Broken(String),
    /// No byte arrived for the body-progress timeout.
    Stalled(String),
}

impl BodyError {
    /// Classifies an error the request body ended with.
    pub fn from_body(error: &(dyn std::error::Error + Send + Sync + 'static)) -> BodyError {
        if is_stalled(error) {
            BodyError::Stalled(error.to_string())
        } else {
            BodyError::Broken(error.to_string())
        }
    }
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::TooLarge(limit) => {
                write!(
                    f,
                    "The request body is larger than the limit of {limit} bytes"
                )
            }
            BodyError::Broken(why) => write!(f, "The request body ended early: {why}"),
            BodyError::Stalled(why) => write!(f, "The request body stalled: {why}"),
        }
    }
}

/// The one way a request body is read whole into memory: at most `limit` bytes, refused as
/// soon as it grows past them (a declared `Content-Length` over the limit is refused before
/// a byte is read).
pub async fn read_body(request: Request<RequestBody>, limit: usize) -> Result<Bytes, BodyError> {
    let (parts, body) = request.into_parts();
    read_body_with(&parts.headers, body, limit).await
}

/// [`read_body`] for a body already taken from its request, with the request's headers.
pub async fn read_body_with(
    headers: &HeaderMap,
    body: RequestBody,
    limit: usize,
) -> Result<Bytes, BodyError> {
    check_declared(headers, limit)?;
    let mut body = body;
    let mut collected = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| BodyError::from_body(e.as_ref()))?;
        if let Ok(data) = frame.into_data() {
            if collected.len() + data.len() > limit {
                return Err(BodyError::TooLarge(limit));
            }
            collected.extend_from_slice(&data);
        }
    }
    Ok(collected.freeze())
}

/// Refuses a body whose declared `Content-Length` is over `limit`, before a byte is read
/// (for routes that stream their body instead of reading it whole).
pub fn check_declared(headers: &HeaderMap, limit: usize) -> Result<(), BodyError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(BodyError::TooLarge(limit));
    }
    Ok(())
}

/// How much of a file one blocking read takes. A download holds at most two of these (the
/// one being sent, the one being read), so its memory does not grow with the file.
const FILE_CHUNK: usize = 512 * 1024;

/// A file streamed from disk with its length and content type. A single `Range: bytes=…`
/// is honoured with 206 (uv reads wheel metadata that way); an unsatisfiable one gets 416;
/// anything else is served whole.
///
/// The file is opened and its first chunk read in one blocking call before the response
/// is made (a small file is then one hop off the worker); each later chunk is read on a
/// blocking thread while the one before it is written to the socket ([`FileChunks`]).
pub async fn file_response(
    path: &std::path::Path,
    size: u64,
    content_type: &'static str,
    range: Option<&str>,
) -> std::io::Result<Response<Body>> {
    let wanted = match range.map(|r| byte_range(r, size)) {
        Some(Err(())) => {
            let mut response = Response::new(full(Bytes::new()));
            *response.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, value);
            }
            return Ok(response);
        }
        Some(Ok(wanted)) => wanted,
        None => None,
    };
    let (status, start, length) = match wanted {
        Some((start, end)) => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        None => (StatusCode::OK, 0, size),
    };
    let owned = path.to_path_buf();
    let opened = tokio::task::spawn_blocking(move || {
        use std::io::{Seek as _, SeekFrom};
        let mut file = std::fs::File::open(&owned)?;
        if start > 0 {
            file.seek(SeekFrom::Start(start))?;
        }
        FileChunks::read(file, length)
    })
    .await
    .map_err(std::io::Error::other)
    .and_then(|opened| opened)
    .map_err(|e| {
        tracing::error!(path = %path.display(), error = %e, "asset bytes missing");
        e
    })?;
    let mut response = Response::new(StreamBody::new(FileChunks::after(opened, length)).boxed());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if status == StatusCode::PARTIAL_CONTENT {
        let value = format!("bytes {start}-{}/{size}", start + length - 1);
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(header::CONTENT_RANGE, value);
        }
    }
    Ok(response)
}

/// One chunk read from a file, and the file to read the next one from.
type ReadChunk = (std::fs::File, Bytes);

/// A file's next `left` bytes as body frames, read a chunk ahead: when a chunk is handed
/// to hyper, the read of the next one starts on a blocking thread, so disk reads and
/// socket writes overlap. A thread is held only during a read, never while the client is
/// slow, and at most two chunks are in memory. A file shorter than promised ends the body
/// with an error (hyper then closes the connection instead of sending a short body).
struct FileChunks {
    /// The chunk being read; `None` once the last one was handed out.
    reading: Option<tokio::task::JoinHandle<std::io::Result<ReadChunk>>>,
    /// A chunk read before the stream was made (the first one).
    ready: Option<Bytes>,
    /// Bytes not yet asked of the disk.
    left: u64,
}

impl FileChunks {
    /// Reads the next chunk of at most `left` bytes (blocking).
    fn read(file: std::fs::File, left: u64) -> std::io::Result<ReadChunk> {
        use std::io::Read as _;
        let n = usize::try_from(left.min(FILE_CHUNK as u64)).unwrap_or(FILE_CHUNK);
        // One read call per chunk (`read_to_end` would start at 8 KiB and double); a
        // zeroed allocation of this size is fresh pages, which the read fills.
        let mut buf = vec![0u8; n];
        (&file).read_exact(&mut buf)?;
        Ok((file, Bytes::from(buf)))
    }

    /// The stream that follows a first chunk read by [`FileChunks::read`] from `length`.
    fn after((file, first): ReadChunk, length: u64) -> FileChunks {
        let mut chunks = FileChunks {
            reading: None,
            left: length - first.len() as u64,
            ready: (!first.is_empty()).then_some(first),
        };
        chunks.read_ahead(file);
        chunks
    }

    fn read_ahead(&mut self, file: std::fs::File) {
        if self.left == 0 {
            return;
        }
        let left = self.left;
        self.left = left.saturating_sub(FILE_CHUNK as u64);
        self.reading = Some(tokio::task::spawn_blocking(move || {
            FileChunks::read(file, left)
        }));
    }
}

impl futures_util::Stream for FileChunks {
    type Item = std::io::Result<Frame<Bytes>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(first) = self.ready.take() {
            return Poll::Ready(Some(Ok(Frame::data(first))));
        }
        let Some(reading) = self.reading.as_mut() else {
            return Poll::Ready(None);
        };
        let read = std::task::ready!(Pin::new(reading).poll(cx));
        self.reading = None;
        Poll::Ready(Some(match read {
            Ok(Ok((file, chunk))) => {
                self.read_ahead(file);
                Ok(Frame::data(chunk))
            }
            Ok(Err(e)) => Err(e),
            Err(e) => Err(std::io::Error::other(e)),
        }))
    }
}

/// One `bytes=` range as inclusive offsets: `Ok(None)` to serve the whole file (no
/// recognisable single range), `Err` when the range cannot be satisfied.
fn byte_range(header: &str, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (first, last) = (first.trim(), last.trim());
    let range = match (first.parse::<u64>(), last.parse::<u64>()) {
        (Ok(start), Ok(end)) if start <= end => (start, end.min(size.saturating_sub(1))),
        (Ok(start), Err(_)) if last.is_empty() => (start, size.saturating_sub(1)),
        (Err(_), Ok(suffix)) if first.is_empty() && suffix > 0 => {
            (size.saturating_sub(suffix), size.saturating_sub(1))
        }
        _ => return Ok(None),
    };
    if size == 0 || range.0 >= size {
        return Err(());
    }
    Ok(Some(range))
}

/// Splits and percent-decodes a query string. `+` stays a plus sign: SDKs encode spaces as
/// `%20`, and revisions and tokens are base64 with literal `+`.
pub fn decode_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(k), decode(v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges_as_http_defines_them() {
        assert_eq!(byte_range("bytes=0-99", 1000), Ok(Some((0, 99))));
        assert_eq!(byte_range("bytes=900-", 1000), Ok(Some((900, 999))));
        assert_eq!(byte_range("bytes=-100", 1000), Ok(Some((900, 999))));
        assert_eq!(byte_range("bytes=990-2000", 1000), Ok(Some((990, 999))));
        assert_eq!(byte_range("bytes=1000-", 1000), Err(()));
        assert_eq!(byte_range("bytes=0-1,5-6", 1000), Ok(None));
        assert_eq!(byte_range("items=0-1", 1000), Ok(None));
        assert_eq!(byte_range("bytes=5-1", 1000), Ok(None));
    }

    #[test]
    fn query_plus_is_a_plus() {
        assert_eq!(
            decode_query("a=1%2B2&b=x+y&c"),
            vec![
                ("a".into(), "1+2".into()),
                ("b".into(), "x+y".into()),
                ("c".into(), String::new())
            ]
        );
    }

    /// A request whose body delivers what is sent on the channel.
    fn channel_request(
        progress_timeout: Duration,
        min_rate: u64,
    ) -> (tokio::sync::mpsc::Sender<Bytes>, Request<RequestBody>) {
        let (sender, receiver) = tokio::sync::mpsc::channel::<Bytes>(4);
        let frames = futures_util::stream::unfold(receiver, |mut receiver| async move {
            let data = receiver.recv().await?;
            Some((Ok::<_, BoxError>(Frame::data(data)), receiver))
        });
        let request = Request::builder().body(StreamBody::new(frames)).unwrap();
        (sender, boxed_request(request, progress_timeout, min_rate))
    }

    #[tokio::test]
    async fn a_body_fails_when_it_stalls_and_only_time_spent_waiting_counts() {
        let (sender, request) = channel_request(Duration::from_millis(200), 0);
        // Time before the handler asks for the body does not count: it asks after 500 ms
        // and the first bytes come 100 ms later, within the 200 ms timeout.
        let late_sender = sender.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(600)).await;
            late_sender.send(Bytes::from_static(b"abc")).await.unwrap();
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut body = request.into_body();
        assert_eq!(
            body.frame().await.unwrap().unwrap().into_data().unwrap(),
            "abc"
        );
        // Then nothing arrives: the body fails after the timeout, as Stalled.
        let error = body.frame().await.unwrap().unwrap_err();
        assert!(is_stalled(error.as_ref()), "{error}");
        drop(sender);
    }

    #[tokio::test]
    async fn a_body_that_drips_below_the_minimum_rate_fails_as_too_slow() {
        // One byte every 100 ms, well inside the 300 ms progress timeout, but 10 bytes/s
        // against a minimum of 100 bytes/s.
        let (sender, request) = channel_request(Duration::from_millis(300), 100);
        tokio::spawn(async move {
            while sender.send(Bytes::from_static(b"x")).await.is_ok() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let started = std::time::Instant::now();
        let mut body = request.into_body();
        let error = loop {
            match body.frame().await.unwrap() {
                Ok(_) => assert!(started.elapsed() < Duration::from_secs(5), "never refused"),
                Err(e) => break e,
            }
        };
        assert!(error.is::<TooSlow>(), "{error}");
        assert!(is_stalled(error.as_ref()));
    }

    #[tokio::test]
    async fn bodies_are_read_up_to_their_limit_and_no_further() {
        let request = |body: &'static str, length: Option<&str>| {
            let mut builder = Request::builder();
            if let Some(length) = length {
                builder = builder.header(header::CONTENT_LENGTH, length);
            }
            boxed_request(
                builder
                    .body(Full::new(Bytes::from_static(body.as_bytes())))
                    .unwrap(),
                Duration::from_secs(5),
                0,
            )
        };
        assert_eq!(read_body(request("abc", None), 3).await.unwrap(), "abc");
        assert!(matches!(
            read_body(request("abcd", None), 3).await,
            Err(BodyError::TooLarge(3))
        ));
        // A declared length over the limit is refused before the body is read.
        assert!(matches!(
            read_body(request("", Some("4")), 3).await,
            Err(BodyError::TooLarge(3))
        ));
    }

    /// Collects a response body's frames, or the error it ended with.
    async fn frames(response: Response<Body>) -> Result<Vec<Bytes>, std::io::Error> {
        let mut body = response.into_body();
        let mut frames = Vec::new();
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                frames.push(data);
            }
        }
        Ok(frames)
    }

    #[tokio::test]
    async fn files_stream_in_bounded_chunks_whole_or_by_range() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        let bytes: Vec<u8> = (0..2 * FILE_CHUNK + 1234)
            .map(|i| (i % 251).to_le_bytes()[0])
            .collect();
        std::fs::write(&path, &bytes).unwrap();
        let size = bytes.len() as u64;

        let whole = file_response(&path, size, "application/octet-stream", None)
            .await
            .unwrap();
        assert_eq!(whole.status(), StatusCode::OK);
        assert_eq!(
            whole.headers()[header::CONTENT_LENGTH],
            size.to_string().as_str()
        );
        let chunks = frames(whole).await.unwrap();
        assert!(
            chunks.iter().all(|c| c.len() <= FILE_CHUNK),
            "no chunk over the bound"
        );
        assert_eq!(chunks.concat(), bytes);

        // A range across a chunk boundary, and a suffix range.
        let start = FILE_CHUNK as u64 - 10;
        let ranged = file_response(
            &path,
            size,
            "x/y",
            Some(&format!("bytes={start}-{}", start + 99)),
        )
        .await
        .unwrap();
        assert_eq!(ranged.status(), StatusCode::PARTIAL_CONTENT);
        let at = usize::try_from(start).unwrap();
        let want = &bytes[at..at + 100];
        assert_eq!(frames(ranged).await.unwrap().concat(), want);
        let suffix = file_response(&path, size, "x/y", Some("bytes=-7"))
            .await
            .unwrap();
        assert_eq!(
            frames(suffix).await.unwrap().concat(),
            &bytes[bytes.len() - 7..]
        );

        // An empty file is an empty body.
        let empty = dir.path().join("empty");
        std::fs::write(&empty, b"").unwrap();
        let none = file_response(&empty, 0, "x/y", None).await.unwrap();
        assert!(frames(none).await.unwrap().is_empty());

        // A file shorter than its record ends the body with an error, not a short body.
        let short = file_response(&path, size + 1, "x/y", None).await.unwrap();
        assert!(frames(short).await.is_err());
        // A missing file is an error before any response.
        assert!(file_response(&dir.path().join("gone"), 1, "x/y", None)
            .await
            .is_err());
    }
}
