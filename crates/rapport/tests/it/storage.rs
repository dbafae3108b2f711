//! Storage on both databases: migrations, readiness.

use crate::both_databases;
use crate::support::TestApp;

both_databases!(ready_after_migrations, |app: TestApp| async move {
    let (status, body) = app.get_text("/readyz").await;
    assert_eq!(status, 200);
    assert_eq!(body, "ready");
    let (status, body) = app.get_text("/healthz").await;
    assert_eq!((status.as_u16(), body.as_str()), (200, "ok"));
});

both_databases!(sign_up_lands_on_contacts, |app: TestApp| async move {
    let response = app
        .sign_up("Ada Lovelace", "ada@example.com", "Analytical Engines")
        .await;
    assert_eq!(crate::support::location(&response), "/contacts");
    let (status, body) = app.get_text("/contacts").await;
    assert_eq!(status, 200);
    assert!(body.contains("No contacts yet"), "{body}");
    assert!(body.contains("Analytical Engines"));
});
