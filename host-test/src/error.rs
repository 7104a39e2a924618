//! Everything that can go wrong in the host. The component's own errors
//! come through as its typed [`LogError`], shown with the component's
//! message: the host composes no wording of its own for them.

use std::path::PathBuf;

use crate::{Cause, LogError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The component's error: [`LogError::cause`] to decide on, its
    /// message for people. For appends, nothing of that call was stored;
    /// for compact and repair, the log is as it was.
    #[error("{}", .0.message)]
    Log(LogError),
    /// The guest trapped (for `append`, a refused event), or ran past the
    /// deadline or the memory cap. The instance was replaced, so the
    /// [`Memory`](crate::Memory) stays usable.
    #[error("{message}{}", stderr_suffix(.stderr))]
    Trap {
        kind: TrapKind,
        message: String,
        stderr: String,
    },
    /// The directory cannot be granted to the component.
    #[error("cannot use {}: {reason}; pass an existing, accessible directory", .dir.display())]
    Directory {
        dir: PathBuf,
        reason: wasmtime::Error,
    },
    /// The engine could not compile or instantiate the component.
    #[error("wasmtime could not set up the component: {0:#}")]
    Setup(wasmtime::Error),
}

impl Error {
    /// The component's typed cause, when the component returned the error.
    pub fn cause(&self) -> Option<&Cause> {
        match self {
            Error::Log(e) => Some(&e.cause),
            _ => None,
        }
    }

    /// Whether an event was refused (not one JSON value, or too large):
    /// the caller's input is at fault, not the log.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self.cause(),
            Some(Cause::InvalidJson(_) | Cause::TooLarge(_))
        )
    }
}

/// Why a call trapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrapKind {
    /// The guest trapped: `append`'s refusal, or a fault in the component.
    Guest,
    /// The call ran past [`Options::call_timeout`](crate::Options).
    Deadline,
    /// The component needed more than
    /// [`Options::max_guest_memory`](crate::Options).
    MemoryCap,
}

fn stderr_suffix(stderr: &str) -> String {
    let stderr = stderr.trim();
    if stderr.is_empty() {
        String::new()
    } else {
        format!("\nguest stderr:\n{stderr}")
    }
}
