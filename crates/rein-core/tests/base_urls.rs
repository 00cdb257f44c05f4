//! What a base URL may hold: no `user:password@` (the password would show in logs and travel as
//! Basic auth), and a path of ASCII only (anything else percent-encoded). Ids in paths are
//! percent-encoded whatever they hold.

use rein_core::jack::GetDocument;
use rein_core::{Api, ApiCall, ClientConfig, Error, Target};

const WITH_USERINFO: [&str; 6] = [
    "https://user:secret@api.usejack.io/v1",
    "http://user:secret@127.0.0.1:1/v1",
    "http://user:secret@127.0.0.1:1",
    "https://:secret@api.usejack.io/v1",
    // Refused for plain http too: the message must not show the password either.
    "http://user:secret@api.example.com/v1",
    // Not even a URL (a space in the path): still no password in the message.
    "https://user:secret@api.usejack.io/v 1",
];

#[test]
fn a_base_url_with_a_user_or_password_is_refused_without_showing_it() {
    for url in WITH_USERINFO {
        let refused = Target::new(Api::Jack, url, "jack_key").expect_err(url);
        assert_eq!(refused.field, "base_url", "{url}: {refused}");
        let shown = format!("{refused} {refused:?}");
        assert!(!shown.contains("secret"), "{url}: the password shows: {shown}");

        let mut config = ClientConfig::new(Api::Jack, "jack_key");
        config.base_url = url.to_owned();
        config.allow_insecure_http = true;
        let err = config.target().expect_err(url);
        assert!(matches!(err, Error::Config(_)), "{url}: {err:?}");
        let shown = format!("{err} {err:?} {} {config:?}", err.user_message());
        assert!(!shown.contains("secret"), "{url}: the password shows: {shown}");
    }
    // A user name alone is refused too: the only credential is the API key.
    let refused = Target::new(Api::Jack, "https://user@api.usejack.io/v1", "jack_key")
        .expect_err("a user name");
    assert!(refused.problem.contains("user"), "{refused}");
    assert!(refused.hint.fix.contains("Remove"), "the hint says what to do: {refused}");
}

#[test]
fn a_base_url_path_must_be_ascii_unless_percent_encoded() {
    for url in ["https://api.usejack.io/vé1", "https://api.usejack.io/v1/ünïcode"] {
        let refused = Target::new(Api::Jack, url, "jack_key").expect_err(url);
        assert_eq!(refused.field, "base_url", "{url}: {refused}");
        assert!(refused.hint.fix.contains("percent-encode"), "{url}: {refused}");
    }
    for url in ["https://api.usejack.io/v\u{1}1", "https://api.usejack.io/v\u{7f}1"] {
        let refused = Target::new(Api::Jack, url, "jack_key").expect_err(url);
        assert_eq!(refused.field, "base_url", "{url:?}: {refused}");
    }
    let encoded = Target::new(Api::Jack, "https://api.usejack.io/v%C3%A91", "jack_key")
        .expect("a percent-encoded path is fine");
    let request = GetDocument::new("doc_1").to_request(&encoded).expect("renders");
    assert_eq!(request.path_and_query(), "/v%C3%A91/documents/doc_1");
}

#[test]
fn an_id_with_non_ascii_or_control_characters_is_percent_encoded() {
    let target = Target::new(Api::Jack, "https://api.usejack.io/v1", "jack_key").expect("target");
    let request = GetDocument::new("dé\u{1}\u{7f} /x").to_request(&target).expect("renders");
    assert_eq!(request.path_and_query(), "/v1/documents/d%C3%A9%01%7F%20%2Fx");
}
