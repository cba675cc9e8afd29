//! Snapshots: the whole state in one portable tar archive, and back.
//!
//! ```text
//! manifest.json   {"format":"codeartifact-local-snapshot","version":1,"storeSchema":2,
//!                  "records":N,"recordsSha256":"…","blobs":M,"createdAt":"…"}
//! records.bin     every store record but the events (outbox and event log) and the derived
//!                 version-order index (rebuilt on load; so schema 1 snapshots load too):
//!                 (u32 BE length, key, u32 BE length, value)…
//! blobs/{region}/{owner}/{domain}/{sha[..2]}/{sha256}
//! ```
//!
//! Consistent while the server writes: under the write lock (which every commit and every
//! blob placement holds) the records are read and each blob file is hard-linked aside
//! (blobs are immutable and content-addressed, so the link is the file as the records
//! reference it); the lock is then released and the archive written from the copy.
//! Loading checks everything (manifest first, versions, the records' SHA-256, each blob's
//! SHA-256 against its name, the counts) in a scratch directory before anything of the
//! target changes, then swaps it in with a rename. The token key is not part of a
//! snapshot (a snapshot may be shared; tokens are minted per server).

use super::store::{self, Key};
use super::{Error, Registry, Result, StoreError};
use sha2::{Digest as _, Sha256};
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// What `format` says in every snapshot's manifest.
const FORMAT: &str = "codeartifact-local-snapshot";
/// The snapshot layout this build writes and the newest it reads.
pub const SNAPSHOT_VERSION: u32 = 1;
const MANIFEST: &str = "manifest.json";
const RECORDS: &str = "records.bin";
/// The server's token key file (`auth::token`), kept when a load replaces a data directory.
const TOKEN_KEY_FILE: &str = "token.key";

/// The size of what a snapshot holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SnapshotStats {
    pub records: usize,
    pub blobs: usize,
    pub blob_bytes: u64,
}

fn fail(message: impl Into<String>) -> Error {
    Error::Store(StoreError(message.into()))
}

fn io_fail(what: &str) -> impl Fn(io::Error) -> Error + '_ {
    move |e| fail(format!("{what}: {e}"))
}

/// A consistent copy of the state: the records in memory, the blobs hard-linked into a
/// scratch directory removed with it.
struct Capture {
    records: Vec<(Vec<u8>, Vec<u8>)>,
    /// (path inside `blobs/`, file)
    blobs: Vec<(String, PathBuf)>,
    scratch: PathBuf,
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.scratch);
    }
}

/// Every blob file under the blob store's root: (`region/owner/domain/fan/sha`, path).
fn blob_files(root: &Path) -> io::Result<Vec<(String, PathBuf)>> {
    fn walk(
        dir: &Path,
        rel: &str,
        depth: usize,
        out: &mut Vec<(String, PathBuf)>,
    ) -> io::Result<()> {
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if depth == 0 && name == "tmp" {
                continue;
            }
            let rel = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            if depth == 4 {
                if entry.file_type()?.is_file() {
                    out.push((rel, entry.path()));
                }
            } else if entry.file_type()?.is_dir() {
                walk(&entry.path(), &rel, depth + 1, out)?;
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    if root.exists() {
        walk(root, "", 0, &mut out)?;
    }
    Ok(out)
}

impl Registry {
    /// Reads every record and links every blob aside, under the write lock.
    fn capture(&self) -> Result<Capture> {
        let root = self.blobs.root().to_path_buf();
        let scratch = root
            .join("tmp")
            .join(format!("snapshot-{}", uuid::Uuid::new_v4()));
        fs::create_dir_all(&scratch).map_err(io_fail("cannot make a scratch directory"))?;
        let mut capture = Capture {
            records: Vec::new(),
            blobs: Vec::new(),
            scratch: scratch.clone(),
        };
        let tx = self.begin_write();
        for pair in self.kv.scan_raw(&Key::everything()) {
            let (key, value) = pair?;
            if !Key::is_event(&key) && !Key::is_derived(&key) {
                capture.records.push((key, value));
            }
        }
        for (i, (rel, path)) in blob_files(&root)
            .map_err(io_fail("cannot list the blobs"))?
            .into_iter()
            .enumerate()
        {
            let link = scratch.join(i.to_string());
            fs::hard_link(&path, &link)
                .or_else(|_| fs::copy(&path, &link).map(|_| ()))
                .map_err(io_fail("cannot link a blob aside"))?;
            capture.blobs.push((rel, link));
        }
        drop(tx);
        Ok(capture)
    }

    /// Writes a snapshot of the whole state to `out`. Writers wait only while the records
    /// are read and the blobs linked, not while the archive is written.
    pub fn save_snapshot(&self, out: impl Write) -> Result<SnapshotStats> {
        let capture = self.capture()?;
        write_archive(&capture, out)
    }

    /// Replaces the whole state with a snapshot's (`None`: with an empty store), in place,
    /// while serving: the archive is checked and unpacked first, then, under the write
    /// lock, its blobs are placed, every record (but the events, whose numbers go on) replaced in one
    /// commit, and the blobs nothing references any more removed. No events are emitted.
    pub fn restore_snapshot(&self, archive: Option<impl Read>) -> Result<SnapshotStats> {
        let root = self.blobs.root().to_path_buf();
        let scratch = root
            .join("tmp")
            .join(format!("restore-{}", uuid::Uuid::new_v4()));
        let unpacked = match archive {
            Some(archive) => Some(unpack(archive, &scratch)?),
            None => None,
        };
        let result = (|| -> Result<SnapshotStats> {
            let mut tx = self.begin_write();
            let stats = unpacked
                .as_ref()
                .map_or_else(SnapshotStats::default, |u| u.stats);
            if let Some(u) = &unpacked {
                place_blobs(&u.blobs, &root)?;
            }
            for pair in self.kv.scan_raw(&Key::everything()) {
                let (key, _) = pair?;
                if !Key::is_event(&key) {
                    tx.delete_raw(key);
                }
            }
            if let Some(u) = &unpacked {
                for (key, value) in &u.records {
                    tx.put_raw(key.clone(), value.clone());
                }
            }
            tx.put(&Key::schema(), &schema_record());
            tx.commit_verbatim()?;
            Ok(stats)
        })();
        let _ = fs::remove_dir_all(&scratch);
        let stats = result?;
        self.collect_garbage();
        Ok(stats)
    }
}

/// The schema mark of a store this build writes.
fn schema_record() -> store::SchemaRecord {
    store::SchemaRecord {
        version: store::SCHEMA_VERSION,
    }
}

/// Moves unpacked blobs into a blob root (a blob already there has the same content).
fn place_blobs(blobs: &[(String, PathBuf)], root: &Path) -> Result<()> {
    for (rel, file) in blobs {
        let target = root.join(rel);
        if target.exists() {
            continue;
        }
        if let Some(dir) = target.parent() {
            fs::create_dir_all(dir).map_err(io_fail("cannot make a blob directory"))?;
        }
        fs::rename(file, &target)
            .or_else(|_| fs::copy(file, &target).map(|_| ()))
            .map_err(io_fail("cannot place a blob"))?;
    }
    Ok(())
}

fn write_archive(capture: &Capture, out: impl Write) -> Result<SnapshotStats> {
    let mut records = Vec::new();
    for (key, value) in &capture.records {
        for part in [key, value] {
            let len = u32::try_from(part.len()).map_err(|_| fail("a record is too large"))?;
            records.extend_from_slice(&len.to_be_bytes());
            records.extend_from_slice(part);
        }
    }
    let mut blob_bytes = 0;
    for (_, path) in &capture.blobs {
        blob_bytes += fs::metadata(path)
            .map_err(io_fail("cannot read a blob"))?
            .len();
    }
    let stats = SnapshotStats {
        records: capture.records.len(),
        blobs: capture.blobs.len(),
        blob_bytes,
    };
    let manifest = serde_json::json!({
        "format": FORMAT,
        "version": SNAPSHOT_VERSION,
        "storeSchema": store::SCHEMA_VERSION,
        "createdAt": chrono::Utc::now().to_rfc3339(),
        "records": stats.records,
        "recordsSha256": hex::encode(Sha256::digest(&records)),
        "blobs": stats.blobs,
    })
    .to_string();
    let mut tar = tar::Builder::new(BufWriter::new(out));
    fn add<W: Write>(tar: &mut tar::Builder<W>, name: &str, data: &[u8]) -> io::Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o600);
        header.set_cksum();
        tar.append_data(&mut header, name, data)
    }
    let written = (|| -> io::Result<()> {
        add(&mut tar, MANIFEST, manifest.as_bytes())?;
        add(&mut tar, RECORDS, &records)?;
        for (rel, path) in &capture.blobs {
            let mut file = File::open(path)?;
            let mut header = tar::Header::new_gnu();
            header.set_size(file.metadata()?.len());
            header.set_mode(0o600);
            header.set_cksum();
            tar.append_data(&mut header, format!("blobs/{rel}"), &mut file)?;
        }
        tar.into_inner()?.flush()
    })();
    written.map_err(io_fail("cannot write the snapshot"))?;
    Ok(stats)
}

/// A checked, unpacked snapshot.
struct Unpacked {
    records: Vec<(Vec<u8>, Vec<u8>)>,
    /// (path inside `blobs/`, unpacked file)
    blobs: Vec<(String, PathBuf)>,
    stats: SnapshotStats,
}

/// A blob's place in the archive: `region/owner/domain/fan/sha256`, nothing else.
fn valid_blob_path(rel: &str) -> bool {
    let parts: Vec<&str> = rel.split('/').collect();
    let safe = |p: &str| {
        !p.is_empty()
            && p != "."
            && p != ".."
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    parts.len() == 5
        && parts.iter().all(|p| safe(p))
        && parts[4].len() == 64
        && parts[4].bytes().all(|b| b.is_ascii_hexdigit())
        && parts[3] == &parts[4][..2]
}

/// Reads and checks a whole archive, its blobs into `scratch`.
fn unpack(archive: impl Read, scratch: &Path) -> Result<Unpacked> {
    fs::create_dir_all(scratch).map_err(io_fail("cannot make a scratch directory"))?;
    let broken = |e: io::Error| fail(format!("the snapshot is not a readable archive: {e}"));
    let mut tar = tar::Archive::new(BufReader::new(archive));
    let mut manifest: Option<serde_json::Value> = None;
    let mut records = None;
    let mut blobs = Vec::new();
    let mut blob_bytes = 0;
    for (i, entry) in tar.entries().map_err(broken)?.enumerate() {
        let mut entry = entry.map_err(broken)?;
        let name = entry.path().map_err(broken)?.to_string_lossy().into_owned();
        if i == 0 {
            if name != MANIFEST {
                return Err(fail(
                    "not a codeartifact-local snapshot: it does not start with manifest.json",
                ));
            }
            let mut text = Vec::new();
            entry
                .by_ref()
                .take(1 << 20)
                .read_to_end(&mut text)
                .map_err(broken)?;
            let value: serde_json::Value = serde_json::from_slice(&text)
                .map_err(|e| fail(format!("the snapshot's manifest is not JSON: {e}")))?;
            if value["format"] != FORMAT {
                return Err(fail("not a codeartifact-local snapshot (manifest format)"));
            }
            let version = value["version"].as_u64().unwrap_or(0);
            if version > u64::from(SNAPSHOT_VERSION) {
                return Err(fail(format!(
                    "the snapshot has version {version}, newer than this build reads ({SNAPSHOT_VERSION}); use a newer codeartifact-local"
                )));
            }
            // Schema 1 lacks only the version-order index, which loading rebuilds.
            let schema = value["storeSchema"].as_u64().unwrap_or(0);
            let readable =
                u64::from(store::SCHEMA_WITHOUT_ORDER)..=u64::from(store::SCHEMA_VERSION);
            if !readable.contains(&schema) {
                return Err(fail(format!(
                    "the snapshot's store schema is {schema}, this build understands {} to {}",
                    readable.start(),
                    readable.end()
                )));
            }
            manifest = Some(value);
            continue;
        }
        // A cut archive ends inside an entry: the tar reader then gives fewer bytes than the
        // entry's header declares, which is said as truncation, not as corruption.
        let declared = entry.size();
        let ends_early = |got: u64| {
            fail(format!(
                "the snapshot is truncated: {name} ends after {got} of its {declared} bytes"
            ))
        };
        if name == RECORDS {
            let mut data = Vec::new();
            entry.read_to_end(&mut data).map_err(broken)?;
            if (data.len() as u64) < declared {
                return Err(ends_early(data.len() as u64));
            }
            records = Some(data);
        } else if let Some(rel) = name.strip_prefix("blobs/") {
            if !valid_blob_path(rel) {
                return Err(fail(format!(
                    "the snapshot holds an unexpected file {name}"
                )));
            }
            let file = scratch.join(blobs.len().to_string());
            let mut out = File::create(&file).map_err(io_fail("cannot unpack a blob"))?;
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; 1 << 16];
            let mut got = 0u64;
            loop {
                let n = entry.read(&mut buf).map_err(broken)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                out.write_all(&buf[..n])
                    .map_err(io_fail("cannot unpack a blob"))?;
                blob_bytes += n as u64;
                got += n as u64;
            }
            if got < declared {
                return Err(ends_early(got));
            }
            if hex::encode(hasher.finalize()) != rel[rel.len() - 64..] {
                return Err(fail(format!(
                    "the snapshot's {name} is corrupt (its SHA-256 differs)"
                )));
            }
            blobs.push((rel.to_string(), file));
        } else {
            return Err(fail(format!(
                "the snapshot holds an unexpected file {name}"
            )));
        }
    }
    let manifest = manifest.ok_or_else(|| fail("the snapshot is empty"))?;
    let records = records.ok_or_else(|| fail("the snapshot is truncated: it has no records"))?;
    if hex::encode(Sha256::digest(&records)) != manifest["recordsSha256"].as_str().unwrap_or("") {
        return Err(fail(
            "the snapshot's records are corrupt (their SHA-256 differs)",
        ));
    }
    if manifest["blobs"].as_u64() != Some(blobs.len() as u64) {
        return Err(fail(format!(
            "the snapshot is truncated: {} of {} blobs",
            blobs.len(),
            manifest["blobs"]
        )));
    }
    let mut pairs = Vec::new();
    let mut rest = records.as_slice();
    let take = |rest: &mut &[u8]| -> Option<Vec<u8>> {
        let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        let part = rest.get(4..4 + len)?.to_vec();
        *rest = &rest[4 + len..];
        Some(part)
    };
    while !rest.is_empty() {
        let (Some(key), Some(value)) = (take(&mut rest), take(&mut rest)) else {
            return Err(fail("the snapshot's records are corrupt"));
        };
        pairs.push((key, value));
    }
    if manifest["records"].as_u64() != Some(pairs.len() as u64) {
        return Err(fail(
            "the snapshot's record count differs from its manifest",
        ));
    }
    let stats = SnapshotStats {
        records: pairs.len(),
        blobs: blobs.len(),
        blob_bytes,
    };
    // The schema mark is this build's once loaded; derived records are the store's to make.
    pairs.retain(|(key, _)| key.as_slice() != Key::schema().as_bytes() && !Key::is_derived(key));
    Ok(Unpacked {
        records: pairs,
        blobs,
        stats,
    })
}

/// Whether a data directory holds anything (a fresh server's directory holds its store).
fn holds_state(dir: &Path) -> bool {
    fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some())
}

/// Restores a snapshot into a data directory no server is using. Everything is checked and
/// built in a sibling directory first; the data directory changes only by renames at the
/// end, so a bad snapshot leaves it as it was. A directory that holds anything is refused
/// unless `force`; then its token key is kept (tokens it issued stay valid).
pub fn load_into(archive: &Path, data_dir: &Path, force: bool) -> Result<SnapshotStats> {
    if holds_state(data_dir) && !force {
        return Err(fail(format!(
            "{} is not empty; pass --force (snapshot load) or --snapshot-force (--load-snapshot) to replace its state",
            data_dir.display()
        )));
    }
    let file = File::open(archive).map_err(|e| {
        fail(format!(
            "cannot open the snapshot {}: {e}",
            archive.display()
        ))
    })?;
    let parent = data_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(io_fail("cannot make the data directory's parent"))?;
    let name = data_dir
        .file_name()
        .map_or_else(|| "data".into(), |n| n.to_string_lossy().into_owned());
    let staging = parent.join(format!(".{name}.loading-{}", uuid::Uuid::new_v4()));
    let result = (|| -> Result<SnapshotStats> {
        let scratch = staging.join("blobs").join("tmp").join("unpack");
        let unpacked = unpack(file, &scratch)?;
        place_blobs(&unpacked.blobs, &staging.join("blobs"))?;
        let (_, committer) = store::open(&staging)?;
        let mut batch = store::Batch::default();
        for (key, value) in unpacked.records {
            batch.put_raw(key, value);
        }
        batch.put(&Key::schema(), &schema_record());
        committer.commit(batch)?;
        drop(committer);
        let _ = fs::remove_dir_all(&scratch);
        Ok(unpacked.stats)
    })();
    let stats = match result {
        Ok(stats) => stats,
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    // The store is closed (its handles dropped) before the directories move.
    if data_dir.exists() {
        let old = parent.join(format!(".{name}.replaced-{}", uuid::Uuid::new_v4()));
        fs::rename(data_dir, &old).map_err(io_fail("cannot move the old data directory aside"))?;
        let _ = fs::rename(old.join(TOKEN_KEY_FILE), staging.join(TOKEN_KEY_FILE));
        if let Err(e) = fs::rename(&staging, data_dir) {
            let _ = fs::rename(&old, data_dir);
            let _ = fs::remove_dir_all(&staging);
            return Err(fail(format!(
                "cannot move the loaded state into place: {e}"
            )));
        }
        let _ = fs::remove_dir_all(&old);
    } else {
        fs::rename(&staging, data_dir)
            .map_err(io_fail("cannot move the loaded state into place"))?;
    }
    Ok(stats)
}

/// Writes a snapshot of a data directory no server is using to `out` (a file written
/// beside it and renamed, so a failed save leaves no half archive).
pub fn save_offline(registry: &Registry, out: &Path) -> Result<SnapshotStats> {
    let tmp = out.with_extension(format!("partial-{}", uuid::Uuid::new_v4()));
    let file = File::create(&tmp).map_err(io_fail("cannot create the snapshot file"))?;
    let result = registry.save_snapshot(&file).and_then(|stats| {
        file.sync_all()
            .map_err(io_fail("cannot write the snapshot"))?;
        fs::rename(&tmp, out).map_err(io_fail("cannot write the snapshot"))?;
        Ok(stats)
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_paths_are_only_the_store_layout() {
        let sha = "ab".to_string() + &"0".repeat(62);
        assert!(valid_blob_path(&format!(
            "us-east-1/000000000000/acme/ab/{sha}"
        )));
        assert!(!valid_blob_path(&format!("../000000000000/acme/ab/{sha}")));
        assert!(!valid_blob_path(&format!(
            "us-east-1/000000000000/acme/cd/{sha}"
        )));
        assert!(!valid_blob_path("us-east-1/000000000000/acme/ab"));
    }
}
