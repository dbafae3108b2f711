//! Accounts over HTTP: sign-up, sign-in and out, sessions, throttling, teammates, password
//! links, redirects, security headers and anti-forgery.

use reqwest::StatusCode;

use crate::both_databases;
use crate::kit::{self, PASSWORD, count, get_text, is_signed_in, set_cookie, sign_in_with};
use crate::support::{Db, TestApp, link_in, location, new_client, submit_with};

const OWNER: &str = "ada@example.com";

fn session_cookie(response: &reqwest::Response) -> String {
    set_cookie(response, "rapport_session").expect("a session cookie is set")
}

both_databases!(
    sign_up_validation_shows_each_error_and_keeps_input,
    |app: TestApp| async move {
        let typed_password = "zebra-lantern-91x";
        let long_org = "O".repeat(101);
        let cases: [(&str, &str, &str); 6] = [
            ("name", "   ", "Your name is required."),
            ("name", "Eve\r\nBcc: x@evil.example", "single line"),
            ("email", "not-an-email", "is not a valid email address"),
            ("password", "qz7", "8"),
            ("org_name", &long_org, "at most 100 characters"),
            ("time_zone", "Mars/Olympus_Mons", "is not a known time zone"),
        ];
        for (field, bad, message) in cases {
            let mut fields = vec![
                ("name", "Grace Hopper"),
                ("email", "grace@example.com"),
                ("password", typed_password),
                ("org_name", "Navy Labs"),
                ("time_zone", "Europe/Paris"),
            ];
            for f in &mut fields {
                if f.0 == field {
                    f.1 = bad;
                }
            }
            let response = app.submit("/sign-up", "/sign-up", &fields).await;
            assert_eq!(
                response.status(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "{field}"
            );
            assert!(set_cookie(&response, "rapport_session").is_none());
            let body = kit::unescape(&response.text().await.unwrap());
            let marker = format!("id=\"{field}-error\">");
            let at = body
                .find(&marker)
                .unwrap_or_else(|| panic!("no error next to {field}: {body}"));
            let shown = &body[at..at + body[at..].find("</p>").unwrap()];
            assert!(shown.contains(message), "{field}: {shown}");
            assert_eq!(body.matches("class=\"field-error\"").count(), 1, "{field}");
            for (f, v) in &fields {
                if *f == "password" || *f == "time_zone" || v.contains('\n') {
                    continue;
                }
                assert!(
                    body.contains(&format!("value=\"{v}\"")),
                    "{field}: typed {f} kept"
                );
            }
            assert!(
                !body.contains(typed_password),
                "the password is never echoed"
            );
            assert!(!body.contains("value=\"qz7\""));
        }
        assert_eq!(count(&app, "users").await, 0);
        assert_eq!(count(&app, "organizations").await, 0);
        assert_eq!(count(&app, "sessions").await, 0);
    }
);

both_databases!(
    duplicate_email_is_refused_and_nothing_is_stored,
    |app: TestApp| async move {
        app.sign_up("Ada Lovelace", OWNER, "Analytical Engines")
            .await;
        let other = new_client();
        let response = submit_with(
            &other,
            &app.base,
            "/sign-up",
            "/sign-up",
            &[
                ("name", "Impostor"),
                ("email", "ADA@Example.com"),
                ("password", PASSWORD),
                ("org_name", "Second Org"),
                ("time_zone", "UTC"),
            ],
        )
        .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = response.text().await.unwrap();
        assert!(body.contains("id=\"email-error\""), "{body}");
        assert!(body.contains("already exists"), "{body}");
        assert!(body.contains("Second Org"));
        assert_eq!(count(&app, "users").await, 1);
        assert_eq!(
            count(&app, "organizations").await,
            1,
            "the second organization was rolled back"
        );
        assert!(!is_signed_in(&other, &app.base).await);
    }
);

both_databases!(
    sign_in_rotates_the_session_and_sign_out_ends_it,
    |app: TestApp| async move {
        let signed_up = app
            .sign_up("Ada Lovelace", OWNER, "Analytical Engines")
            .await;
        let first = session_cookie(&signed_up);
        for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(first.contains(attribute), "{attribute} missing: {first}");
        }
        let first_id = kit::cookie_value(&first);
        assert!(
            kit::get_with_cookie(
                &app.base,
                "/contacts",
                &format!("rapport_session={first_id}")
            )
            .await
            .status()
            .is_success()
        );

        // Signing in again (same browser) gets a new id; the one set before sign-in no longer works.
        let again = submit_with(
            &app.client,
            &app.base,
            "/contacts",
            "/sign-in",
            &[("email", OWNER), ("password", PASSWORD)],
        )
        .await;
        assert_eq!(again.status(), StatusCode::SEE_OTHER);
        let second_id = kit::cookie_value(&session_cookie(&again));
        assert_ne!(first_id, second_id);
        let replay = kit::get_with_cookie(
            &app.base,
            "/contacts",
            &format!("rapport_session={first_id}"),
        )
        .await;
        assert_eq!(
            replay.status(),
            StatusCode::SEE_OTHER,
            "old session id survived sign-in"
        );
        assert!(is_signed_in(&app.client, &app.base).await);

        // A session id planted in a browser before sign-in is replaced, not adopted.
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let planted = "P".repeat(43);
        jar.add_cookie_str(
            &format!("rapport_session={planted}; Path=/"),
            &app.base.parse().unwrap(),
        );
        let victim = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let signed_in = sign_in_with(&victim, &app.base, OWNER, PASSWORD, "").await;
        assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
        let victim_id = kit::cookie_value(&session_cookie(&signed_in));
        assert_ne!(victim_id, planted);
        assert_eq!(
            kit::get_with_cookie(
                &app.base,
                "/contacts",
                &format!("rapport_session={planted}")
            )
            .await
            .status(),
            StatusCode::SEE_OTHER
        );

        // Sign-out deletes the session on the server: replaying the cookie is not signed in.
        let out = app.submit("/contacts", "/sign-out", &[]).await;
        assert_eq!(out.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&out), "/sign-in");
        let cleared = session_cookie(&out);
        assert!(kit::cookie_value(&cleared).is_empty(), "{cleared}");
        assert!(!is_signed_in(&app.client, &app.base).await);
        let replay = kit::get_with_cookie(
            &app.base,
            "/contacts",
            &format!("rapport_session={second_id}"),
        )
        .await;
        assert_eq!(
            replay.status(),
            StatusCode::SEE_OTHER,
            "signed-out session still works"
        );
        // The victim's own session is unaffected.
        assert!(is_signed_in(&victim, &app.base).await);
    }
);

both_databases!(
    wrong_password_and_unknown_email_are_refused_alike,
    |app: TestApp| async move {
        app.sign_up("Ada Lovelace", OWNER, "Analytical Engines")
            .await;
        let browser = new_client();
        let mut pages = Vec::new();
        for (email, password) in [
            (OWNER, "not the password"),
            ("nobody@example.com", PASSWORD),
        ] {
            let r = sign_in_with(&browser, &app.base, email, password, "").await;
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
            assert!(set_cookie(&r, "rapport_session").is_none());
            let body = r.text().await.unwrap();
            assert!(
                body.contains("The email or password is not right."),
                "{body}"
            );
            assert!(
                body.contains(&format!("value=\"{email}\"")),
                "typed email kept"
            );
            assert!(!body.contains(password));
            pages.push(body.replace(email, "EMAIL").replace(&kit_csrf(&body), "T"));
        }
        assert_eq!(
            pages[0], pages[1],
            "the pages do not tell which accounts exist"
        );
        assert!(!is_signed_in(&browser, &app.base).await);
    }
);

fn kit_csrf(body: &str) -> String {
    crate::support::csrf_token_in(body).unwrap_or_default()
}

both_databases!(
    sign_in_is_throttled_per_account_and_address,
    |app: TestApp| async move {
        app.sign_up("Ada Lovelace", OWNER, "Analytical Engines")
            .await;
        let attacker = new_client();
        for attempt in 1..=5 {
            let r = sign_in_with(&attacker, &app.base, OWNER, "guess guess guess", "").await;
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "attempt {attempt}");
        }
        // Even the right password is refused now, with a Retry-After.
        let r = sign_in_with(&attacker, &app.base, OWNER, PASSWORD, "").await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry: u64 = r
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .expect("Retry-After")
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=15 * 60).contains(&retry), "{retry}");
        assert!(set_cookie(&r, "rapport_session").is_none());
        assert!(!is_signed_in(&attacker, &app.base).await);

        // The account owner, from another address, is not locked out.
        let owner_elsewhere = kit::client_from("127.0.0.2");
        let r = sign_in_with(&owner_elsewhere, &app.base, OWNER, PASSWORD, "").await;
        assert_eq!(
            r.status(),
            StatusCode::SEE_OTHER,
            "other address locked out"
        );
        assert!(is_signed_in(&owner_elsewhere, &app.base).await);

        // The block ends.
        app.state.clock.advance(chrono::Duration::minutes(16));
        let r = sign_in_with(&attacker, &app.base, OWNER, PASSWORD, "").await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
);

/// Five wrong passwords for the owner from `client`, after which even the right one is refused.
async fn lock_out(app: &TestApp, client: &reqwest::Client) {
    for attempt in 1..=5 {
        let r = sign_in_with(client, &app.base, OWNER, "guess guess guess", "").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    let r = sign_in_with(client, &app.base, OWNER, PASSWORD, "").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
}

/// Behind a reverse proxy every connection comes from the proxy: with the proxy listed in
/// RAPPORT_TRUSTED_PROXIES, the throttle counts the address the proxy forwards, so an attacker
/// blocks only themselves; a client that connects directly cannot choose its address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_the_throttle_counts_the_forwarded_address() {
    let app = TestApp::spawn_with(Db::Sqlite, None, &["--trusted-proxies=127.0.0.1"]).await;
    app.sign_up("Ada Lovelace", OWNER, "Analytical Engines")
        .await;
    let owner_signs_in = || async {
        let owner = kit::client_behind_proxy("203.0.113.7");
        sign_in_with(&owner, &app.base, OWNER, PASSWORD, "")
            .await
            .status()
    };
    lock_out(&app, &kit::client_behind_proxy("198.51.100.9")).await;
    // The owner, through the same proxy from their own address, signs in.
    assert_eq!(
        owner_signs_in().await,
        StatusCode::SEE_OTHER,
        "owner locked out"
    );

    // A client connecting directly is counted by its own address, whatever it forwards: posing
    // as the owner's address, it blocks only itself.
    lock_out(&app, &kit::client_forwarding("127.0.0.2", "203.0.113.7")).await;
    assert_eq!(
        owner_signs_in().await,
        StatusCode::SEE_OTHER,
        "a spoofed X-Forwarded-For locked the owner out"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_shared_between_nodes_on_postgres() {
    let Some(server) = crate::support::postgres_server_url() else {
        return;
    };
    let url = crate::support::fresh_postgres_database(&server).await;
    let node_a = TestApp::spawn_with(Db::Postgres, Some(url.clone()), &[]).await;
    let node_b = TestApp::spawn_with(Db::Postgres, Some(url), &[]).await;
    let r = node_a
        .sign_up("Ada Lovelace", OWNER, "Analytical Engines")
        .await;
    let cookie = format!("rapport_session={}", kit::cookie_value(&session_cookie(&r)));
    let on_b = kit::get_with_cookie(&node_b.base, "/contacts", &cookie).await;
    assert_eq!(on_b.status(), StatusCode::OK);
    assert!(on_b.text().await.unwrap().contains("Analytical Engines"));
    // Signing out on node A ends the session on node B too.
    node_a.submit("/contacts", "/sign-out", &[]).await;
    let on_b = kit::get_with_cookie(&node_b.base, "/contacts", &cookie).await;
    assert_eq!(on_b.status(), StatusCode::SEE_OTHER);
}

both_databases!(
    owner_invites_a_teammate_who_sets_a_password,
    |app: TestApp| async move {
        app.sign_up("Ada Lovelace", OWNER, "Analytical Engines")
            .await;
        let r = app
            .submit(
                "/settings/team",
                "/settings/team",
                &[("name", "Bob Babbage"), ("email", "bob@example.com")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let mail = kit::mailbox(&app).await;
        assert_eq!(mail.len(), 1);
        assert!(mail[0].to_address.contains("bob@example.com"));
        let link = link_in(&mail[0].text_body, &app.url("/set-password/"))
            .unwrap_or_else(|| panic!("no link for {} in {}", app.base, mail[0].text_body));
        assert!(
            mail[0].html_body.contains(&link),
            "HTML part has the link too"
        );
        let path = link.trim_start_matches(&app.base).to_owned();

        // Before setting a password, Bob cannot sign in.
        let bob = new_client();
        let r = sign_in_with(&bob, &app.base, "bob@example.com", "", "").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

        let (status, page) = get_text(&bob, &app.base, &path).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("bob@example.com"));
        let r = submit_with(
            &bob,
            &app.base,
            &path,
            &path,
            &[("password", "bobs own passphrase")],
        )
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&r), "/sign-in");
        // The link works once.
        assert_eq!(
            kit::get(&bob, &app.base, &path).await.status(),
            StatusCode::GONE
        );

        let r = sign_in_with(
            &bob,
            &app.base,
            "bob@example.com",
            "bobs own passphrase",
            "",
        )
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (status, contacts) = get_text(&bob, &app.base, "/contacts").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            contacts.contains("Analytical Engines"),
            "Bob is in Ada's organization"
        );

        // A member cannot add teammates, nor see the jobs page.
        let r = submit_with(
            &bob,
            &app.base,
            "/settings/team",
            "/settings/team",
            &[("name", "Mallory"), ("email", "mallory@example.com")],
        )
        .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(count(&app, "users").await, 2);
        assert_eq!(kit::mailbox(&app).await.len(), 1);
    }
);

both_databases!(password_reset_by_email_link, |app: TestApp| async move {
    app.sign_up("Ada Lovelace", OWNER, "Analytical Engines")
        .await;
    assert!(is_signed_in(&app.client, &app.base).await);
    let forgetful = new_client();
    let ask = |email: &'static str| {
        let forgetful = forgetful.clone();
        let base = app.base.clone();
        async move {
            let r = submit_with(
                &forgetful,
                &base,
                "/forgot-password",
                "/forgot-password",
                &[("email", email)],
            )
            .await;
            assert_eq!(r.status(), StatusCode::OK);
            let body = r.text().await.unwrap();
            assert!(
                body.contains(&format!("If an account uses {email}")),
                "{body}"
            );
        }
    };

    // An unknown address shows the same page and sends nothing.
    ask("nobody@example.com").await;
    assert_eq!(kit::mailbox(&app).await.len(), 0);

    ask(OWNER).await;
    let mail = kit::mailbox(&app).await;
    assert_eq!(mail.len(), 1);
    let link = link_in(&mail[0].text_body, &app.url("/reset-password/")).expect("reset link");
    let path = link.trim_start_matches(&app.base).to_owned();
    let (status, _) = get_text(&forgetful, &app.base, &path).await;
    assert_eq!(status, StatusCode::OK);
    let r = submit_with(
        &forgetful,
        &app.base,
        &path,
        &path,
        &[("password", "a brand new passphrase")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/sign-in");

    // Whoever was signed in with the old password is out.
    assert!(
        !is_signed_in(&app.client, &app.base).await,
        "old session survived the reset"
    );
    assert_eq!(
        sign_in_with(&forgetful, &app.base, OWNER, PASSWORD, "")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        sign_in_with(&forgetful, &app.base, OWNER, "a brand new passphrase", "")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );

    // The link works once.
    assert_eq!(
        kit::get(&forgetful, &app.base, &path).await.status(),
        StatusCode::GONE
    );
    let again = submit_with(
        &forgetful,
        &app.base,
        &path,
        &path,
        &[("password", "yet another passphrase")],
    )
    .await;
    assert_eq!(again.status(), StatusCode::GONE);

    // A link expires after an hour.
    let other = new_client();
    let r = submit_with(
        &other,
        &app.base,
        "/forgot-password",
        "/forgot-password",
        &[("email", OWNER)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let mail = kit::mailbox(&app).await;
    assert_eq!(mail.len(), 2);
    let link = link_in(&mail[0].text_body, &app.url("/reset-password/")).expect("second link");
    let path = link.trim_start_matches(&app.base).to_owned();
    app.state.clock.advance(chrono::Duration::minutes(61));
    assert_eq!(
        kit::get(&other, &app.base, &path).await.status(),
        StatusCode::GONE
    );
    // Posted from a form opened before the link expired (the token comes from another page).
    let late = submit_with(
        &other,
        &app.base,
        "/sign-in",
        &path,
        &[("password", "too late passphrase")],
    )
    .await;
    assert_eq!(late.status(), StatusCode::GONE);
    assert_eq!(
        sign_in_with(&other, &app.base, OWNER, "a brand new passphrase", "")
            .await
            .status(),
        StatusCode::SEE_OTHER,
        "the expired link changed nothing"
    );
});

fn assert_on_site(app: &TestApp, loc: &str, payload: &str) {
    let base = url::Url::parse(&app.base).unwrap();
    let target = base
        .join(loc)
        .unwrap_or_else(|_| panic!("{payload}: bad Location {loc}"));
    assert_eq!(
        target.origin(),
        base.origin(),
        "{payload:?} redirected off-site to {loc}"
    );
    assert!(
        loc.starts_with('/') && !loc.starts_with("//") && !loc.starts_with("/\\"),
        "{payload:?}: {loc}"
    );
}

both_databases!(
    next_parameter_never_redirects_off_site,
    |app: TestApp| async move {
        app.sign_up("Ada Lovelace", OWNER, "Analytical Engines")
            .await;
        let payloads = [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "%2F%2Fevil.example",
            "javascript:alert(1)",
            "/\t/evil.example",
            "http:evil.example",
            "///evil.example",
        ];
        for payload in payloads {
            // The sign-in form's hidden field.
            let browser = new_client();
            let r = sign_in_with(&browser, &app.base, OWNER, PASSWORD, payload).await;
            assert_eq!(r.status(), StatusCode::SEE_OTHER, "{payload}");
            assert_on_site(&app, &location(&r), payload);
            // The query string of the sign-in page, for someone already signed in (raw and encoded).
            for query in [
                payload.to_owned(),
                percent_encoding::utf8_percent_encode(payload, percent_encoding::NON_ALPHANUMERIC)
                    .to_string(),
            ] {
                let r = browser
                    .get(format!("{}/sign-in?next={query}", app.base))
                    .send()
                    .await
                    .unwrap();
                if r.status().is_redirection() {
                    assert_on_site(&app, &location(&r), payload);
                }
            }
        }
        // A local path is followed.
        let browser = new_client();
        let r = sign_in_with(&browser, &app.base, OWNER, PASSWORD, "/settings").await;
        assert_eq!(location(&r), "/settings");
        // And the redirect to sign-in keeps the page asked for.
        let r = new_client()
            .get(app.url("/contacts/new"))
            .send()
            .await
            .unwrap();
        assert_eq!(location(&r), "/sign-in?next=%2Fcontacts%2Fnew");
    }
);

both_databases!(pages_carry_security_headers, |app: TestApp| async move {
    let anonymous = app.get("/sign-in").await;
    app.sign_up("Ada Lovelace", OWNER, "Analytical Engines")
        .await;
    let signed_in = app.get("/contacts").await;
    let missing = app.get("/no-such-page").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    for r in [anonymous, signed_in, missing] {
        let h = r.headers();
        let header = |name: &str| {
            h.get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let csp = header("content-security-policy");
        for directive in [
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "default-src 'self'",
        ] {
            assert!(
                csp.contains(directive),
                "{}: CSP lacks {directive}: {csp}",
                r.url()
            );
        }
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert!(!header("referrer-policy").is_empty());
        assert!(!header("referrer-policy").contains("unsafe-url"));
        assert!(header("cache-control").contains("no-store"), "{}", r.url());
    }
});

both_databases!(
    forms_without_a_valid_token_or_from_another_site_are_refused,
    |app: TestApp| async move {
        app.sign_up("Ada Lovelace", OWNER, "Analytical Engines")
            .await;
        let contact = [("name", "Grace Hopper"), ("email", "grace@example.com")];
        // Missing token.
        let r = app
            .client
            .post(app.url("/contacts"))
            .form(&contact)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        // Forged token.
        let mut forged = contact.to_vec();
        let fake = "A".repeat(43);
        forged.push(("csrf_token", &fake));
        let r = app
            .client
            .post(app.url("/contacts"))
            .form(&forged)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        // Another browser's real token.
        let other = new_client();
        let page = kit::get(&other, &app.base, "/sign-in")
            .await
            .text()
            .await
            .unwrap();
        let foreign = kit_csrf(&page);
        let mut stolen = contact.to_vec();
        stolen.push(("csrf_token", &foreign));
        let r = app
            .client
            .post(app.url("/contacts"))
            .form(&stolen)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        // A valid token, but the browser says the post comes from another site.
        let page = app.get("/contacts/new").await.text().await.unwrap();
        let token = kit_csrf(&page);
        let mut valid = contact.to_vec();
        valid.push(("csrf_token", &token));
        let r = app
            .client
            .post(app.url("/contacts"))
            .header("sec-fetch-site", "cross-site")
            .form(&valid)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = app
            .client
            .post(app.url("/contacts"))
            .header("origin", "https://evil.example")
            .form(&valid)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        // Sign-out without a token does not sign out.
        let r = app
            .client
            .post(app.url("/sign-out"))
            .form(&[("x", "y")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(is_signed_in(&app.client, &app.base).await);
        assert_eq!(count(&app, "contacts").await, 0, "nothing was stored");
        // The same form with its token works.
        let r = app
            .client
            .post(app.url("/contacts"))
            .form(&valid)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(count(&app, "contacts").await, 1);
    }
);

both_databases!(
    concurrent_wrong_passwords_still_trip_the_throttle,
    |app: TestApp| async move {
        app.sign_up("Ada Lovelace", OWNER, "Analytical Engines")
            .await;
        // An attacker fires guesses in parallel instead of one after another: every failure must
        // still count.
        let attacker = new_client();
        let page = kit::get(&attacker, &app.base, "/sign-in")
            .await
            .text()
            .await
            .unwrap();
        let token = kit_csrf(&page);
        let mut guesses = Vec::new();
        for n in 0..12 {
            let client = attacker.clone();
            let url = app.url("/sign-in");
            let token = token.clone();
            guesses.push(tokio::spawn(async move {
                let password = format!("wrong guess {n}");
                client
                    .post(url)
                    .form(&[
                        ("email", OWNER),
                        ("password", password.as_str()),
                        ("csrf_token", token.as_str()),
                    ])
                    .send()
                    .await
                    .unwrap()
                    .status()
            }));
        }
        let mut checked = 0;
        for g in guesses {
            let status = g.await.unwrap();
            assert!(
                status == StatusCode::UNAUTHORIZED || status == StatusCode::TOO_MANY_REQUESTS,
                "{status}"
            );
            checked += usize::from(status == StatusCode::UNAUTHORIZED);
        }
        // Each guess is counted before its password is checked, so no more than the limit (5)
        // were checked however many arrived at once.
        assert!(
            checked <= 5,
            "{checked} of 12 parallel guesses were checked"
        );
        let r = sign_in_with(&attacker, &app.base, OWNER, PASSWORD, "").await;
        assert_eq!(
            r.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "12 parallel failures did not block the pair"
        );
    }
);

both_databases!(
    parallel_failures_each_count_and_an_old_window_starts_again,
    |app: TestApp| async move {
        use rapport::accounts::throttle::{blocked_for, record_attempt, record_success};
        // Keeps the whole app (and its data directory) alive: the block would otherwise capture
        // only the fields it names.
        let app = app;
        let db = app.state.db.clone();
        let t0 = app.state.clock.now();
        let blocked = |email: &'static str, at| {
            let db = db.clone();
            async move {
                let mut pooled = db.acquire().await.unwrap();
                blocked_for(&mut pooled.conn(), email, "192.0.2.7", at)
                    .await
                    .unwrap()
            }
        };
        let fail = |email: &'static str, at| {
            let db = db.clone();
            async move {
                let mut pooled = db.acquire().await.unwrap();
                record_attempt(&mut pooled.conn(), email, "192.0.2.7", at)
                    .await
                    .unwrap()
            }
        };
        // Several rounds, each on its own account, so that a lost update has many chances to
        // show: four failures at once, then a fifth, must block (the limit is five).
        // 6 x 6 + 9 attempts in all stay under the address's own limit of 50.
        const ACCOUNTS: [&str; 7] = [
            "a@example.com",
            "b@example.com",
            "c@example.com",
            "d@example.com",
            "e@example.com",
            "f@example.com",
            "g@example.com",
        ];
        for email in ACCOUNTS.iter().take(6) {
            let allowed = futures::future::join_all((0..4).map(|_| fail(email, t0))).await;
            assert_eq!(allowed, [None; 4], "{email}: refused too soon");
            assert_eq!(blocked(email, t0).await, None, "{email}: blocked too soon");
            assert_eq!(
                fail(email, t0).await,
                None,
                "{email}: the fifth was refused"
            );
            assert_eq!(
                blocked(email, t0).await,
                Some(15 * 60),
                "{email}: a parallel failure was not counted"
            );
            assert_eq!(
                fail(email, t0).await,
                Some(15 * 60),
                "{email}: a sixth went on"
            );
        }
        // Failures older than the 15-minute window are forgotten: four, then one 16 minutes
        // later, is a fresh count of one.
        let email = ACCOUNTS[6];
        futures::future::join_all((0..4).map(|_| fail(email, t0))).await;
        let later = t0 + chrono::Duration::minutes(16);
        fail(email, later).await;
        assert_eq!(blocked(email, later).await, None);
        futures::future::join_all((0..3).map(|_| fail(email, later))).await;
        assert_eq!(blocked(email, later).await, None);
        fail(email, later).await;
        assert!(blocked(email, later).await.is_some());

        // Attempts that prove right are taken back: sixty people signing in from one office
        // address do not reach the address's limit of fifty.
        let mut pooled = db.acquire().await.unwrap();
        for n in 0..60 {
            let email = format!("colleague{n}@example.com");
            let refused = record_attempt(&mut pooled.conn(), &email, "198.51.100.1", later)
                .await
                .unwrap();
            assert_eq!(refused, None, "sign-in {n} from the office refused");
            record_success(&mut pooled.conn(), &email, "198.51.100.1")
                .await
                .unwrap();
        }
        let after = blocked_for(
            &mut pooled.conn(),
            "someone@example.com",
            "198.51.100.1",
            later,
        )
        .await
        .unwrap();
        assert_eq!(after, None, "successful sign-ins blocked their address");
    }
);

both_databases!(
    sessions_end_after_idle_and_absolute_timeouts,
    |app: TestApp| async move {
        app.sign_up("Ada Lovelace", OWNER, "Analytical Engines")
            .await;
        // Active every six days: still signed in until the 30-day limit.
        for _ in 0..4 {
            app.state.clock.advance(chrono::Duration::days(6));
            assert!(is_signed_in(&app.client, &app.base).await);
        }
        app.state
            .clock
            .advance(chrono::Duration::days(6) + chrono::Duration::hours(1));
        assert!(
            !is_signed_in(&app.client, &app.base).await,
            "session outlived 30 days"
        );
        // Idle for more than seven days ends a fresh session.
        let r = sign_in_with(&app.client, &app.base, OWNER, PASSWORD, "").await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(is_signed_in(&app.client, &app.base).await);
        app.state
            .clock
            .advance(chrono::Duration::days(7) + chrono::Duration::minutes(1));
        assert!(
            !is_signed_in(&app.client, &app.base).await,
            "idle session survived"
        );
    }
);

both_databases!(
    using_one_password_link_voids_the_others,
    |app: TestApp| async move {
        app.sign_up("Ada Lovelace", OWNER, "Analytical Engines")
            .await;
        let browser = new_client();
        for _ in 0..2 {
            let r = submit_with(
                &browser,
                &app.base,
                "/forgot-password",
                "/forgot-password",
                &[("email", OWNER)],
            )
            .await;
            assert_eq!(r.status(), StatusCode::OK);
        }
        let mail = kit::mailbox(&app).await;
        assert_eq!(mail.len(), 2);
        let paths: Vec<String> = mail
            .iter()
            .map(|m| {
                link_in(&m.text_body, &app.url("/reset-password/"))
                    .unwrap()
                    .trim_start_matches(&app.base)
                    .to_owned()
            })
            .collect();
        assert_ne!(paths[0], paths[1]);
        // Both links submitted at once: exactly one sets the password.
        let mut posts = Vec::new();
        for (n, path) in paths.iter().chain(paths.iter()).enumerate() {
            let client = new_client();
            let base = app.base.clone();
            let path = path.clone();
            posts.push(tokio::spawn(async move {
                let password = format!("new passphrase number {n}");
                let r = submit_with(&client, &base, &path, &path, &[("password", &password)]).await;
                (r.status(), location(&r), password)
            }));
        }
        let mut winners = Vec::new();
        for p in posts {
            let (status, loc, password) = p.await.unwrap();
            if status == StatusCode::SEE_OTHER && loc == "/sign-in" {
                winners.push(password);
            }
        }
        assert_eq!(winners.len(), 1, "{winners:?}");
        let r = sign_in_with(&new_client(), &app.base, OWNER, &winners[0], "").await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        for path in &paths {
            assert_eq!(
                kit::get(&browser, &app.base, path).await.status(),
                StatusCode::GONE
            );
        }
    }
);

both_databases!(
    inviting_an_existing_email_is_refused_without_mail,
    |app: TestApp| async move {
        app.sign_up("Ada Lovelace", OWNER, "Analytical Engines")
            .await;
        kit::browser_with_org(&app, "Mallory", "mallory@example.com", "Other Org").await;
        for email in ["MALLORY@example.com", OWNER] {
            let r = app
                .submit(
                    "/settings/team",
                    "/settings/team",
                    &[("name", "Someone"), ("email", email)],
                )
                .await;
            assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
            let body = r.text().await.unwrap();
            assert!(body.contains("id=\"email-error\""), "{body}");
            assert!(body.contains("value=\"Someone\""));
        }
        assert_eq!(count(&app, "users").await, 2);
        assert_eq!(count(&app, "outbox").await, 0);
        assert_eq!(count(&app, "password_tokens").await, 0);
    }
);
