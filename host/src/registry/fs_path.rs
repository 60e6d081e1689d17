//! Paths inside an `fs.directory`, as Wippy writes them: the directory is the root `/`, so
//! `/worker.wasm` and `worker.wasm` name the same file. `..` may not climb out of it; symlinks
//! that lead out are refused where the file is opened (cap-std).

use std::path::PathBuf;

/// The path relative to its directory (named `directory` in messages), or what is wrong.
pub fn inside_directory(path: &str, directory: &str) -> Result<PathBuf, String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(format!(
                        "`{path}` leaves the fs directory `{directory}`: `..` climbs above its root"
                    ));
                }
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        return Err(format!(
            "`{path}` names the fs directory `{directory}` itself, not a file inside it"
        ));
    }
    Ok(parts.iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directory_is_the_root() {
        let same = PathBuf::from("worker.wasm");
        assert_eq!(inside_directory("/worker.wasm", "d"), Ok(same.clone()));
        assert_eq!(inside_directory("worker.wasm", "d"), Ok(same.clone()));
        assert_eq!(inside_directory("./worker.wasm", "d"), Ok(same.clone()));
        assert_eq!(inside_directory("/lib/../worker.wasm", "d"), Ok(same));
        assert_eq!(
            inside_directory("/a/b.wasm", "d"),
            Ok(PathBuf::from("a").join("b.wasm"))
        );
    }

    #[test]
    fn climbing_out_is_refused() {
        for path in ["../worker.wasm", "/../worker.wasm", "a/../../x.wasm"] {
            let error = inside_directory(path, "d").unwrap_err();
            assert!(
                error.contains("leaves the fs directory `d`"),
                "{path}: {error}"
            );
        }
        assert!(
            inside_directory("/", "d")
                .unwrap_err()
                .contains("`d` itself")
        );
        assert!(inside_directory("", "d").is_err());
    }
}
