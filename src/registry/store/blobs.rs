//! The content-addressed blob store: asset bytes on disk, one copy per domain per SHA-256.
//!
//! Uploads stream into a temporary file while every digest the API reports is computed in one
//! pass; the file is fsynced before it may be placed. Placing is a rename into the
//! content-addressed path, done before the metadata that references it is committed, so a
//! crash leaves at worst an unreferenced file, which `collect_garbage` removes at start-up.

use super::space::Space;
use crate::wire::BodyError;
use bytes::Bytes;
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Where a domain's blobs live.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
    space: Space,
}

impl BlobStore {
    /// Opens the store under `data_dir/blobs`, discarding uploads a crash left unfinished.
    /// Writes (staging) are refused while `space` is below its watermark.
    pub fn open(data_dir: &Path, space: Space) -> io::Result<BlobStore> {
        let root = data_dir.join("blobs");
        let tmp = root.join("tmp");
        if tmp.exists() {
            fs::remove_dir_all(&tmp)?;
        }
        fs::create_dir_all(&tmp)?;
        Ok(BlobStore { root, space })
    }

    /// The directory holding every domain's blobs (and `tmp`, the staging area).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The free-space watermark every write checks.
    pub fn space(&self) -> &Space {
        &self.space
    }

    /// The file holding a blob of a domain.
    pub fn path(&self, region: &str, owner: &str, domain: &str, sha256: &str) -> PathBuf {
        let fan = sha256.get(..2).unwrap_or("xx");
        self.root
            .join(region)
            .join(owner)
            .join(domain)
            .join(fan)
            .join(sha256)
    }

    /// Starts a streamed upload into a temporary file.
    /// Refused (`StorageFull`) while free space is below the watermark.
    pub fn upload(&self) -> io::Result<Upload> {
        self.space.check()?;
        let path = self.root.join("tmp").join(uuid::Uuid::new_v4().to_string());
        let file = File::create(&path)?;
        Ok(Upload {
            staged: StagedBlob {
                path,
                size: 0,
                digests: None,
            },
            file: Some(file),
            space: self.space.clone(),
            unchecked: 0,
            md5: Md5::new(),
            sha1: Sha1::new(),
            sha256: Sha256::new(),
            sha512: Sha512::new(),
        })
    }

    /// Moves a staged upload to its content-addressed path. If the blob is already there
    /// (same content), the staged copy is simply dropped.
    pub fn place(&self, mut staged: StagedBlob, target: &Path) -> io::Result<()> {
        if target.exists() {
            return Ok(());
        }
        let dir = target
            .parent()
            .ok_or_else(|| io::Error::other("a blob path has a parent"))?;
        fs::create_dir_all(dir)?;
        fs::rename(&staged.path, target)?;
        // The staged file is gone; nothing is left for its drop to remove.
        staged.path = PathBuf::new();
        // Make the rename itself durable before metadata points at the new name.
        File::open(dir)?.sync_all()
    }

    /// Removes a blob that nothing references any more.
    pub fn remove(&self, path: &Path) {
        if let Err(e) = fs::remove_file(path) {
            if e.kind() != io::ErrorKind::NotFound {
                tracing::warn!(path = %path.display(), error = %e, "could not remove blob");
            }
        }
    }

    /// Deletes blob files that `is_referenced` does not know (left by a crash between placing
    /// a blob and committing the version that references it, or between the commit that
    /// dropped the last reference and the file's removal).
    pub fn collect_garbage(&self, is_referenced: impl Fn(&str, &str, &str, &str) -> bool) -> usize {
        let mut removed = 0;
        let walk = |dir: &Path| -> Vec<PathBuf> {
            fs::read_dir(dir)
                .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
                .unwrap_or_default()
        };
        for region in walk(&self.root).into_iter().filter(|p| !p.ends_with("tmp")) {
            for owner in walk(&region) {
                for domain in walk(&owner) {
                    for fan in walk(&domain) {
                        for blob in walk(&fan) {
                            let name = |p: &Path| {
                                p.file_name()
                                    .and_then(|n| n.to_str())
                                    .unwrap_or("")
                                    .to_string()
                            };
                            if !is_referenced(
                                &name(&region),
                                &name(&owner),
                                &name(&domain),
                                &name(&blob),
                            ) {
                                self.remove(&blob);
                                removed += 1;
                            }
                        }
                    }
                }
            }
        }
        removed
    }
}

/// The digests of an uploaded blob, lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    pub md5: String,
    pub sha1: String,
    pub sha256: String,
    pub sha512: String,
}

/// The size from which one [`Upload::write`] splits its digests over two threads (below it,
/// starting a thread costs more than it saves).
const SPLIT_BYTES: usize = 256 * 1024;

/// How many bytes an upload writes between two checks of the free-space watermark.
const SPACE_CHECK_BYTES: usize = 1024 * 1024;

/// An upload in progress. Dropping it without `finish` deletes the partial file.
pub struct Upload {
    staged: StagedBlob,
    file: Option<File>,
    /// Checked again after every `SPACE_CHECK_BYTES` written.
    space: Space,
    unchecked: usize,
    md5: Md5,
    sha1: Sha1,
    sha256: Sha256,
    sha512: Sha512,
}

impl Upload {
    /// Appends a chunk (blocking I/O: call from a blocking context). A chunk of
    /// [`SPLIT_BYTES`] or more is hashed on two threads: SHA-1 and SHA-512 on a scoped
    /// thread while this one writes and computes MD5 and SHA-256.
    pub fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        if chunk.len() < SPLIT_BYTES {
            return self.write_and_hash(chunk, true);
        }
        let mut side = (
            std::mem::take(&mut self.sha1),
            std::mem::take(&mut self.sha512),
        );
        let written = std::thread::scope(|scope| {
            let hashing = scope.spawn(|| {
                let _ = side_lane(&mut side, chunk);
            });
            let written = self.write_and_hash(chunk, false);
            if let Err(panic) = hashing.join() {
                std::panic::resume_unwind(panic);
            }
            written
        });
        (self.sha1, self.sha512) = side;
        written
    }

    /// Writes a chunk and feeds MD5 and SHA-256; SHA-1 and SHA-512 too unless another
    /// thread computes those (`stream_into`).
    fn write_and_hash(&mut self, chunk: &[u8], all: bool) -> io::Result<()> {
        if self.unchecked >= SPACE_CHECK_BYTES {
            self.space.check()?;
            self.unchecked = 0;
        }
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("upload already finished"))?;
        file.write_all(chunk)?;
        self.unchecked += chunk.len();
        self.md5.update(chunk);
        self.sha256.update(chunk);
        if all {
            self.sha1.update(chunk);
            self.sha512.update(chunk);
        }
        self.staged.size += chunk.len() as u64;
        Ok(())
    }

    /// Bytes received so far.
    pub fn size(&self) -> u64 {
        self.staged.size
    }

    /// Flushes and fsyncs the file and returns it with its digests.
    pub fn finish(mut self) -> io::Result<StagedBlob> {
        if let Some(file) = self.file.take() {
            file.sync_all()?;
        }
        let digests = Digests {
            md5: hex::encode(self.md5.finalize_reset()),
            sha1: hex::encode(self.sha1.finalize_reset()),
            sha256: hex::encode(self.sha256.finalize_reset()),
            sha512: hex::encode(self.sha512.finalize_reset()),
        };
        let mut staged = StagedBlob {
            path: PathBuf::new(),
            size: 0,
            digests: None,
        };
        std::mem::swap(&mut staged, &mut self.staged);
        staged.digests = Some(digests);
        Ok(staged)
    }
}

/// A complete, fsynced upload not yet placed in the store. Dropping it deletes the file.
#[derive(Debug)]
pub struct StagedBlob {
    path: PathBuf,
    size: u64,
    digests: Option<Digests>,
}

impl StagedBlob {
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Where the staged bytes are until they are placed (formats read manifests from it).
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn digests(&self) -> &Digests {
        self.digests.as_ref().expect("a staged blob is finished")
    }
}

impl Drop for StagedBlob {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Bytes gathered from the network before they are handed to disk and hashing at once.
const BATCH_BYTES: usize = 1024 * 1024;

/// The hashers a second thread feeds while the first writes (SHA-1 and SHA-512).
type SideHashers = (Sha1, Sha512);

/// One of an upload's two lanes of work: its state, or the blocking task that has it while
/// it takes in a batch. The lanes are independent: each starts its next batch as soon as
/// it is done with its previous one, whether or not the other is.
enum Lane<T> {
    Idle(T),
    Busy(tokio::task::JoinHandle<io::Result<T>>),
}

impl<T: Send + 'static> Lane<T> {
    /// Waits for the batch in progress, if any.
    async fn settle(self) -> io::Result<T> {
        match self {
            Lane::Idle(state) => Ok(state),
            Lane::Busy(task) => task.await.map_err(io::Error::other)?,
        }
    }

    /// Hands `batch` to a blocking task once this lane's previous batch is done.
    async fn feed(
        self,
        batch: &std::sync::Arc<Vec<Bytes>>,
        work: fn(&mut T, &[u8]) -> io::Result<()>,
    ) -> io::Result<Lane<T>> {
        let mut state = self.settle().await?;
        let batch = std::sync::Arc::clone(batch);
        Ok(Lane::Busy(tokio::task::spawn_blocking(move || {
            for chunk in batch.iter() {
                work(&mut state, chunk)?;
            }
            Ok(state)
        })))
    }
}

/// Writes a chunk and computes MD5 and SHA-256 (the writing lane).
fn write_lane(upload: &mut Upload, chunk: &[u8]) -> io::Result<()> {
    upload.write_and_hash(chunk, false)
}

/// SHA-1 and SHA-512 (the hashing lane): together about as costly as the writing lane.
fn side_lane(side: &mut SideHashers, chunk: &[u8]) -> io::Result<()> {
    side.0.update(chunk);
    side.1.update(chunk);
    Ok(())
}

/// An upload's two lanes: one writes each batch and computes MD5 and SHA-256, the other
/// computes SHA-1 and SHA-512 (hashing, not I/O, bounds an upload's speed).
struct Lanes {
    writer: Lane<Upload>,
    side: Lane<SideHashers>,
}

impl Lanes {
    async fn feed(self, batch: Vec<Bytes>) -> Result<Lanes, StreamError> {
        let batch = std::sync::Arc::new(batch);
        let Lanes { writer, side } = self;
        let writer = match writer.feed(&batch, write_lane).await {
            Ok(writer) => writer,
            Err(e) => {
                drop(side.settle().await);
                return Err(StreamError::Io(e));
            }
        };
        let side = match side.feed(&batch, side_lane).await {
            Ok(side) => side,
            Err(e) => {
                drop(writer.settle().await);
                return Err(StreamError::Io(e));
            }
        };
        Ok(Lanes { writer, side })
    }

    /// Waits for both lanes; a failed write fails the upload (its staging file is gone).
    async fn settle(self) -> Result<(Upload, SideHashers), StreamError> {
        let (upload, side) = tokio::join!(self.writer.settle(), self.side.settle());
        Ok((
            upload.map_err(StreamError::Io)?,
            side.map_err(StreamError::Io)?,
        ))
    }
}

/// Feeds a byte stream (an upload's body) into an upload. The bytes are awaited on the
/// async side and gathered into batches of about 1 MiB; only full batches go to blocking
/// threads for disk writes and hashing, so an upload that stalls holds no thread (the
/// body's progress timeout ends it). One batch is written while the next is received.
/// Returns the staged blob, or why it failed, having waited for the work in flight, so a
/// failed upload's staging file is gone when this returns. `limit` bounds the size.
pub async fn stream_into<S>(
    mut upload: Upload,
    mut bytes: S,
    limit: u64,
) -> Result<StagedBlob, StreamError>
where
    S: futures_util::Stream<Item = Result<Bytes, BodyError>> + Unpin,
{
    use futures_util::StreamExt as _;
    let side = (
        std::mem::take(&mut upload.sha1),
        std::mem::take(&mut upload.sha512),
    );
    let mut lanes = Lanes {
        writer: Lane::Idle(upload),
        side: Lane::Idle(side),
    };
    let mut batch = Vec::new();
    let mut batch_len = 0usize;
    let mut received: u64 = 0;
    let mut failure = None;
    while let Some(chunk) = bytes.next().await {
        match chunk {
            Ok(data) => {
                received += data.len() as u64;
                if received > limit {
                    failure = Some(StreamError::TooLarge);
                    break;
                }
                batch_len += data.len();
                batch.push(data);
                if batch_len >= BATCH_BYTES {
                    batch_len = 0;
                    lanes = lanes.feed(std::mem::take(&mut batch)).await?;
                }
            }
            Err(e) => {
                failure = Some(StreamError::Body(e));
                break;
            }
        }
    }
    if let Some(failure) = failure {
        // Dropping the settled upload deletes its staging file.
        drop(lanes.settle().await);
        return Err(failure);
    }
    if !batch.is_empty() {
        lanes = lanes.feed(batch).await?;
    }
    let (mut upload, (sha1, sha512)) = lanes.settle().await?;
    upload.sha1 = sha1;
    upload.sha512 = sha512;
    tokio::task::spawn_blocking(move || upload.finish())
        .await
        .map_err(|e| StreamError::Io(io::Error::other(e)))?
        .map_err(StreamError::Io)
}

/// Why a streamed upload did not complete.
#[derive(Debug)]
pub enum StreamError {
    TooLarge,
    /// The client's body ended early, broke or stalled.
    Body(BodyError),
    Io(io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::store::space::Space;

    fn expected(bytes: &[u8]) -> Digests {
        Digests {
            md5: hex::encode(Md5::digest(bytes)),
            sha1: hex::encode(Sha1::digest(bytes)),
            sha256: hex::encode(Sha256::digest(bytes)),
            sha512: hex::encode(Sha512::digest(bytes)),
        }
    }

    fn payload() -> Vec<u8> {
        // Over three batches and not a multiple of anything, so every path splits it.
        (0..3 * BATCH_BYTES + 12_345)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13).to_le_bytes()[0])
            .collect()
    }

    /// `bytes` through `stream_into` in frames of `frame` bytes.
    fn streamed(
        blobs: &BlobStore,
        bytes: &[u8],
        frame: usize,
        limit: u64,
    ) -> Result<StagedBlob, StreamError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let frames: Vec<Result<Bytes, BodyError>> = bytes
            .chunks(frame)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        runtime.block_on(stream_into(
            blobs.upload().unwrap(),
            futures_util::stream::iter(frames),
            limit,
        ))
    }

    fn store(dir: &Path) -> BlobStore {
        BlobStore::open(dir, Space::new(dir, 0)).unwrap()
    }

    #[test]
    fn every_write_path_computes_the_same_digests() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = store(dir.path());
        let bytes = payload();
        let want = expected(&bytes);

        // One write (split over two threads), and writes too small to split.
        let mut whole = blobs.upload().unwrap();
        whole.write(&bytes).unwrap();
        let whole = whole.finish().unwrap();
        let mut pieces = blobs.upload().unwrap();
        for piece in bytes.chunks(SPLIT_BYTES - 1) {
            pieces.write(piece).unwrap();
        }
        let pieces = pieces.finish().unwrap();

        // Streamed in odd network-sized chunks through the two lanes.
        let streamed = streamed(&blobs, &bytes, 70_001, u64::MAX).unwrap();

        for staged in [&whole, &pieces, &streamed] {
            assert_eq!(staged.digests(), &want);
            assert_eq!(staged.size(), bytes.len() as u64);
            assert_eq!(fs::read(staged.path()).unwrap(), bytes);
        }
    }

    #[test]
    fn a_stream_over_its_limit_leaves_no_staging_file() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = store(dir.path());
        let result = streamed(&blobs, &payload(), 100_000, 2 * BATCH_BYTES as u64 + 1);
        assert!(matches!(result, Err(StreamError::TooLarge)));
        let left = fs::read_dir(blobs.root().join("tmp")).unwrap().count();
        assert_eq!(left, 0, "the staging file of a refused upload is removed");
    }
}
