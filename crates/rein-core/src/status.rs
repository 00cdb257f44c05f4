//! What a resource's status means for someone waiting on it.
//!
//! Server status enums are open: a value rein does not know is kept, and counts as pending
//! (the references: "treat unknown values as still pending").

/// Where a resource stands, as far as waiting is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Still being processed (including statuses rein does not know).
    Pending,
    /// Done and usable.
    Ready,
    /// Failed; failed resources do not recover.
    Failed,
}

/// A resource that moves through statuses in the background and can be waited on.
pub trait Pollable {
    /// Where it stands.
    fn phase(&self) -> Phase;
    /// Its status as the server spelled it.
    fn status_text(&self) -> &str;
    /// Why it failed, when the server said.
    fn failure_message(&self) -> Option<&str>;
}
