//! The API key never shows: not in Debug output, not in any error. Plain http is refused for a
//! host that is not loopback unless explicitly allowed.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rein_blocking::{Jack, Jockey};
use rein_core::jack::NewDocument;
use rein_core::{Error, TransportError, TransportErrorKind};
use support::{ok, reply, scripted, too_many, Log, VirtualTime, KEY};

fn assert_hidden(what: &str, text: &str) {
    assert!(!text.contains(KEY), "the key shows in {what}: {text}");
    assert!(!text.contains("super_secret"), "part of the key shows in {what}: {text}");
}

#[test]
fn the_api_key_never_appears_in_debug_output_or_errors() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let log = Log::new();
    let transport = scripted(&log, move |n, req| {
        record.lock().unwrap().push(format!("{req:?}"));
        match n {
            0 => Ok(reply(401, &[("x-request-id", "req_1")], r#"{"detail":"Invalid API key"}"#)),
            1 => Err(TransportError::after_send(TransportErrorKind::Timeout, "timed out")),
            // The ingest's lookup: it fails, so the ingest reports its own timeout.
            2 => Ok(reply(401, &[], r#"{"detail":"Invalid API key"}"#)),
            3 => ok(r#"{"id":"doc_1","status":"failed","error_message":"bad file"}"#),
            4 => Ok(reply(500, &[], "<html>Bad gateway</html>")),
            _ => too_many("600"),
        }
    });
    let builder = Jack::builder(KEY).transport(transport).virtual_time(&log.clock());
    assert_hidden("the builder", &format!("{builder:?}"));
    let jack = builder.build().unwrap();
    assert_hidden("the client", &format!("{jack:?}"));
    assert_hidden("the config", &format!("{:?}", jack.config()));

    let errors: Vec<Error> = vec![
        jack.usage().unwrap_err(),
        jack.ingest([NewDocument::new("x")]).unwrap_err(),
        jack.wait_for_document("doc_1").unwrap_err(),
        jack.with_timeout(Duration::from_secs(1)).usage().unwrap_err(),
        jack.usage().unwrap_err(),
        jack.query("").unwrap_err(),
        Jack::builder(KEY).base_url("http://api.example.com/v1").build().unwrap_err(),
        Jack::builder(KEY).base_url("not a url").build().unwrap_err(),
    ];
    for error in &errors {
        assert_hidden("an error's Display", &error.to_string());
        assert_hidden("an error's Debug", &format!("{error:?}"));
        assert_hidden("an error's user message", error.user_message());
    }
    for request in seen.lock().unwrap().iter() {
        assert_hidden("a request's Debug", request);
    }
    assert!(matches!(errors[0], Error::Api(_)));
    assert_eq!(errors[0].status(), Some(401));
    assert!(errors[1].may_have_succeeded(), "{:?}", errors[1]);
    assert!(matches!(errors[2], Error::ResourceFailed(_)));
}

#[test]
fn keys_never_show_in_debug_or_errors() {
    const KEY: &str = "jack_secret0key0that0must0never0show0000000000000000";
    let jack = Jack::builder(KEY)
        .transport(|_req: http::Request<rein_core::Body>| {
            Ok(reply(401, &[], r#"{"detail":"Invalid API key"}"#))
        })
        .build()
        .expect("client");
    let err = jack.usage().expect_err("401");
    let shown = format!("{jack:?} {err} {err:?} {}", err.user_message());
    assert!(!shown.contains(KEY) && !shown.contains("secret0key"), "{shown}");
    assert_eq!(err.status(), Some(401));
}

#[test]
fn plain_http_is_refused_for_a_remote_host_unless_allowed() {
    let remote = Jack::builder(KEY).base_url("http://api.example.com/v1").build();
    assert!(matches!(remote, Err(Error::Config(_))));
    let allowed =
        Jack::builder(KEY).base_url("http://api.example.com/v1").allow_insecure_http(true).build();
    assert!(allowed.is_ok());
    assert!(Jack::builder(KEY).base_url("http://127.0.0.1:8080/v1").build().is_ok());
    assert!(Jockey::builder("tl_key").base_url("http://localhost:9/v1.3").build().is_ok());
    let jockey = Jockey::builder("tl_key").build().unwrap();
    assert_eq!(jockey.config().base_url, "https://api.twelvelabs.io/v1.3");

    let refused = Jockey::builder("k").base_url("http://api.example.com/v1.3").build();
    assert!(matches!(refused, Err(Error::Config(_))));
    assert!(Jockey::builder("k").base_url("http://127.0.0.1:9/v1.3").build().is_ok());
    assert!(Jockey::builder("k")
        .base_url("http://api.example.com/v1.3")
        .allow_insecure_http(true)
        .build()
        .is_ok());
}

#[test]
fn a_call_to_the_other_api_is_refused_before_sending() {
    let log = Log::new();
    let jockey = Jockey::builder("tl_key")
        .transport(scripted(&log, |_, _| ok("{}")))
        .virtual_time(&log.clock())
        .build()
        .unwrap();
    let err = jockey.call(&rein_core::jack::GetUsage::new()).unwrap_err();
    assert!(matches!(err, Error::Invalid(_)), "{err:?}");
    assert_eq!(log.count(), 0);
}

#[test]
fn a_password_in_the_base_url_is_refused_and_never_shown() {
    for url in ["http://user:secret@127.0.0.1:1/v1", "https://user:secret@api.usejack.io/v1"] {
        let builder = Jack::builder(KEY).base_url(url);
        let shown = format!("{builder:?}");
        assert!(!shown.contains("secret"), "the password shows in the builder: {shown}");
        let err = builder.build().expect_err("a base URL with a password is refused");
        assert!(matches!(err, Error::Config(_)), "{err:?}");
        let shown = format!("{err} {err:?} {}", err.user_message());
        assert!(!shown.contains("secret"), "the password shows in the error: {shown}");
        assert_hidden("the error", &shown);
    }
    let err = Jockey::builder("tl_key").base_url("http://user:secret@127.0.0.1:1/v1.3").build();
    assert!(matches!(err, Err(Error::Config(_))));
}
