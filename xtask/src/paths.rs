//! Where things live, resolved from the workspace root.

use std::path::{Path, PathBuf};

/// The workspace root: xtask sits one level below it.
pub fn repo_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map_or_else(|| manifest_dir.to_path_buf(), Path::to_path_buf)
}

/// The Zoom OpenAPI folder: the caller's `ZOOM_OPENAPI_DIR`, else `shared/zoom-openapi`
/// beside the clone (that is how CI lays out the checkout).
pub fn zoom_openapi_dir(repo: &Path, from_env: Option<&str>) -> PathBuf {
    match from_env {
        Some(dir) if !dir.is_empty() => absolute(repo, Path::new(dir)),
        _ => repo.join("..").join("shared").join("zoom-openapi"),
    }
}

/// The screenshot folder: the caller's `RAPPORT_SCREENSHOT_DIR`, else `target/screenshots`.
pub fn screenshot_dir(repo: &Path, from_env: Option<&str>) -> PathBuf {
    match from_env {
        Some(dir) if !dir.is_empty() => absolute(repo, Path::new(dir)),
        _ => repo.join("target").join("screenshots"),
    }
}

/// Tests run with their own crate as working directory, so every path we hand them
/// must be absolute; relative ones are taken from the workspace root.
pub fn absolute(repo: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        repo.join(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_root_holds_the_workspace_manifest() {
        let root = repo_root();
        assert!(root.join("Cargo.toml").is_file());
        assert!(root.join("xtask").is_dir());
    }

    #[test]
    fn openapi_dir_defaults_to_shared_beside_the_clone() {
        let dir = zoom_openapi_dir(Path::new("/ci/clone"), None);
        assert_eq!(dir, Path::new("/ci/clone/../shared/zoom-openapi"));
        let empty = zoom_openapi_dir(Path::new("/ci/clone"), Some(""));
        assert_eq!(empty, dir);
    }

    #[test]
    fn openapi_dir_from_env_is_made_absolute() {
        let repo = Path::new("/ci/clone");
        assert_eq!(zoom_openapi_dir(repo, Some("/specs")), Path::new("/specs"));
        assert_eq!(
            zoom_openapi_dir(repo, Some("specs")),
            Path::new("/ci/clone/specs")
        );
    }

    #[test]
    fn screenshot_dir_defaults_to_target_screenshots() {
        let repo = Path::new("/ci/clone");
        assert_eq!(
            screenshot_dir(repo, None),
            Path::new("/ci/clone/target/screenshots")
        );
        assert_eq!(
            screenshot_dir(repo, Some("shots")),
            Path::new("/ci/clone/shots")
        );
        assert_eq!(
            screenshot_dir(repo, Some("/tmp/shots")),
            Path::new("/tmp/shots")
        );
    }
}
