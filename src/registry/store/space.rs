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
        if self.min_free == 0 {
            return Ok(());
        }
        let stat = rustix::fs::statvfs(&self.dir)?;
        let free = stat.f_bavail.saturating_mul(stat.f_frsize);
        if free < self.min_free {
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                format!(
                    "The server's data directory has {free} bytes free, below its watermark \
                     of {} bytes; writes are refused until space is freed",
                    self.min_free
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
    }
}
