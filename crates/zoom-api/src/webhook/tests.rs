use super::*;

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).unwrap()
}

const SECRET_1: &str = "4fv1RkqGQUq5sWbEz6hA5A";
const BODY_1: &str = r#"{"payload":{"plainToken":"xys8n8PGS7mAU0m5-YJjRA"},"event_ts":1720705455858,"event":"endpoint.url_validation"}"#;
const SIG_1: &str = "v0=93a1a675965ceb9c5a50c5dfb31f20e50f763be37a54ef74cd2d16a1a8e5c0d6";
// The \uD83D sequences are literal backslash escapes; ’ and – are raw UTF-8.
const BODY_2: &str = r#"{"event":"meeting.started","payload":{"account_id":"VjZoEArIT5y-HlWxkV-tVA","object":{"duration":60,"start_time":"2024-07-11T14:12:55Z","timezone":"America/New_York","topic":"Test \uD83D\uDE92\uD83D\uDE92 ? - ’ - – \uD83D\uDE97 HOLA","id":"85393847045","type":2,"uuid":"jUh5o3dKQIytvcsfTtKBlg==","host_id":"8lzIwvZTSOqjndWPbPqzuA"}},"event_ts":1720707175904}"#;
const SIG_2: &str = "v0=1a14e79349318fa1bead50ebbd3c185ae078e182d3bbd30ab8010fcb7f4357c7";
const SECRET_4: &str = "8HpxXEAYTCCEDbM5QZi3DA";
const BODY_4: &str = r#"{"event":"app_deauthorized","event_ts":1739923528123,"payload":{"account_id":"AAAAAABBBB","user_id":"abcD3ojfdbjfg","signature":"827edc3452044f0bc86bdd5684afb7d1e6becfa1a767f24df1b287853cf73000","deauthorization_time":"2025-02-19T00:05:28.123Z","client_id":"ABCDEFGHIJKLMNOPQRST"}}"#;
const SIG_4: &str = "v0=0fb59cd69f2b9124902837f21b545865c993203c2b05b68ae491dc34e36b21df";

fn check(secret_text: &str, ts: i64, body: &str, sig: &str) {
    let s = secret(secret_text);
    assert_eq!(sign(&s, &ts.to_string(), body.as_bytes()).unwrap(), sig);
    verify(
        &[s],
        Some(&ts.to_string()),
        Some(sig),
        body.as_bytes(),
        at(ts),
        DEFAULT_TOLERANCE,
    )
    .unwrap();
}

#[test]
fn contract_vector_1_url_validation_request() {
    check(SECRET_1, 1_720_705_455, BODY_1, SIG_1);
}

#[test]
fn contract_vector_2_escaped_and_raw_unicode_bytes() {
    assert!(BODY_2.contains(r"\uD83D") && BODY_2.contains('’') && BODY_2.contains('–'));
    check(SECRET_1, 1_720_707_175, BODY_2, SIG_2);
    // Re-serializing the JSON would change the bytes and break the signature: verify the raw body.
    let reserialized =
        serde_json::to_string(&serde_json::from_str::<Value>(BODY_2).unwrap()).unwrap();
    assert_eq!(
        verify(
            &[secret(SECRET_1)],
            Some("1720707175"),
            Some(SIG_2),
            reserialized.as_bytes(),
            at(1_720_707_175),
            DEFAULT_TOLERANCE
        ),
        Err(WebhookError::BadSignature)
    );
}

#[test]
fn contract_vector_3_url_validation_answer() {
    let r = url_validation_response(&secret("UB_rdTwhTruoYCMr6x6-MQ"), "qgg8vlvZRS6UYooatFL8Aw")
        .unwrap();
    assert_eq!(
        r.encrypted_token,
        "439d1ed256e8d5513d2acd195e0adc64bbbfeb6b795b9d1880534610b58c674c"
    );
    assert_eq!(
        serde_json::to_value(&r).unwrap(),
        serde_json::json!({"plainToken":"qgg8vlvZRS6UYooatFL8Aw","encryptedToken":"439d1ed256e8d5513d2acd195e0adc64bbbfeb6b795b9d1880534610b58c674c"})
    );
}

#[test]
fn contract_vector_4_deauthorization_and_its_url_validation() {
    check(SECRET_4, 1_739_923_528, BODY_4, SIG_4);
    let r = url_validation_response(&secret(SECRET_4), "qgg8vlvZRS6UYooatFL8Aw").unwrap();
    assert_eq!(
        r.encrypted_token,
        "96b47c23009a59c8f82d6ec03969976eb033eb2dd75e1316a369a4aca02d0bda"
    );
}

#[test]
fn checklist_zoom_format_vectors() {
    check(
        "test-secret-token",
        1_700_000_000,
        r#"{"event":"app_deauthorized","event_ts":1700000000000}"#,
        "v0=af57ea6026483b3a6b62844ebdce64808a69991952574dabf1f1758266079c68",
    );
    let r = url_validation_response(&secret("test-secret-token"), "plain-token-123").unwrap();
    assert_eq!(
        r.encrypted_token,
        "27bcbafb57cd8db07613ceddeda1d444aafdb3192d0e1d6ec0ea8aeee8325c2a"
    );
}

#[test]
fn github_hmac_vector_through_the_same_primitive() {
    assert_eq!(
        hmac_hex(&secret("It's a Secret to Everybody"), &[b"Hello, World!"]).unwrap(),
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    );
}

fn verify_1(
    secrets: &[SecretString],
    ts: Option<&str>,
    sig: Option<&str>,
    body: &str,
    now: i64,
) -> Result<(), WebhookError> {
    verify(
        secrets,
        ts,
        sig,
        body.as_bytes(),
        at(now),
        DEFAULT_TOLERANCE,
    )
}

#[test]
fn timestamp_window_is_300_seconds_either_way() {
    let s = [secret(SECRET_1)];
    let ts = 1_720_705_455;
    for now in [ts - 300, ts + 300] {
        assert_eq!(
            verify_1(&s, Some("1720705455"), Some(SIG_1), BODY_1, now),
            Ok(())
        );
    }
    for now in [ts - 301, ts + 301, ts + 86_400] {
        assert_eq!(
            verify_1(&s, Some("1720705455"), Some(SIG_1), BODY_1, now),
            Err(WebhookError::StaleTimestamp)
        );
    }
    let tight = Verifier::new(secret(SECRET_1)).with_tolerance(Duration::from_secs(10));
    assert_eq!(
        tight.verify(
            Some("1720705455"),
            Some(SIG_1),
            BODY_1.as_bytes(),
            at(ts + 11)
        ),
        Err(WebhookError::StaleTimestamp)
    );
}

#[test]
fn tampering_is_rejected() {
    let s = [secret(SECRET_1)];
    let now = 1_720_705_455;
    let tampered = BODY_1.replace("xys8n8", "xys8n9");
    assert_eq!(
        verify_1(&s, Some("1720705455"), Some(SIG_1), &tampered, now),
        Err(WebhookError::BadSignature)
    );
    // Same signature replayed under a different timestamp.
    assert_eq!(
        verify_1(&s, Some("1720705456"), Some(SIG_1), BODY_1, now),
        Err(WebhookError::BadSignature)
    );
    assert_eq!(
        verify_1(
            &[secret("other")],
            Some("1720705455"),
            Some(SIG_1),
            BODY_1,
            now
        ),
        Err(WebhookError::BadSignature)
    );
    let upper = SIG_1.to_uppercase().replace("V0=", "v0=");
    assert_eq!(
        verify_1(&s, Some("1720705455"), Some(&upper), BODY_1, now),
        Ok(())
    );
}

#[test]
fn malformed_headers_are_rejected() {
    let s = [secret(SECRET_1)];
    let now = 1_720_705_455;
    assert_eq!(
        verify_1(&s, None, Some(SIG_1), BODY_1, now),
        Err(WebhookError::MissingTimestamp)
    );
    assert_eq!(
        verify_1(&s, Some("1720705455"), None, BODY_1, now),
        Err(WebhookError::MissingSignature)
    );
    for ts in [
        "",
        "abc",
        "-1720705455",
        "1720705455.0",
        "99999999999999999999",
    ] {
        assert_eq!(
            verify_1(&s, Some(ts), Some(SIG_1), BODY_1, now),
            Err(WebhookError::MalformedTimestamp),
            "{ts}"
        );
    }
    for sig in [
        "",
        "93a1a675965ceb9c5a50c5dfb31f20e50f763be37a54ef74cd2d16a1a8e5c0d6",
        "v1=93a1a675965ceb9c5a50c5dfb31f20e50f763be37a54ef74cd2d16a1a8e5c0d6",
        "v0=zz",
        "v0=93a1",
        "v0=",
    ] {
        assert_eq!(
            verify_1(&s, Some("1720705455"), Some(sig), BODY_1, now),
            Err(WebhookError::MalformedSignature),
            "{sig}"
        );
    }
}

#[test]
fn fails_closed_without_a_secret() {
    let now = 1_720_705_455;
    assert_eq!(
        verify_1(&[], Some("1720705455"), Some(SIG_1), BODY_1, now),
        Err(WebhookError::NoSecretConfigured)
    );
    assert_eq!(
        verify_1(&[secret("")], Some("1720705455"), Some(SIG_1), BODY_1, now),
        Err(WebhookError::NoSecretConfigured)
    );
    // A signature made with an empty key must not verify either.
    let empty_sig = {
        let mut mac = HmacSha256::new_from_slice(b"").unwrap();
        mac.update(format!("v0:1720705455:{BODY_1}").as_bytes());
        format!("v0={}", hex::encode(mac.finalize().into_bytes()))
    };
    assert_eq!(
        verify_1(
            &[secret("")],
            Some("1720705455"),
            Some(&empty_sig),
            BODY_1,
            now
        ),
        Err(WebhookError::NoSecretConfigured)
    );
    assert_eq!(
        sign(&secret(""), "1", b"x"),
        Err(WebhookError::NoSecretConfigured)
    );
    assert_eq!(
        url_validation_response(&secret(""), "abc"),
        Err(WebhookError::NoSecretConfigured)
    );
}

#[test]
fn two_secrets_during_rotation() {
    let now = 1_720_705_455;
    let v = Verifier::new(secret("new-secret")).with_previous(secret(SECRET_1));
    assert_eq!(
        v.verify(Some("1720705455"), Some(SIG_1), BODY_1.as_bytes(), at(now)),
        Ok(())
    );
    let new_sig = sign(&secret("new-secret"), "1720705455", BODY_1.as_bytes()).unwrap();
    assert_eq!(
        v.verify(
            Some("1720705455"),
            Some(&new_sig),
            BODY_1.as_bytes(),
            at(now)
        ),
        Ok(())
    );
    let third = sign(&secret("third"), "1720705455", BODY_1.as_bytes()).unwrap();
    assert_eq!(
        v.verify(Some("1720705455"), Some(&third), BODY_1.as_bytes(), at(now)),
        Err(WebhookError::BadSignature)
    );
    // The challenge is answered with the current secret.
    assert_eq!(
        v.url_validation_response("abc").unwrap().encrypted_token,
        url_validation_response(&secret("new-secret"), "abc")
            .unwrap()
            .encrypted_token
    );
    assert!(!format!("{v:?}").contains("new-secret"));
}

#[test]
fn verify_headers_reads_zoom_headers() {
    let mut h = HeaderMap::new();
    h.insert(TIMESTAMP_HEADER, "1720705455".parse().unwrap());
    h.insert(SIGNATURE_HEADER, SIG_1.parse().unwrap());
    let v = Verifier::new(secret(SECRET_1));
    assert_eq!(
        v.verify_headers(&h, BODY_1.as_bytes(), at(1_720_705_455)),
        Ok(())
    );
}

#[test]
fn signing_oracle_plain_tokens_are_refused() {
    let s = secret(SECRET_1);
    for bad in [
        "",
        "v0:1720705455:{\"event\":\"meeting.deleted\"}",
        "a:b",
        "has space",
        "dot.dot",
        "ünicode",
        &"a".repeat(129),
    ] {
        assert_eq!(
            url_validation_response(&s, bad),
            Err(WebhookError::InvalidPlainToken),
            "{bad}"
        );
    }
    assert!(url_validation_response(&s, &"a".repeat(128)).is_ok());
    assert!(url_validation_response(&s, "xys8n8PGS7mAU0m5-YJjRA").is_ok());
}

#[test]
fn parses_url_validation() {
    let e = WebhookEvent::parse(BODY_1.as_bytes()).unwrap();
    assert_eq!(
        e.kind,
        EventKind::UrlValidation {
            plain_token: "xys8n8PGS7mAU0m5-YJjRA".into()
        }
    );
    assert_eq!(e.event_ts, Some(1_720_705_455_858));
}

#[test]
fn parses_meeting_started_with_string_id() {
    let e = WebhookEvent::parse(BODY_2.as_bytes()).unwrap();
    assert_eq!(e.event, "meeting.started");
    let EventKind::MeetingStarted(m) = &e.kind else {
        panic!("{e:?}")
    };
    assert_eq!(m.object.id, Some(85_393_847_045));
    assert!(m.object.topic.as_deref().unwrap().contains('🚒'));
    assert_eq!(
        e.event_time(),
        Some(Utc.timestamp_millis_opt(1_720_707_175_904).unwrap())
    );
    assert_eq!(
        e.dedupe_key().to_string(),
        "meeting.started|1720707175904|jUh5o3dKQIytvcsfTtKBlg==|VjZoEArIT5y-HlWxkV-tVA"
    );
}

#[test]
fn parses_deauthorization_in_both_documented_shapes() {
    let e = WebhookEvent::parse(BODY_4.as_bytes()).unwrap();
    let EventKind::AppDeauthorized(d) = &e.kind else {
        panic!("{e:?}")
    };
    assert_eq!(d.user_id.as_deref(), Some("abcD3ojfdbjfg"));
    assert_eq!(e.event_ts, Some(1_739_923_528_123));
    assert_eq!(
        e.dedupe_key(),
        DedupeKey {
            event: "app_deauthorized".into(),
            event_ts: Some(1_739_923_528_123),
            object: "abcD3ojfdbjfg".into(),
            account_id: "AAAAAABBBB".into()
        }
    );
    // Zoom's own example: event_ts inside payload, as a date string, no top-level event_ts.
    let doc = r#"{"event":"app_deauthorized","payload":{"account_id":"AAAAAABBBB","user_id":"abcD3ojfdbjfg","signature":"827edc3452044f0bc86bdd5684afb7d1e6becfa1a767f24df1b287853cf73000","deauthorization_time":"2020-06-17T13:52:28.632Z","client_id":"ABCDEFGHIJKLMNOPQRST!V","event_ts":"2024-09-08 15:58:40"}}"#;
    let e = WebhookEvent::parse(doc.as_bytes()).unwrap();
    assert_eq!(
        e.event_time(),
        Some(Utc.with_ymd_and_hms(2024, 9, 8, 15, 58, 40).unwrap())
    );
    let EventKind::AppDeauthorized(d) = &e.kind else {
        panic!("{e:?}")
    };
    assert_eq!(
        d.deauthorization_time,
        Some(
            Utc.with_ymd_and_hms(2020, 6, 17, 13, 52, 28).unwrap()
                + chrono::Duration::milliseconds(632)
        )
    );
    // event_ts as a numeric string inside payload.
    let e = WebhookEvent::parse(
        br#"{"event":"app_deauthorized","payload":{"user_id":"u","event_ts":"1739923528123"}}"#,
    )
    .unwrap();
    assert_eq!(e.event_ts, Some(1_739_923_528_123));
}

#[test]
fn parses_meeting_deleted_and_updated() {
    let deleted = r#"{"event":"meeting.deleted","event_ts":1626230691572,"payload":{"account_id":"AAAAAABBBB","operator":"admin@example.com","operator_id":"z8yCxjabcdEFGHfp8uQ","operation":"single","object":{"uuid":"4444AAAiAAAAAiAiAiiAii==","id":85393847045,"host_id":"z8yCxjabcdEFGHfp8uQ","topic":"My Meeting","type":2,"start_time":"2021-07-13T21:44:51Z","duration":20,"timezone":"America/Los_Angeles","occurrences":[{"occurrence_id":"1648194360000","start_time":"2022-03-25T07:46:00Z"}]}}}"#;
    let e = WebhookEvent::parse(deleted.as_bytes()).unwrap();
    let EventKind::MeetingDeleted(m) = &e.kind else {
        panic!("{e:?}")
    };
    assert_eq!(m.object.id, Some(85_393_847_045));
    assert_eq!(m.operation.as_deref(), Some("single"));

    let updated = r#"{"event":"meeting.updated","event_ts":"1626230691572","payload":{"account_id":"AAAAAABBBB","operator":"a@example.com","operator_id":"x","scope":"single","object":{"id":"85393847045","start_time":"2026-12-02T10:00:00Z","duration":45},"old_object":{"id":85393847045,"start_time":"2026-12-01T10:00:00Z","duration":30},"time_stamp":1626230691572}}"#;
    let e = WebhookEvent::parse(updated.as_bytes()).unwrap();
    assert_eq!(e.event_ts, Some(1_626_230_691_572));
    let EventKind::MeetingUpdated(u) = &e.kind else {
        panic!("{e:?}")
    };
    assert_eq!(u.object.id, Some(85_393_847_045));
    assert_eq!(u.object.duration, Some(45));
    assert_eq!(u.object.topic, None);
    assert_eq!(
        u.old_object.as_ref().unwrap().start_time,
        Some(Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap())
    );
    assert_eq!(e.dedupe_key().object, "85393847045");

    let ended = r#"{"event":"meeting.ended","event_ts":1720707175,"payload":{"account_id":"A","object":{"id":1,"uuid":"u==","end_time":"2024-07-11T15:00:00Z"}}}"#;
    let e = WebhookEvent::parse(ended.as_bytes()).unwrap();
    // Seconds are taken as such and scaled to ms.
    assert_eq!(e.event_ts, Some(1_720_707_175_000));
    assert!(matches!(e.kind, EventKind::MeetingEnded(_)));
}

#[test]
fn unknown_events_are_kept_and_bad_bodies_refused() {
    let e = WebhookEvent::parse(br#"{"event":"recording.completed","event_ts":1,"payload":{"account_id":"A","object":{"uuid":"x"}}}"#).unwrap();
    assert!(matches!(e.kind, EventKind::Other { .. }));
    assert_eq!(e.dedupe_key().object, "x");
    for bad in [
        &b"[]"[..],
        b"{}",
        b"not json",
        br#"{"event":"endpoint.url_validation","payload":{}}"#,
        br#"{"event":"meeting.updated","payload":{"object":{"start_time":"tomorrow"}}}"#,
    ] {
        assert!(matches!(
            WebhookEvent::parse(bad),
            Err(WebhookError::MalformedBody { .. })
        ));
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn what_we_sign_verifies_and_any_changed_byte_does_not(
            key in "[ -~]{1,40}",
            body in proptest::collection::vec(any::<u8>(), 0..300),
            ts in 1_000_000_000i64..4_000_000_000i64,
            flip in any::<prop::sample::Index>(),
        ) {
            let s = secret(&key);
            let sig = sign(&s, &ts.to_string(), &body).unwrap();
            let now = at(ts);
            prop_assert_eq!(
                verify(std::slice::from_ref(&s), Some(&ts.to_string()), Some(&sig), &body, now, DEFAULT_TOLERANCE),
                Ok(())
            );
            if !body.is_empty() {
                let mut changed = body.clone();
                let i = flip.index(changed.len());
                changed[i] ^= 0x01;
                prop_assert_eq!(
                    verify(&[s], Some(&ts.to_string()), Some(&sig), &changed, now, DEFAULT_TOLERANCE),
                    Err(WebhookError::BadSignature)
                );
            }
        }

        #[test]
        fn plain_tokens_are_signed_exactly_when_they_fit_the_pattern(token in "\\PC{0,140}") {
            let fits = (1..=128).contains(&token.len())
                && token.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            prop_assert_eq!(url_validation_response(&secret("k"), &token).is_ok(), fits);
        }

        #[test]
        fn parsing_arbitrary_bytes_never_panics(body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = WebhookEvent::parse(&body);
        }
    }
}
