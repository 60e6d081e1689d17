//! Reading a file the loaders were pointed at, without trusting what sits at the path.
//!
//! Registry YAML, `file://` targets, component files and cached artifacts are all named by
//! someone else: a FIFO makes `open` block until a writer appears, and a device such as
//! `/dev/zero` never ends. So only regular files are read. The kind is checked before
//! opening (opening a FIFO for reading is what blocks), the file is opened non-blocking (a FIFO
//! swapped in between the two cannot block either) and checked again on the open handle, which
//! is the one then read. Reads stop at a limit, so a file that grows meanwhile cannot either.

use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use cap_std::fs::{Dir, FileTypeExt as _, OpenOptionsExt as _};

/// Why a file was not read.
#[derive(Debug)]
pub enum ReadError {
    /// Not a regular file; what it is instead, such as "a FIFO (named pipe)".
    NotRegular(&'static str),
    /// More than `limit` bytes.
    TooLarge {
        size: u64,
        limit: u64,
    },
    Io(io::Error),
}

impl From<io::Error> for ReadError {
    fn from(error: io::Error) -> Self {
        ReadError::Io(error)
    }
}

/// Neither blocks on a FIFO nor makes a terminal the controlling one.
const OPEN_FLAGS: i32 = libc::O_NONBLOCK | libc::O_NOCTTY;

/// Opens `path` (symlinks followed) if it is a regular file, with its metadata from the handle.
pub fn open(path: &Path) -> Result<(File, Metadata), ReadError> {
    let before = std::fs::metadata(path)?;
    refuse_other_kinds(&before.file_type())?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(OPEN_FLAGS)
        .open(path)?;
    let metadata = file.metadata()?;
    refuse_other_kinds(&metadata.file_type())?;
    Ok((file, metadata))
}

/// Opens `relative` inside `dir` if it is a regular file. cap-std resolves the path inside
/// `dir` and refuses anything, a symlink included, that would lead out of it.
pub fn open_in(dir: &Dir, relative: &Path) -> Result<(File, Metadata), ReadError> {
    let before = dir.metadata(relative)?;
    let kind = before.file_type();
    if !kind.is_file() {
        return Err(ReadError::NotRegular(describe(
            kind.is_dir(),
            kind.is_fifo(),
            kind.is_char_device(),
            kind.is_block_device(),
            kind.is_socket(),
        )));
    }
    let mut options = cap_std::fs::OpenOptions::new();
    options.read(true).custom_flags(OPEN_FLAGS);
    let file = dir.open_with(relative, &options)?.into_std();
    let metadata = file.metadata()?;
    refuse_other_kinds(&metadata.file_type())?;
    Ok((file, metadata))
}

/// The whole of `path`, at most `limit` bytes.
pub fn read(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let (file, metadata) = open(path)?;
    read_to_limit(file, metadata.len(), limit)
}

/// The whole of `relative` inside `dir`, at most `limit` bytes.
pub fn read_in(dir: &Dir, relative: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let (file, metadata) = open_in(dir, relative)?;
    read_to_limit(file, metadata.len(), limit)
}

/// Reads to the end, refusing more than `limit` bytes: the size is checked first, and the read
/// is bounded too, for a file that grows while it is read.
pub fn read_to_limit(file: impl Read, size: u64, limit: u64) -> Result<Vec<u8>, ReadError> {
    if size > limit {
        return Err(ReadError::TooLarge { size, limit });
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            size: bytes.len() as u64,
            limit,
        });
    }
    Ok(bytes)
}

fn refuse_other_kinds(kind: &std::fs::FileType) -> Result<(), ReadError> {
    if kind.is_file() {
        return Ok(());
    }
    Err(ReadError::NotRegular(describe(
        kind.is_dir(),
        kind.is_fifo(),
        kind.is_char_device(),
        kind.is_block_device(),
        kind.is_socket(),
    )))
}

fn describe(
    dir: bool,
    fifo: bool,
    char_device: bool,
    block_device: bool,
    socket: bool,
) -> &'static str {
    if dir {
        "a folder"
    } else if fifo {
        "a FIFO (named pipe)"
    } else if char_device {
        "a character device"
    } else if block_device {
        "a block device"
    } else if socket {
        "a socket"
    } else {
        "not a regular file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_folders_are_refused_without_reading() {
        let started = std::time::Instant::now();
        for (path, what) in [
            ("/dev/zero", "a character device"),
            ("/dev/null", "a character device"),
            ("/", "a folder"),
        ] {
            match read(Path::new(path), 1 << 20) {
                Err(ReadError::NotRegular(kind)) => assert_eq!(kind, what, "{path}"),
                other => panic!("{path}: {other:?}"),
            }
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn a_file_larger_than_the_limit_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.txt");
        std::fs::write(&path, vec![b'x'; 100]).unwrap();
        assert_eq!(read(&path, 100).unwrap().len(), 100);
        assert!(matches!(
            read(&path, 99),
            Err(ReadError::TooLarge {
                size: 100,
                limit: 99
            })
        ));
    }
}
