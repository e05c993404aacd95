//! Errors from reading sessions. Every reader returns one of these and never panics: the
//! message names what is wrong and where, because it is shown as-is to a user who dropped a
//! file into the viewer or passed `--load`.

use thiserror::Error;

/// Why bytes could not be read as a profile.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LoadError {
    #[error("the file is empty")]
    Empty,
    #[error("not a profile callscope can read: {0}")]
    UnknownFormat(String),
    #[error("the gzip data is damaged or truncated: {0}")]
    Gzip(String),
    #[error("the profile is larger than callscope accepts: {0}")]
    TooLarge(String),
    #[error("invalid JSON: {0}")]
    Json(String),
    #[error(
        "this session was written by a newer callscope (format version {major}.{minor}); \
         this reader understands version {supported}.x — upgrade callscope to open it"
    )]
    NewerVersion {
        major: u32,
        minor: u32,
        supported: u32,
    },
    #[error("invalid {format} data: {message}")]
    Invalid {
        format: &'static str,
        message: String,
    },
}

impl LoadError {
    pub(crate) fn invalid(format: &'static str, message: impl Into<String>) -> Self {
        LoadError::Invalid {
            format,
            message: message.into(),
        }
    }

    pub(crate) fn json(err: serde_json::Error) -> Self {
        LoadError::Json(err.to_string())
    }
}

/// Why a session could not be written.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SaveError {
    #[error("could not write: {0}")]
    Io(#[from] std::io::Error),
    #[error("could not serialise: {0}")]
    Json(#[from] serde_json::Error),
}
