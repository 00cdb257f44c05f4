//! Messages that say what happened, as a newcomer meets them: through `rein::` only.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rein::blocking::{Jack, Jockey};
use rein::jockey::CreateResponse;
use rein::{Error, Event, ManualClock, RetryReason, TransportErrorKind};
use rein_emulator::{spawn, Config, ServerConfig, DEMO_JACK_KEY, DEMO_JOCKEY_KEY};

#[test]
fn a_bare_host_gets_the_api_prefix_and_a_wrong_path_hints_at_the_base_url() {
    let server = spawn(ServerConfig::for_tests(Config::default())).expect("emulator");
    let jack = Jack::builder(DEMO_JACK_KEY).base_url(server.url()).build().expect("client");
    assert_eq!(jack.usage().expect("usage").rate_limit_rpm, Some(60), "the host alone works");

    let lost = Jack::builder(DEMO_JACK_KEY)
        .base_url(format!("{}/api/v2", server.url()))
        .build()
        .expect("client");
    let err = lost.usage().expect_err("no such endpoint");
    assert_eq!(err.status(), Some(404));
    let hint = err.hint().expect("a hint");
    assert!(hint.fix.contains("base URL"), "{hint:?}");
    assert!(!hint.fix.contains("ID"), "not 'check the ID': {hint:?}");
    // A document that is not there is still a missing document.
    let err = jack.get_document("doc_missing").expect_err("404");
    assert!(!err.hint().expect("a hint").fix.contains("base URL"), "{err}");
}

#[test]
fn an_unreachable_server_is_reported_as_such_in_seconds_not_at_the_deadline() {
    // A port nothing listens on: every connection is refused.
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().unwrap().port();
    let clock = ManualClock::new();
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&events);
    let jack = Jack::builder(DEMO_JACK_KEY)
        .base_url(format!("http://127.0.0.1:{port}"))
        .manual_clock(clock.clone())
        .on_event(move |e: &Event| seen.lock().unwrap().push(e.clone()))
        .build()
        .expect("client");
    let err = jack.wait_for_document("doc_1").expect_err("nothing to reach");
    let Error::Transport(failure) = &err else { panic!("a transport error, got {err}") };
    assert_eq!(failure.error.kind, TransportErrorKind::Connect);
    assert!(err.user_message().contains("could not be reached"), "{}", err.user_message());
    let hint = err.hint().expect("a hint");
    assert!(hint.fix.contains("base URL") && hint.fix.contains("network"), "{hint:?}");
    let waited = clock.now().moment.since_origin();
    // Three refused connections, two polls' interval apart: seconds, not the 120 s deadline.
    assert!(waited <= Duration::from_secs(15), "ended after {waited:?}, not at the deadline");
    let retries = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::RetryScheduled {
                    reason: RetryReason::Transport(TransportErrorKind::Connect),
                    ..
                }
            )
        })
        .count();
    assert_eq!(retries, 2, "each failed connection but the last is reported as it is retried");
    let refused =
        events.lock().unwrap().iter().filter(|e| matches!(e, Event::ConnectFailed { .. })).count();
    assert_eq!(refused, 3, "every failed connection is reported, the last one too");
    assert!(err.to_string().contains("Check the base URL"), "the message says what to do: {err}");
}

#[test]
fn a_key_copied_with_a_line_break_after_it_still_works() {
    let server = spawn(ServerConfig::for_tests(Config::default())).expect("emulator");
    let jack = Jack::builder(format!("  {DEMO_JACK_KEY}\r\n"))
        .base_url(server.url())
        .build()
        .expect("whitespace around a key is dropped");
    assert_eq!(jack.usage().expect("usage").rate_limit_rpm, Some(60));
}

#[test]
fn a_question_over_a_missing_store_is_a_missing_store_not_a_wrong_base_url() {
    let server = spawn(ServerConfig::for_tests(Config::default())).expect("emulator");
    let jockey = Jockey::builder(DEMO_JOCKEY_KEY).base_url(server.url()).build().expect("client");
    let err = jockey
        .create_response(&CreateResponse::ask("ks_missing", "Who scored?"))
        .expect_err("no such store");
    assert_eq!(err.status(), Some(404), "{err}");
    let hint = err.hint().expect("a hint");
    assert!(!hint.fix.contains("base URL"), "{hint:?}");
}

/// At a time scale, a short wait lasts less than a real nanosecond; it must still move the clock
/// (a sleep of nothing would be asked for again, forever).
#[test]
fn retries_at_a_time_scale_end() {
    let answers = Arc::new(Mutex::new(0u32));
    let count = Arc::clone(&answers);
    let clock = ManualClock::new();
    let jack = Jack::builder(DEMO_JACK_KEY)
        .manual_clock(clock.clone())
        .time_scale(60.0)
        .transport(move |_req: http::Request<rein::core::Body>| {
            let mut n = count.lock().unwrap();
            *n += 1;
            let (status, body) = if *n <= 3 {
                (503, r#"{"detail":"Service unavailable"}"#)
            } else {
                (200, r#"{"rate_limit_rpm":60}"#)
            };
            Ok(http::Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(bytes::Bytes::from_static(body.as_bytes()))
                .unwrap())
        })
        .build()
        .expect("client");
    assert_eq!(jack.usage().expect("answered after three 503s").rate_limit_rpm, Some(60));
    assert_eq!(*answers.lock().unwrap(), 4);
}

#[test]
fn keys_that_cannot_be_valid_are_refused_when_the_client_is_built() {
    for (key, says) in [
        ("", "empty"),
        ("   ", "empty"),
        ("jack_abc def", "whitespace"),
        ("jack_ab\ncd", "whitespace"),
        ("tlk_a_twelve_labs_key", "jack_"),
    ] {
        let err = Jack::builder(key).build().expect_err(&format!("{key:?} refused"));
        let Error::Config(problem) = &err else { panic!("a configuration error, got {err}") };
        assert!(problem.problem.contains(says), "{key:?}: {err}");
        assert!(err.hint().is_some(), "{key:?} has a hint");
        assert!(err.to_string().starts_with("invalid client configuration"), "{err}");
    }
}
