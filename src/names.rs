//! Named logs: many logs in one grant, one per thread, agent or
//! conversation. A log named `N` is the file `N.jsonl` in the granted
//! directory; the default log (`PATHWAY_LOG`, `pathway.jsonl` unless set)
//! is the log named `pathway`, so logs written before names existed keep
//! working. A name is checked before anything touches storage.
//!
//! The rules keep a name to one file of its own: one path component, not
//! hidden, no control characters, at most [`MAX_NAME_BYTES`] bytes, and
//! never `.jsonl` inside it, so that no log's file is ever a side file of
//! another (`<log>.lock`, `<log>.compact.<id>`, `<log>.quarantine`, ...
//! all start with a log's file name followed by a dot).

#![forbid(unsafe_code)]

use std::fmt;

/// What a log's file name ends in.
pub const SUFFIX: &str = ".jsonl";

/// The longest name, in bytes: with `.jsonl` and the longest side file's
/// ending (`.compact.` and 16 hex digits) it stays inside the 255 bytes a
/// file name may have.
pub const MAX_NAME_BYTES: usize = 200;

/// Why a log name cannot be used. Nothing was created or changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameError {
    /// The name, cut to 80 characters for the message.
    pub name: String,
    pub reason: NameProblem,
}

/// What is wrong with a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameProblem {
    Empty,
    TooLong {
        bytes: usize,
    },
    /// `/` or `\`.
    Separator,
    /// A control character (U+0000-U+001F, U+007F-U+009F) at this byte.
    Control {
        at: usize,
    },
    /// `.`, `..` or any name starting with `.` (hidden files).
    Dot,
    /// Contains `.jsonl`, which could make its file a side file of another.
    Reserved,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = &self.name;
        write!(f, "the log name {name:?} cannot be used: ")?;
        match self.reason {
            NameProblem::Empty => f.write_str("it is empty")?,
            NameProblem::TooLong { bytes } => write!(
                f,
                "it has {bytes} bytes, over the limit of {MAX_NAME_BYTES}"
            )?,
            NameProblem::Separator => f.write_str("it contains a path separator (`/` or `\\`)")?,
            NameProblem::Control { at } => {
                write!(f, "it contains a control character at byte {at}")?
            }
            NameProblem::Dot => f.write_str("it starts with `.`")?,
            NameProblem::Reserved => f.write_str("it contains `.jsonl`, kept for file names")?,
        }
        f.write_str(
            "; use 1 to 200 bytes of printable text without `/`, `\\` or `.jsonl`, \
             not starting with `.` (a thread or session id such as \"thread-42\" fits)",
        )
    }
}

impl std::error::Error for NameError {}

/// Checks a log name; nothing else may use it before this passed.
pub fn check(name: &str) -> Result<(), NameError> {
    let problem = if name.is_empty() {
        Some(NameProblem::Empty)
    } else if name.len() > MAX_NAME_BYTES {
        Some(NameProblem::TooLong { bytes: name.len() })
    } else if name.contains(['/', '\\']) {
        Some(NameProblem::Separator)
    } else if name.starts_with('.') {
        Some(NameProblem::Dot)
    } else if let Some((at, _)) = name.char_indices().find(|(_, c)| c.is_control()) {
        Some(NameProblem::Control { at })
    } else if name.contains(SUFFIX) {
        Some(NameProblem::Reserved)
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(reason) => Err(NameError {
            name: name.chars().take(80).collect(),
            reason,
        }),
    }
}

/// The file of the log `name` (checked first).
pub fn file_name(name: &str) -> Result<String, NameError> {
    check(name)?;
    Ok(format!("{name}{SUFFIX}"))
}

/// The log whose file this is, if it is a log's file: `N.jsonl` with a
/// valid `N`. Side files and other files are not logs.
pub fn log_of_file(file: &str) -> Option<&str> {
    let name = file.strip_suffix(SUFFIX)?;
    check(name).ok().map(|()| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_and_session_ids_are_names() {
        for good in [
            "pathway",
            "thread-42",
            "3f2b9c1e-8d4a-4f6b-9a7e-2c1d0e5f6a7b",
            "user:7/conv:3".replace('/', "_").as_str(),
            "agent.v2",
            "Ünïcødé 会话",
            &"x".repeat(MAX_NAME_BYTES),
        ] {
            assert_eq!(check(good), Ok(()), "{good:?}");
            assert_eq!(log_of_file(&file_name(good).unwrap()), Some(good));
        }
    }

    #[test]
    fn bad_names_are_refused_with_the_reason() {
        let cases: &[(&str, NameProblem)] = &[
            ("", NameProblem::Empty),
            (".", NameProblem::Dot),
            ("..", NameProblem::Dot),
            (".hidden", NameProblem::Dot),
            ("a/b", NameProblem::Separator),
            ("..\\b", NameProblem::Separator),
            ("a\\b", NameProblem::Separator),
            ("a\nb", NameProblem::Control { at: 1 }),
            ("a\0", NameProblem::Control { at: 1 }),
            ("ab\u{85}", NameProblem::Control { at: 2 }),
            ("a.jsonl", NameProblem::Reserved),
            ("a.jsonl.compact.1", NameProblem::Reserved),
        ];
        for (name, problem) in cases {
            assert_eq!(check(name).unwrap_err().reason, *problem, "{name:?}");
        }
        let long = "y".repeat(MAX_NAME_BYTES + 1);
        assert_eq!(
            check(&long).unwrap_err().reason,
            NameProblem::TooLong { bytes: 201 }
        );
        let message = check("a/b").unwrap_err().to_string();
        assert!(message.contains("\"a/b\"") && message.contains("path separator"));
    }

    #[test]
    fn side_files_are_not_logs() {
        for file in [
            "pathway.jsonl.lock",
            "pathway.jsonl.compact",
            "pathway.jsonl.compact.00000000000000ff",
            "pathway.jsonl.quarantine",
            "pathway.jsonl.sha256",
            "pathway.jsonl.big",
            ".x.jsonl",
            "notes.txt",
            ".jsonl",
        ] {
            assert_eq!(log_of_file(file), None, "{file}");
        }
        assert_eq!(log_of_file("pathway.jsonl"), Some("pathway"));
    }
}
