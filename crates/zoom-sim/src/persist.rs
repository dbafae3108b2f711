//! State file: written atomically (temp file + rename) shortly after changes, read at
//! start, so a restarted simulator keeps its users, grants and meetings.

use crate::state::{Persisted, SimError, SimState};
use std::path::Path;
use std::sync::atomic::Ordering;

pub(crate) fn load(path: &Path) -> Result<Persisted, SimError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| SimError::StateFile(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Persisted::default()),
        Err(e) => Err(SimError::Io(e)),
    }
}

pub(crate) fn save(state: &SimState) -> Result<(), SimError> {
    let Some(path) = state.shared.state_file.clone() else {
        return Ok(());
    };
    let bytes = {
        let g = state.lock();
        serde_json::to_vec_pretty(&g.data).map_err(|e| SimError::StateFile(e.to_string()))?
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("zoom-sim-state.json");
    // A unique temporary name per write: two concurrent saves never share a half-written file.
    let tmp = dir.join(format!(
        ".{file_name}.tmp-{}-{}",
        std::process::id(),
        crate::ids::alnum(8)
    ));
    std::fs::write(&tmp, &bytes)?;
    std::fs::rename(&tmp, &path)?;
    Ok(())
}

/// Coalesces bursts of changes into one write every 100 ms at most.
pub(crate) fn spawn_saver(state: SimState) {
    let weak = std::sync::Arc::downgrade(&state.shared);
    drop(state);
    tokio::spawn(async move {
        loop {
            let Some(shared) = weak.upgrade() else { return };
            let notified = {
                let s = shared.clone();
                async move { s.dirty.notified().await }
            };
            drop(shared);
            notified.await;
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let Some(shared) = weak.upgrade() else { return };
            let st = SimState { shared };
            if let Err(e) = save(&st) {
                tracing::warn!(error = %e, "zoom-sim: could not write the state file");
            }
            if !st.shared.saver_started.load(Ordering::SeqCst) {
                return;
            }
        }
    });
}
