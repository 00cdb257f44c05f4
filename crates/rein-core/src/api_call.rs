//! Typed API calls: a request value that validates itself, renders to a [`Request`], decodes
//! its success body and says which machine carries it out. Every endpoint of both APIs is one
//! [`ApiCall`].

use std::convert::Infallible;

use bytes::Bytes;

use crate::api::Operation;
use crate::call::Call;
use crate::error::{DecodeError, Error, ValidationError};
use crate::hint::Hint;
use crate::machine::Machine;
use crate::request::Request;
use crate::retry::RetryPolicy;
use crate::runner::Runner;
use crate::target::Target;

/// A typed request to one endpoint.
///
/// `to_request` runs the pre-flight validation first: an invalid request is refused with a
/// [`ValidationError`] carrying the references' fix, and nothing is sent.
pub trait ApiCall {
    /// What a success response decodes to.
    type Output;

    /// The operation this call performs.
    const OPERATION: Operation;

    /// The machine that carries the call out: a plain [`Call`] with retries, or a
    /// [`CreateOnce`](crate::CreateOnce) for a create that must not happen twice.
    type Plan: Machine<Output = Self::Output, Item = Infallible> + 'static;

    /// The machine for a client run by `runner`. Fails at once, with nothing sent, when the
    /// request is invalid.
    fn plan(&self, runner: &Runner) -> Result<Self::Plan, Error>;

    /// Checks the request against the references' rules, without rendering it.
    fn validate(&self) -> Result<(), ValidationError>;

    /// Renders the request for `target`, once [`to_request`](ApiCall::to_request) has checked
    /// that the request is valid and the target is of its API.
    fn render(&self, target: &Target) -> Result<Request, Error>;

    /// Checks the target's API and the request's validity, then renders it for `target`.
    fn to_request(&self, target: &Target) -> Result<Request, Error> {
        check_target(target, Self::OPERATION)?;
        self.validate()?;
        self.render(target)
    }

    /// Decodes a success (2xx) response.
    fn decode(response: http::Response<Bytes>) -> Result<Self::Output, DecodeError>;
}

impl<T> Call<T> {
    /// A retrying call of a typed request. Fails at once, with nothing sent, when the request is
    /// invalid or `target` is for the other API.
    pub fn typed<R: ApiCall<Output = T>>(
        target: &Target,
        request: &R,
        policy: RetryPolicy,
    ) -> Result<Call<T>, Error> {
        let rendered = request.to_request(target)?;
        Ok(Call::with_decoder(rendered, policy, R::decode))
    }
}

/// Refuses a request whose operation belongs to the other API than `target`'s.
pub fn check_target(target: &Target, op: Operation) -> Result<(), ValidationError> {
    if target.api() == op.api() {
        return Ok(());
    }
    Err(ValidationError::new(
        "target",
        format!(
            "{} is a {} operation, but the client is for {}",
            op.endpoint(),
            op.api(),
            target.api()
        ),
        Hint::new("A request sent to the other API", "Use the client of the request's API"),
    ))
}

/// Decodes any 2xx as `()`, whatever its body (delete and metadata endpoints answer empty).
pub fn decode_empty(_response: http::Response<Bytes>) -> Result<(), DecodeError> {
    Ok(())
}

/// The plan of an [`ApiCall`], in its impl: `plan!(call)` for a plain call with retries,
/// `plan!(create_once)` for a create that is looked up, never repeated, when its answer is lost.
macro_rules! plan {
    (call) => {
        type Plan = $crate::Call<Self::Output>;
        fn plan(&self, runner: &$crate::Runner) -> Result<Self::Plan, $crate::Error> {
            runner.call(self)
        }
    };
    (create_once) => {
        type Plan = $crate::CreateOnce<Self>;
        fn plan(&self, runner: &$crate::Runner) -> Result<Self::Plan, $crate::Error> {
            runner.create_once(self)
        }
    };
}
pub(crate) use plan;
