use crate::common::*;
use reqwest::Method;
use serde_json::Value;

#[tokio::test]
async fn state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sim.json");
    let sim = builder()
        .state_file(&path)
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let t = connect(&sim, "keep@example.com").await;
    let m = create_meeting(&sim, &at(&t), meeting_body("Persisted")).await;
    sim.shutdown().await.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("keep@example.com"));
    assert!(
        !dir.path().read_dir().unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains(".tmp"))
    );

    // A new process: no apps passed, they come from the file too.
    let sim = zoom_sim::ZoomSim::builder()
        .state_file(&path)
        .rate_limits(zoom_sim::RateLimitConfig::unlimited())
        .start("127.0.0.1:0")
        .await
        .unwrap();
    assert_eq!(sim.apps().len(), 1);
    let got: Value = api(
        &sim,
        &at(&t),
        Method::GET,
        &format!("/meetings/{}", m["id"]),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(got["topic"], "Persisted");
    let r = refresh(&sim, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(r.status(), 200);
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_corrupt_state_file_is_an_error_not_a_silent_reset() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sim.json");
    std::fs::write(&path, "{not json").unwrap();
    let r = zoom_sim::ZoomSim::builder()
        .state_file(&path)
        .start("127.0.0.1:0")
        .await;
    assert!(matches!(r, Err(zoom_sim::SimError::StateFile(_))));
}
