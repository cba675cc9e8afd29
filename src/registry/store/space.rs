//! The free-space watermark: writes are refused while the data directory's file system has
//! less than it free, so the store never meets `ENOSPC` in the middle of a commit; reads
//! never look at it, and writes resume by themselves once space is back.

use std::io;
use std::path::{Path, PathBuf};

/// The data directory's file system and the space that must stay free on it.
#[derive(Debug, Clone)]
pub(in crate::registry) struct Space {
    dir: PathBuf,
    min_free: u64,
}

impl Space {
    /// A watermark of `min_free` bytes on the file system holding `dir` (0: none).
    pub fn new(dir: &Path, min_free: u64) -> Space {
        Space {
            dir: dir.to_path_buf(),
            min_free,
        }
    }

    /// `Ok` while at least the watermark is free; otherwise an error of kind
    /// `StorageFull` saying so.
    pub fn check(&self) -> io::Result<()> {
        self.check_against(
            self.min_free,
            "watermark",
            "writes are refused until space is freed",
        )
    }

    /// `Ok` while at least half the watermark is free: the floor for changes that only
    /// remove (deletes, disposals), which write little and may free space, so that space
    /// can be freed through the API below the watermark. Below the floor even they are
    /// refused.
    pub fn check_floor(&self) -> io::Result<()> {
        self.check_against(
            self.min_free / 2,
            "floor for deletions",
            "even deletions are refused until space is freed",
        )
    }

    fn check_against(&self, min_free: u64, limit: &str, refused: &str) -> io::Result<()> {
        if min_free == 0 {
            return Ok(());
        }
        let stat = rustix::fs::statvfs(&self.dir)?;
        let free = stat.f_bavail.saturating_mul(stat.f_frsize);
        if free < min_free {
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                format!(
                    "The server's data directory has {free} bytes free, below its {limit} of \
                     {min_free} bytes; {refused}"
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watermark_above_the_disk_refuses_and_none_accepts() {
        let dir = std::env::temp_dir();
        assert!(Space::new(&dir, 0).check().is_ok());
        assert!(Space::new(&dir, 1).check().is_ok());
        let full = Space::new(&dir, u64::MAX).check().unwrap_err();
        assert_eq!(full.kind(), io::ErrorKind::StorageFull);
        // The floor for deletions is half the watermark.
        let free = {
            let stat = rustix::fs::statvfs(&dir).unwrap();
            stat.f_bavail.saturating_mul(stat.f_frsize)
        };
        let between = Space::new(&dir, free + free / 2);
        assert!(between.check().is_err());
        assert!(between.check_floor().is_ok());
    }
}
