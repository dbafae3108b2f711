//! Contacts over HTTP: validation, timeline, search, keyset pagination, authorization between
//! organizations, CSV import and export.

use reqwest::StatusCode;

use crate::both_databases;
use crate::kit::{self, count, create_contact, get_text, unescape, upload_csv};
use crate::support::{TestApp, location, submit_with};

async fn owner(app: &TestApp) {
    app.sign_up("Ada Lovelace", "ada@example.com", "Analytical Engines")
        .await;
}

/// Contact ids linked from a list page, in page order.
fn listed_ids(body: &str) -> Vec<i64> {
    let marker = "class=\"contact-link\" href=\"/contacts/";
    body.match_indices(marker)
        .map(|(at, _)| {
            let rest = &body[at + marker.len()..];
            rest[..rest.find('"').unwrap()].parse().unwrap()
        })
        .collect()
}

fn next_page(body: &str) -> Option<String> {
    let at = body.find("rel=\"next\"")?;
    let before = &body[..at];
    let start = before.rfind("href=\"")? + "href=\"".len();
    let end = start + before[start..].find('"')?;
    Some(unescape(&before[start..end]))
}

fn error_next_to<'a>(body: &'a str, field: &str) -> Option<&'a str> {
    let marker = format!("id=\"{field}-error\">");
    let at = body.find(&marker)? + marker.len();
    Some(&body[at..at + body[at..].find("</p>")?])
}

both_databases!(
    contact_form_validation_create_edit_delete,
    |app: TestApp| async move {
        owner(&app).await;
        let long = "x".repeat(201);
        let cases: [(&str, &str, &str); 7] = [
            ("name", "  ", "Name is required."),
            ("name", "Grace\r\nHopper", "single line"),
            ("name", &long, "at most 200 characters"),
            ("email", "grace-at-navy", "is not a valid email address"),
            ("company", &long, "at most 200 characters"),
            ("time_zone", "Europe/Atlantis", "is not a known time zone"),
            ("phone", "call me maybe", "Phone can hold digits"),
        ];
        for (field, bad, message) in cases {
            let mut fields = vec![
                ("name", "Grace Hopper"),
                ("email", "grace@navy.example"),
                ("phone", "+1 555 0100"),
                ("company", "US Navy"),
                ("job_title", "Rear Admiral"),
                ("time_zone", "America/New_York"),
                ("notes", "Invented the compiler"),
            ];
            for f in &mut fields {
                if f.0 == field {
                    f.1 = bad;
                }
            }
            let r = app.submit("/contacts/new", "/contacts", &fields).await;
            assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{field}");
            let body = unescape(&r.text().await.unwrap());
            let shown = error_next_to(&body, field).unwrap_or_else(|| panic!("{field}: {body}"));
            assert!(shown.contains(message), "{field}: {shown}");
            assert!(body.contains("Nothing was saved"));
            for (f, v) in &fields {
                if *f == field || *f == "notes" {
                    continue;
                }
                assert!(
                    body.contains(&format!("value=\"{v}\"")),
                    "{field}: typed {f} lost"
                );
            }
            assert!(body.contains(">Invented the compiler</textarea>"));
        }
        assert_eq!(count(&app, "contacts").await, 0, "nothing stored");

        let id = create_contact(
            &app.client,
            &app.base,
            &[("name", "Grace Hopper"), ("email", "Grace@Navy.example")],
        )
        .await;
        let (status, page) = app.get_text(&format!("/contacts/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            page.contains("grace@navy.example"),
            "email stored lower-cased"
        );
        assert!(
            page.contains("Grace Hopper was added."),
            "flash after create"
        );

        // A bad edit shows the errors and keeps the stored contact as it was.
        let edit = format!("/contacts/{id}/edit");
        let action = format!("/contacts/{id}");
        let r = app
            .submit(
                &edit,
                &action,
                &[
                    ("name", "Grace Hopper"),
                    ("email", "nope"),
                    ("company", "Remington Rand"),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = r.text().await.unwrap();
        assert!(error_next_to(&body, "email").is_some());
        assert!(body.contains("value=\"Remington Rand\""));
        assert_eq!(
            count(
                &app,
                "contacts WHERE company IS NULL AND email = 'grace@navy.example'"
            )
            .await,
            1
        );

        let r = app
            .submit(
                &edit,
                &action,
                &[
                    ("name", "Grace B. Hopper"),
                    ("email", "grace@navy.example"),
                    ("company", "Remington Rand"),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&r), action);
        let (_, page) = app.get_text(&action).await;
        assert!(page.contains("Grace B. Hopper") && page.contains("Remington Rand"));

        // Delete asks first, then removes; the URL is gone afterwards.
        let (status, confirm) = app.get_text(&format!("/contacts/{id}/delete")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(confirm.contains("Grace B. Hopper"));
        let r = app
            .submit(
                &format!("/contacts/{id}/delete"),
                &format!("/contacts/{id}/delete"),
                &[],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&r), "/contacts");
        for path in [
            action.clone(),
            edit.clone(),
            format!("/contacts/{id}/delete"),
        ] {
            assert_eq!(
                app.get(&path).await.status(),
                StatusCode::NOT_FOUND,
                "{path}"
            );
        }
        let r = app
            .submit("/contacts", &action, &[("name", "Zombie")])
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(count(&app, "contacts").await, 0);
        assert_eq!(
            count(&app, "activities").await,
            0,
            "timeline entries go with the contact"
        );
    }
);

both_databases!(
    timeline_shows_created_and_edited,
    |app: TestApp| async move {
        owner(&app).await;
        let id = create_contact(&app.client, &app.base, &[("name", "Grace Hopper")]).await;
        let path = format!("/contacts/{id}");
        app.state.clock.advance(chrono::Duration::minutes(1));
        let r = app
            .submit(
                &format!("{path}/edit"),
                &path,
                &[
                    ("name", "Grace Hopper"),
                    ("email", "grace@navy.example"),
                    ("company", "US Navy"),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        // Saving without changes adds nothing.
        app.state.clock.advance(chrono::Duration::minutes(1));
        let r = app
            .submit(
                &format!("{path}/edit"),
                &path,
                &[
                    ("name", "Grace Hopper"),
                    ("email", "grace@navy.example"),
                    ("company", "US Navy"),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (_, page) = app.get_text(&path).await;
        let created = page
            .find("Ada Lovelace added this contact")
            .expect("created entry");
        let edited = page
            .find("Ada Lovelace edited email, company")
            .expect("edited entry");
        assert!(edited < created, "newest first");
        assert_eq!(page.matches("Ada Lovelace edited").count(), 1);
    }
);

both_databases!(
    search_matches_substrings_case_insensitively_and_literally,
    |app: TestApp| async move {
        owner(&app).await;
        let people: [&[(&str, &str)]; 5] = [
            &[
                ("name", "Ada Lovelace"),
                ("email", "ada@analytical.example"),
                ("company", "Analytical Engines"),
            ],
            &[
                ("name", "Grace Hopper"),
                ("email", "grace@navy.example"),
                ("company", "US Navy"),
            ],
            &[("name", "Percy Percent"), ("company", "100% Organic")],
            &[("name", "Una Underscore"), ("email", "una_u@example.com")],
            &[
                ("name", "Zed Plain"),
                ("email", "zedxu@example.com"),
                ("company", "50 Organic"),
            ],
        ];
        for p in people {
            create_contact(&app.client, &app.base, p).await;
        }
        let names = [
            "Ada Lovelace",
            "Grace Hopper",
            "Percy Percent",
            "Una Underscore",
            "Zed Plain",
        ];
        let cases: [(&str, &[&str]); 9] = [
            ("LOVELACE", &["Ada Lovelace"]),
            ("navy.EXAMPLE", &["Grace Hopper"]),
            ("engines", &["Ada Lovelace"]),
            ("organic", &["Percy Percent", "Zed Plain"]),
            ("%", &["Percy Percent"]),
            ("0%", &["Percy Percent"]),
            ("_", &["Una Underscore"]),
            ("a_u", &["Una Underscore"]),
            ("\\", &[]),
        ];
        for (q, expected) in cases {
            let url = format!(
                "{}/contacts?q={}",
                app.base,
                percent_encoding::utf8_percent_encode(q, percent_encoding::NON_ALPHANUMERIC)
            );
            let r = app.client.get(url).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            let body = r.text().await.unwrap();
            for name in names {
                assert_eq!(
                    body.contains(&format!("</span>{name}</a>")),
                    expected.contains(&name),
                    "q={q:?} name={name}"
                );
            }
            if expected.is_empty() {
                assert!(body.contains("No contact matches"), "{body}");
            }
        }
    }
);

/// The names a search for `q` lists.
async fn search_hits(app: &TestApp, q: &str, names: &[&str]) -> Vec<String> {
    let (status, body) = app
        .get_text(&format!(
            "/contacts?q={}",
            percent_encoding::utf8_percent_encode(q, percent_encoding::NON_ALPHANUMERIC)
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    names
        .iter()
        .filter(|n| body.contains(&format!("</span>{n}</a>")))
        .map(|n| n.to_string())
        .collect()
}

both_databases!(
    search_follows_edits_and_deletions,
    |app: TestApp| async move {
        owner(&app).await;
        let id = create_contact(
            &app.client,
            &app.base,
            &[("name", "Mary Jackson"), ("company", "Langley Research")],
        )
        .await;
        create_contact(&app.client, &app.base, &[("name", "Dorothy Vaughan")]).await;
        let names = ["Mary Jackson", "Mary Winston Jackson", "Dorothy Vaughan"];
        assert_eq!(search_hits(&app, "langley", &names).await, ["Mary Jackson"]);
        let (_, page) = app.get_text("/contacts").await;
        assert!(page.contains("2 contacts in"), "{page}");

        // Renamed and moved to another company: found by the new words only.
        let r = app
            .submit(
                &format!("/contacts/{id}/edit"),
                &format!("/contacts/{id}"),
                &[
                    ("name", "Mary Winston Jackson"),
                    ("company", "NASA Hampton"),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(search_hits(&app, "langley", &names).await.is_empty());
        assert_eq!(
            search_hits(&app, "winston", &names).await,
            ["Mary Winston Jackson"]
        );
        assert_eq!(
            search_hits(&app, "hampton", &names).await,
            ["Mary Winston Jackson"]
        );

        // Deleted: no longer found; the other contact still is.
        let r = app
            .submit(
                &format!("/contacts/{id}/delete"),
                &format!("/contacts/{id}/delete"),
                &[],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(search_hits(&app, "winston", &names).await.is_empty());
        assert_eq!(
            search_hits(&app, "vaughan", &names).await,
            ["Dorothy Vaughan"]
        );
        // The organization's contact count follows too.
        let (_, page) = app.get_text("/contacts").await;
        assert!(page.contains("1 contact in"), "{page}");
    }
);

both_databases!(
    keyset_pagination_lists_each_contact_once_in_name_order,
    |app: TestApp| async move {
        owner(&app).await;
        let org_id = kit::scalar(&app, "SELECT org_id FROM users").await;
        let user_id = kit::scalar(&app, "SELECT id FROM users").await;
        let now = app.state.clock.now();
        let mut expected: Vec<(String, i64)> = Vec::new();
        let mut tx = app.state.db.begin().await.unwrap();
        for i in 0..120 {
            // Scrambled order, mixed case, and ten identical names so ties are broken by id.
            let name = if i % 12 == 0 {
                "Same Name".to_owned()
            } else if i % 2 == 0 {
                format!("person {:03}", (i * 37) % 120)
            } else {
                format!("Person {:03}", (i * 53) % 120)
            };
            let data = rapport::contacts::storage::ContactData {
                company: Some(if i % 3 == 0 {
                    "Pagination Corp".into()
                } else {
                    "Other".into()
                }),
                ..kit::contact_named(name.clone())
            };
            let id = rapport::contacts::storage::insert(
                &mut tx.conn(),
                org_id,
                Some(user_id),
                &data,
                now,
            )
            .await
            .unwrap();
            expected.push((name.to_lowercase(), id));
        }
        tx.commit().await.unwrap();
        expected.sort();
        let walk = |start: String| {
            let client = app.client.clone();
            let base = app.base.clone();
            async move {
                let mut seen = Vec::new();
                let mut next = Some(start);
                let mut pages = 0;
                while let Some(path) = next {
                    let (status, body) = get_text(&client, &base, &path).await;
                    assert_eq!(status, StatusCode::OK, "{path}");
                    let ids = listed_ids(&body);
                    assert!(ids.len() <= 50);
                    seen.extend(ids);
                    next = next_page(&body);
                    pages += 1;
                    assert!(pages < 10, "pagination does not end");
                }
                (seen, pages)
            }
        };
        let (seen, pages) = walk("/contacts".into()).await;
        assert_eq!(pages, 3);
        let expected_ids: Vec<i64> = expected.iter().map(|(_, id)| *id).collect();
        assert_eq!(seen, expected_ids, "each contact once, in name order");

        // Paging through search results keeps the search.
        let (seen, _) = walk("/contacts?q=pagination".into()).await;
        let expected_found: Vec<i64> = expected
            .iter()
            .filter(|(_, id)| ((id - expected_ids.iter().min().unwrap()) % 3) == 0)
            .map(|(_, id)| *id)
            .collect();
        assert_eq!(seen.len(), 40);
        assert_eq!(seen, expected_found);
        // A tampered cursor is harmless.
        let (status, _) = app.get_text("/contacts?after=%%%not-base64").await;
        assert_eq!(status, StatusCode::OK);
    }
);

both_databases!(
    another_organization_cannot_see_or_change_a_contact,
    |app: TestApp| async move {
        owner(&app).await;
        let id = create_contact(
            &app.client,
            &app.base,
            &[("name", "Grace Hopper"), ("email", "grace@navy.example")],
        )
        .await;
        let intruder =
            kit::browser_with_org(&app, "Mallory", "mallory@example.com", "Other Org").await;
        let base = &app.base;
        for path in [
            format!("/contacts/{id}"),
            format!("/contacts/{id}/edit"),
            format!("/contacts/{id}/delete"),
        ] {
            assert_eq!(
                kit::get(&intruder, base, &path).await.status(),
                StatusCode::NOT_FOUND,
                "{path}"
            );
        }
        let r = submit_with(
            &intruder,
            base,
            "/contacts/new",
            &format!("/contacts/{id}"),
            &[("name", "Pwned"), ("email", "x@evil.example")],
        )
        .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let r = submit_with(
            &intruder,
            base,
            "/contacts/new",
            &format!("/contacts/{id}"),
            &[("name", ""), ("email", "bad")],
        )
        .await;
        assert_eq!(
            r.status(),
            StatusCode::NOT_FOUND,
            "a bad form still gets 404 for someone else's contact"
        );
        let r = submit_with(
            &intruder,
            base,
            "/contacts/new",
            &format!("/contacts/{id}/delete"),
            &[],
        )
        .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let (_, list) = get_text(&intruder, base, "/contacts?q=grace").await;
        assert!(!list.contains("Grace Hopper"));
        let (_, export) = get_text(&intruder, base, "/contacts/export.csv").await;
        assert!(!export.contains("Hopper") && !export.contains("navy.example"));
        // Unchanged for its owner.
        let (status, page) = app.get_text(&format!("/contacts/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            page.contains("Grace Hopper")
                && page.contains("grace@navy.example")
                && !page.contains("Pwned")
        );
        assert_eq!(count(&app, "contacts").await, 1);
        assert_eq!(
            count(&app, "activities WHERE kind = 'contact_edited'").await,
            0
        );
        // Each organization's search finds its own matches only, by a short term (a scan) and
        // by a longer one (SQLite's trigram index, whose entries are per organization).
        submit_with(
            &intruder,
            base,
            "/contacts/new",
            "/contacts",
            &[("name", "Grace Intruder"), ("email", "grace@evil.example")],
        )
        .await;
        for q in ["gr", "grace", "grace@"] {
            let (_, theirs) = get_text(&intruder, base, &format!("/contacts?q={q}")).await;
            assert!(theirs.contains("Grace Intruder"), "q={q}");
            assert!(!theirs.contains("Grace Hopper"), "q={q}");
            let (_, ours) = app.get_text(&format!("/contacts?q={q}")).await;
            assert!(ours.contains("Grace Hopper"), "q={q}");
            assert!(!ours.contains("Grace Intruder"), "q={q}");
        }

        // Malformed ids are plain 404s.
        for raw in [
            "abc",
            "0",
            "-1",
            "1.5",
            "99999999999999999999",
            "%00",
            "1%20",
            "%F0%9F%98%80",
        ] {
            for suffix in ["", "/edit", "/delete"] {
                let path = format!("/contacts/{raw}{suffix}");
                assert_eq!(
                    app.get(&path).await.status(),
                    StatusCode::NOT_FOUND,
                    "{path}"
                );
            }
        }
    }
);

both_databases!(
    csv_import_reports_bad_rows_by_line,
    |app: TestApp| async move {
        owner(&app).await;
        let mut file: Vec<u8> = Vec::new();
        file.extend_from_slice(b"Name,Email,Company,Job title,Time zone,Notes\n");
        file.extend_from_slice(
            b"Ada Lovelace,ada@example.com,Analytical Engines,Countess,Europe/London,x\n",
        ); // 2
        file.extend_from_slice(b",nobody@example.com,,,,\n"); // 3
        file.extend_from_slice(b"Bob,not-an-email,,,,\n"); // 4
        file.extend_from_slice(b"Cyd,cyd@example.com,\xff\xfe bad,,,\n"); // 5
        file.extend_from_slice(b"Dee,dee@example.com,,,Mars/Base,\n"); // 6
        file.extend_from_slice(
            b"\"Hopper, Grace\",grace@navy.example,US Navy,,,\"first\nsecond\"\n",
        ); // 7-8
        file.extend_from_slice(b"Eve,eve@,,,,\n"); // 9
        file.extend_from_slice(b"\n"); // 10: blank, skipped
        let r = upload_csv(&app.client, &app.base, &file).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = unescape(&r.text().await.unwrap());
        assert!(body.contains("Imported 2 contacts."), "{body}");
        assert!(body.contains("5 rows were not imported"), "{body}");
        let expected = [
            (3, "Name is required."),
            (4, "is not a valid email address"),
            (5, "UTF-8"),
            (6, "is not a known time zone"),
            (9, "is not a valid email address"),
        ];
        for (line, reason) in expected {
            let row = format!("<tr><td>{line}</td><td>");
            let at = body
                .find(&row)
                .unwrap_or_else(|| panic!("line {line} not reported: {body}"));
            let cell = &body[at + row.len()..at + body[at..].find("</tr>").unwrap()];
            assert!(cell.contains(reason), "line {line}: {cell}");
        }
        assert_eq!(body.matches("<tr><td>").count(), 5);
        assert_eq!(count(&app, "contacts").await, 2);
        assert_eq!(
            count(
                &app,
                "contacts WHERE name = 'Hopper, Grace' AND notes = 'first\nsecond'"
            )
            .await,
            1
        );
        assert_eq!(
            count(
                &app,
                "contacts WHERE job_title = 'Countess' AND time_zone = 'Europe/London'"
            )
            .await,
            1
        );
        assert_eq!(
            count(&app, "activities WHERE kind = 'contact_created'").await,
            2
        );

        // A file with the wrong columns is refused whole.
        let r = upload_csv(
            &app.client,
            &app.base,
            b"first,last,mail\nAda,Lovelace,ada@example.com\n",
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = unescape(&r.text().await.unwrap());
        assert!(
            body.contains("The first line must name the columns"),
            "{body}"
        );
        assert!(body.contains("“first”"), "says what it found");
        // Empty and blank files.
        let r = upload_csv(&app.client, &app.base, b"").await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("Choose a CSV file"));
        let r = upload_csv(&app.client, &app.base, b" \n\n").await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("The file is empty."));
        let r = upload_csv(&app.client, &app.base, b"name,email\n").await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.text().await.unwrap().contains("Imported 0 contacts."));
        // A forged token imports nothing.
        let r =
            kit::upload_csv_with_token(&app.client, &app.base, b"name\nForged\n", &"F".repeat(43))
                .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(count(&app, "contacts").await, 2, "nothing else stored");
    }
);

both_databases!(
    csv_import_of_many_rows_stores_each_row_once_with_its_activity,
    |app: TestApp| async move {
        owner(&app).await;
        // More rows than one insert statement or one activity statement takes, and not a
        // multiple of either.
        const ROWS: usize = 1_234;
        let mut file = String::from("name,email,company,notes\n");
        for n in 0..ROWS {
            file.push_str(&format!(
                "Person {n:04} Zebedee,person{n}@example.com,Firm {},note {n}\n",
                n % 7
            ));
        }
        let r = upload_csv(&app.client, &app.base, file.as_bytes()).await;
        assert_eq!(r.status(), StatusCode::OK);
        let body = unescape(&r.text().await.unwrap());
        assert!(body.contains("Imported 1,234 contacts."), "{body}");
        assert_eq!(count(&app, "contacts").await, ROWS as i64);
        for n in [0, 99, 100, 777, ROWS - 1] {
            let row = format!(
                "contacts WHERE name = 'Person {n:04} Zebedee' AND email = 'person{n}@example.com' \
                 AND company = 'Firm {}' AND notes = 'note {n}'",
                n % 7
            );
            assert_eq!(count(&app, &row).await, 1, "row {n}");
        }
        // One "imported" entry on every contact's timeline, none twice, none elsewhere.
        assert_eq!(
            count(&app, "activities WHERE kind = 'contact_created'").await,
            ROWS as i64
        );
        assert_eq!(
            count(
                &app,
                "contacts c WHERE (SELECT COUNT(*) FROM activities a \
                 WHERE a.contact_id = c.id AND a.org_id = c.org_id) = 1"
            )
            .await,
            ROWS as i64
        );
        // The list counts them and search finds one from the last statement.
        let page = app.get("/contacts").await.text().await.unwrap();
        assert!(page.contains("1,234 contacts in"), "{page}");
        let found = app
            .get("/contacts?q=person1233%40")
            .await
            .text()
            .await
            .unwrap();
        assert!(found.contains("Person 1233 Zebedee"), "{found}");
        assert!(!found.contains("Person 1232 Zebedee"), "{found}");
    }
);

both_databases!(
    csv_export_is_the_organizations_contacts_and_reimports,
    |app: TestApp| async move {
        owner(&app).await;
        let rows: [&[(&str, &str)]; 4] = [
            &[
                ("name", "Ada Lovelace"),
                ("email", "ada@example.com"),
                ("company", "Analytical, \"Engines\""),
                ("phone", "+44 20 7946 0000"),
            ],
            &[
                ("name", "=HYPERLINK(\"http://evil.example\",\"x\")"),
                ("company", "@SUM(A1)"),
                ("job_title", "-2+3"),
                ("notes", "+cmd|' /C calc'!A0\nsecond line"),
            ],
            &[
                ("name", "Grace Hopper"),
                ("time_zone", "America/New_York"),
                ("notes", "Ünïcødé ✓"),
            ],
            &[("name", "'quoted already")],
        ];
        for r in rows {
            create_contact(&app.client, &app.base, r).await;
        }
        let other =
            kit::browser_with_org(&app, "Mallory", "mallory@example.com", "Other Org").await;
        create_contact(&other, &app.base, &[("name", "Secret Of Other Org")]).await;

        let r = app.get("/contacts/export.csv").await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(
            r.headers()[reqwest::header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        assert!(
            r.headers()[reqwest::header::CONTENT_DISPOSITION]
                .to_str()
                .unwrap()
                .starts_with("attachment")
        );
        let exported = r.bytes().await.unwrap().to_vec();
        let mut reader = csv::Reader::from_reader(exported.as_slice());
        assert_eq!(
            reader.headers().unwrap().iter().collect::<Vec<_>>(),
            [
                "name",
                "email",
                "phone",
                "company",
                "job_title",
                "time_zone",
                "notes"
            ]
        );
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), 4, "exactly this organization's contacts");
        assert!(!String::from_utf8_lossy(&exported).contains("Secret Of Other Org"));
        for record in &records {
            // Phones hold only digits and + - ( ) . # / x: nothing a spreadsheet could call.
            for (_, cell) in record.iter().enumerate().filter(|(i, _)| *i != 2) {
                assert!(
                    !cell.starts_with(['=', '+', '-', '@']),
                    "formula cell not neutralized: {cell:?}"
                );
            }
        }
        let formula = records.iter().find(|r| r[0].contains("HYPERLINK")).unwrap();
        assert_eq!(&formula[0], "'=HYPERLINK(\"http://evil.example\",\"x\")");
        assert_eq!(&formula[3], "'@SUM(A1)");

        // Imported into a new organization, the file gives back the same contacts.
        let fresh =
            kit::browser_with_org(&app, "Charles", "charles@example.com", "Third Org").await;
        let r = upload_csv(&fresh, &app.base, &exported).await;
        let status = r.status();
        let body = r.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("Imported 4 contacts."));
        let again = kit::get(&fresh, &app.base, "/contacts/export.csv")
            .await
            .bytes()
            .await
            .unwrap()
            .to_vec();
        assert_eq!(
            String::from_utf8_lossy(&again),
            String::from_utf8_lossy(&exported),
            "round trip"
        );
        assert_eq!(
            count(
                &app,
                "contacts WHERE name = '=HYPERLINK(\"http://evil.example\",\"x\")'"
            )
            .await,
            2
        );
        assert_eq!(
            count(&app, "contacts WHERE name = '''quoted already'").await,
            2
        );
    }
);

both_databases!(
    export_streams_every_contact_past_the_first_thousand,
    |app: TestApp| async move {
        owner(&app).await;
        let org_id = kit::scalar(&app, "SELECT org_id FROM users").await;
        let now = app.state.clock.now();
        let mut tx = app.state.db.begin().await.unwrap();
        // 2,000 exactly (a multiple of the export's page size) plus one with a duplicate name.
        for i in 0..2001 {
            let data = kit::contact_named(format!("Person {:04}", i.min(1999)));
            rapport::contacts::storage::insert(&mut tx.conn(), org_id, None, &data, now)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        let r = app.get("/contacts/export.csv").await;
        assert_eq!(r.status(), StatusCode::OK);
        let bytes = r.bytes().await.unwrap();
        let mut reader = csv::Reader::from_reader(bytes.as_ref());
        let names: Vec<String> = reader.records().map(|r| r.unwrap()[0].to_owned()).collect();
        assert_eq!(names.len(), 2001, "every contact exported once");
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted, "in name order");
        assert_eq!(names.iter().filter(|n| *n == "Person 1999").count(), 2);
    }
);

both_databases!(
    csv_import_counts_lines_in_windows_files_with_bom,
    |app: TestApp| async move {
        owner(&app).await;
        let file = b"\xEF\xBB\xBFName,EMAIL,Job-Title\r\nAda,ada@example.com,Countess\r\n,x@example.com,\r\nBob,bob@,\r\nCyd,cyd@example.com,\r\n";
        let r = upload_csv(&app.client, &app.base, file).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = unescape(&r.text().await.unwrap());
        assert!(body.contains("Imported 2 contacts."), "{body}");
        assert!(
            body.contains("<tr><td>3</td><td>Name is required."),
            "{body}"
        );
        assert!(body.contains("<tr><td>4</td>"), "{body}");
        assert_eq!(
            count(
                &app,
                "contacts WHERE name = 'Ada' AND job_title = 'Countess'"
            )
            .await,
            1,
            "BOM stripped and header variants understood"
        );
    }
);
