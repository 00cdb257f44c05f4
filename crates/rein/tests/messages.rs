//! Messages that say what happened, as a newcomer meets them: through `rein::` only.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rein::blocking::Jack;
use rein::{Error, Event, ManualClock, RetryReason, TransportErrorKind};
use rein_emulator::{spawn, Config, ServerConfig, DEMO_JACK_KEY};

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
}

#[test]
fn keys_that_cannot_be_valid_are_refused_when_the_client_is_built() {
    for (key, says) in [
        ("", "empty"),
        ("   ", "empty"),
        ("jack_abc def", "whitespace"),
        ("jack_abc\n", "whitespace"),
        ("tlk_a_twelve_labs_key", "jack_"),
    ] {
        let err = Jack::builder(key).build().expect_err(&format!("{key:?} refused"));
        let Error::Config(problem) = &err else { panic!("a configuration error, got {err}") };
        assert!(problem.problem.contains(says), "{key:?}: {err}");
        assert!(err.hint().is_some(), "{key:?} has a hint");
        assert!(err.to_string().starts_with("invalid client configuration"), "{err}");
    }
}
