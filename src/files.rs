//! What an import may read: a regular file (not `/dev/zero`, a directory or
//! a FIFO, which would be read forever or fail obscurely) of at most
//! `import.max_file_mb`, counted before reading and again while reading,
//! since a file may grow between the two.

use std::io::Read;
use std::path::Path;

/// The whole file, or why it is refused: one line naming the path.
pub fn read(path: &Path, max_bytes: u64) -> Result<Vec<u8>, String> {
    let size = regular_size(path)?;
    if size > max_bytes {
        return Err(too_big(path, max_bytes));
    }
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_big(path, max_bytes));
    }
    Ok(bytes)
}

/// The size of `path` if it is a regular file (through symbolic links).
pub fn regular_size(path: &Path) -> Result<u64, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file (a device, a FIFO or a socket)"
        };
        return Err(format!(
            "{}: is {what}; an import reads a regular file",
            path.display()
        ));
    }
    Ok(meta.len())
}

fn too_big(path: &Path, max_bytes: u64) -> String {
    format!(
        "{}: is larger than {} MB (import.max_file_mb)",
        path.display(),
        max_bytes / (1024 * 1024)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_regular_file_or_too_big() {
        let err = read(Path::new("/dev/zero"), 1024).unwrap_err();
        assert!(err.contains("not a regular file"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let err = read(dir.path(), 1024).unwrap_err();
        assert!(err.contains("a directory"), "{err}");
        let file = dir.path().join("big.csv");
        std::fs::write(&file, vec![b'a'; 2 * 1024 * 1024 + 1]).unwrap();
        let err = read(&file, 2 * 1024 * 1024).unwrap_err();
        assert!(
            err.contains("larger than 2 MB (import.max_file_mb)"),
            "{err}"
        );
        assert_eq!(
            read(&file, 3 * 1024 * 1024).unwrap().len(),
            2 * 1024 * 1024 + 1
        );
    }
}
