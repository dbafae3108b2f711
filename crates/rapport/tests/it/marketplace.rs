//! The Marketplace kit over HTTP: public pages without a session, the domain verification file,
//! and pages replaced by the operator's Markdown.

use crate::both_databases;
use crate::support::{Db, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_pages_render_without_signing_in() {
    let app = TestApp::spawn(Db::Sqlite).await;
    for (path, must) in [
        (
            "/docs/zoom",
            ["Adding the app", "Using the app", "Removing the app"],
        ),
        ("/privacy", ["Privacy policy", "What we keep", "How long"]),
        ("/terms", ["Terms of use", "Zoom", "Acceptable use"]),
        (
            "/support",
            ["Support", "Common questions", "Removing the app"],
        ),
    ] {
        let (status, body) = app.get_text(path).await;
        assert_eq!(status, 200, "{path}");
        for text in must {
            assert!(body.contains(text), "{path} lacks {text:?}");
        }
        assert!(!body.contains("Sign out"), "{path} is shown signed out");
    }
    // Linked from the sign-in page.
    let (_, sign_in) = app.get_text("/sign-in").await;
    for link in ["/docs/zoom", "/privacy", "/terms", "/support"] {
        assert!(
            sign_in.contains(&format!("href=\"{link}\"")),
            "sign-in page links {link}"
        );
    }
    // No verification code configured: nothing to serve.
    assert_eq!(app.get("/verifyzoom.html").await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verifyzoom_serves_exactly_the_configured_bytes_and_pages_can_be_replaced() {
    let pages = tempfile::tempdir().unwrap();
    std::fs::write(
        pages.path().join("privacy.md"),
        "# Our privacy promise\n\nWe keep **little**. <script>alert(1)</script>\n",
    )
    .unwrap();
    let dir = pages.path().display().to_string();
    let code = "zoom-verification-3f9a1c";
    let app = TestApp::spawn_with(
        Db::Sqlite,
        None,
        &[
            "--zoom-domain-verification",
            code,
            "--pages-dir",
            &dir,
            "--support-email",
            "help@example.com",
        ],
    )
    .await;
    let response = app.get("/verifyzoom.html").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap().as_ref(), code.as_bytes());
    let (status, privacy) = app.get_text("/privacy").await;
    assert_eq!(status, 200);
    assert!(
        privacy.contains("<h1>Our privacy promise</h1>")
            && privacy.contains("<strong>little</strong>")
    );
    assert!(
        !privacy.contains("<script>alert(1)"),
        "raw HTML from the Markdown file is dropped"
    );
    // Pages without a replacement stay built in, with the configured support address.
    let (_, support) = app.get_text("/support").await;
    assert!(support.contains("mailto:help@example.com"));
}

// The user documentation shows Rapport's own pages: every picture on /docs/zoom loads for a
// visitor who is not signed in, is a PNG a browser may cache, and says what it shows.
both_databases!(
    zoom_docs_screenshots_load_without_a_session,
    |app: TestApp| async move {
        let (status, page) = app.get_text("/docs/zoom").await;
        assert_eq!(status, 200);
        let images: Vec<String> = page
            .split("<img ")
            .skip(1)
            .map(|rest| format!(" {}", rest.split('>').next().unwrap_or_default()))
            .collect();
        assert!(
            images.len() >= 5,
            "/docs/zoom shows the connect, consent, connected, schedule and disconnect screens"
        );
        for tag in images {
            let attr = |name: &str| {
                let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
                Some(tag[start..].split('"').next()?.to_owned())
            };
            let src = attr("src").expect("an src");
            let alt = attr("alt").unwrap_or_default();
            assert!(alt.len() > 20, "{src} has a description: {alt:?}");
            let response = app.get(&src).await;
            assert_eq!(response.status(), 200, "{src}");
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned()
            };
            assert_eq!(header("content-type"), "image/png", "{src}");
            assert!(header("cache-control").contains("max-age="), "{src}");
            assert_eq!(header("x-content-type-options"), "nosniff", "{src}");
            let bytes = response.bytes().await.unwrap();
            assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{src} is a PNG");
            // The page reserves the picture's real size (no jump while it loads).
            let dimension = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
            assert_eq!(
                (attr("width"), attr("height")),
                (
                    Some(dimension(16).to_string()),
                    Some(dimension(20).to_string())
                ),
                "{src}: width and height match the PNG"
            );
        }
        assert_eq!(app.get("/static/docs/nothing.png").await.status(), 404);
    }
);
