//! The one error the UI sees: a stable `code` to branch on and a `message` in plain words.

use serde::Serialize;

/// An error returned by a command.
#[derive(Debug, Serialize)]
pub struct Error {
    /// Stable, snake_case: `not_a_workspace`, `no_workspace`, `already_running`, `join_failed`,
    /// `refused`, `invalid`, `not_found`, `stopped`, `engine`.
    pub code: &'static str,
    /// What happened and, when there is something to do, what to do.
    pub message: String,
}

impl Error {
    pub fn new(code: &'static str, message: impl Into<String>) -> Error {
        Error {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl From<tandem::Error> for Error {
    fn from(e: tandem::Error) -> Error {
        let code = match &e {
            tandem::Error::Join(_) | tandem::Error::Invite(_) => "join_failed",
            tandem::Error::AlreadyRunning(_) => "already_running",
            tandem::Error::Refused(_) => "refused",
            tandem::Error::Stopped => "stopped",
            _ => "engine",
        };
        Error::new(code, e.to_string())
    }
}

/// What commands return.
pub type Result<T> = std::result::Result<T, Error>;
