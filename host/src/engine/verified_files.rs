//! Files whose sha256 was computed on an earlier run, remembered by what identifies their
//! content without reading it: device, inode, size, and modification and change times.
//!
//! A run then neither reads nor hashes an unchanged component (a 12 MiB JavaScript component
//! costs ~8 ms to read and hash on every run), and an intact artifact is not checksummed
//! again. The reasoning is git's for its index: writing a file moves its change time
//! (ctime), which no program can set back, and a file put in its place has another inode or
//! a newer ctime. What remains is a file written twice within one timestamp tick; a record is
//! made only for a file whose times are [`SETTLED`] old, so a later write gets later times.
//!
//! A record proves nothing by itself: it is believed only from the private artifact cache
//! folder (the same owner and mode checks as a compiled artifact, see `artifact_cache`), and
//! it lets a run skip a hash, never accept one that differs from the pin.

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::artifact_cache::{store, untrusted};
use crate::regular_file;

/// How old a file's times must be before its digest is remembered.
pub const SETTLED: Duration = Duration::from_secs(2);

const TAG: &[u8; 8] = b"WIPPYV01";
const FIELDS: usize = 7;
const RECORD_LEN: usize = TAG.len() + FIELDS * 8 + 32;

/// The records in one trusted folder.
pub struct VerifiedFiles {
    dir: PathBuf,
}

impl VerifiedFiles {
    /// Records kept in `dir`, which the caller has checked may be trusted.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    /// The digest remembered for the file `metadata` describes, if it has not changed since.
    pub fn digest(&self, metadata: &Metadata) -> Option<[u8; 32]> {
        let path = self.record_path(metadata);
        let (file, record_metadata) = regular_file::open(&path).ok()?;
        if untrusted(&record_metadata).is_some() {
            return None;
        }
        let bytes =
            regular_file::read_to_limit(file, record_metadata.len(), RECORD_LEN as u64).ok()?;
        let record = bytes.strip_prefix(TAG.as_slice())?;
        if record.len() != FIELDS * 8 + 32 || record[..FIELDS * 8] != identity(metadata) {
            return None;
        }
        record[FIELDS * 8..].try_into().ok()
    }

    /// Remembers `digest` for the file `metadata` describes, once its times are settled.
    pub fn remember(&self, metadata: &Metadata, digest: &[u8; 32]) {
        self.remember_as_of(metadata, digest, SystemTime::now());
    }

    fn remember_as_of(&self, metadata: &Metadata, digest: &[u8; 32], now: SystemTime) {
        let settled = |seconds: i64, nanos: i64| {
            let at = SystemTime::UNIX_EPOCH
                + Duration::from_secs(seconds.max(0) as u64)
                + Duration::from_nanos(nanos.max(0) as u64);
            now.duration_since(at).is_ok_and(|age| age >= SETTLED)
        };
        if !settled(metadata.mtime(), metadata.mtime_nsec())
            || !settled(metadata.ctime(), metadata.ctime_nsec())
        {
            return;
        }
        let mut record = Vec::with_capacity(RECORD_LEN);
        record.extend_from_slice(TAG);
        record.extend_from_slice(&identity(metadata));
        record.extend_from_slice(digest);
        let path = self.record_path(metadata);
        if let Err(e) = store(&self.dir, &path, &record) {
            log::info!("cannot write the record {}: {e}", path.display());
        }
    }

    fn record_path(&self, metadata: &Metadata) -> PathBuf {
        self.dir.join(format!(
            "{:x}-{:x}.verified",
            metadata.dev(),
            metadata.ino()
        ))
    }
}

fn identity(metadata: &Metadata) -> [u8; FIELDS * 8] {
    let fields = [
        metadata.dev(),
        metadata.ino(),
        metadata.size(),
        metadata.mtime() as u64,
        metadata.mtime_nsec() as u64,
        metadata.ctime() as u64,
        metadata.ctime_nsec() as u64,
    ];
    let mut bytes = [0u8; FIELDS * 8];
    for (slot, field) in bytes.chunks_exact_mut(8).zip(fields) {
        slot.copy_from_slice(&field.to_le_bytes());
    }
    bytes
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn later() -> SystemTime {
        SystemTime::now() + SETTLED + Duration::from_secs(1)
    }

    #[test]
    fn a_settled_file_is_remembered_until_it_changes() {
        let records = tempfile::tempdir().unwrap();
        let files = tempfile::tempdir().unwrap();
        let verified = VerifiedFiles::in_dir(records.path());
        let file = files.path().join("c.wasm");
        std::fs::write(&file, b"first").unwrap();
        let metadata = std::fs::metadata(&file).unwrap();
        verified.remember(&metadata, &[7; 32]);
        assert_eq!(
            verified.digest(&metadata),
            None,
            "fresh times are not remembered"
        );
        verified.remember_as_of(&metadata, &[7; 32], later());
        assert_eq!(verified.digest(&metadata), Some([7; 32]));
        // Same size, new content: the change time moves, the record no longer applies.
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&file, b"other").unwrap();
        let changed = std::fs::metadata(&file).unwrap();
        assert_eq!(verified.digest(&changed), None);
    }

    #[test]
    fn a_record_others_could_write_is_not_believed() {
        let records = tempfile::tempdir().unwrap();
        let files = tempfile::tempdir().unwrap();
        let verified = VerifiedFiles::in_dir(records.path());
        std::fs::write(files.path().join("c.wasm"), b"component").unwrap();
        let metadata = std::fs::metadata(files.path().join("c.wasm")).unwrap();
        verified.remember_as_of(&metadata, &[1; 32], later());
        let record = verified.record_path(&metadata);
        std::fs::set_permissions(&record, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert_eq!(verified.digest(&metadata), None);
        std::fs::set_permissions(&record, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(verified.digest(&metadata), Some([1; 32]));
        std::fs::write(&record, b"WIPPYV01 cut short").unwrap();
        assert_eq!(
            verified.digest(&metadata),
            None,
            "a damaged record is ignored"
        );
    }
}
