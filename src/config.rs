//! Configuration from the WASI environment: `PATHWAY_LOG`,
//! `PATHWAY_MAX_LINE`, `PATHWAY_MAX_DEPTH` and `PATHWAY_SYNC`.

#![forbid(unsafe_code)]

use std::fmt;

use crate::format::{DEFAULT_MAX_DEPTH, DEFAULT_MAX_LINE};

/// `PATHWAY_LOG` when the host sets none.
pub const DEFAULT_LOG_NAME: &str = "pathway.jsonl";

/// The largest `PATHWAY_MAX_LINE` accepted: 256 MiB. A line is held whole
/// in guest memory (32-bit, at most 4 GiB) on append and on replay.
pub const MAX_LINE_CEILING: u64 = 256 << 20;

/// The largest `PATHWAY_MAX_DEPTH` accepted: Go's encoding/json's limit,
/// the highest of the common readers.
pub const MAX_DEPTH_CEILING: u32 = 10_000;

/// The log's settings, read once per instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// File name of the log inside the granted directory.
    pub log_name: String,
    /// The log's name when it was opened by one (`PATHWAY_NAME`, or a
    /// `named-log`): its file is `<name>.jsonl`.
    pub name: Option<String>,
    /// Largest stored line in bytes, without its `\n`.
    pub max_line: u64,
    /// How deep an appended event may nest arrays and objects.
    pub max_depth: u32,
    /// When appended data is forced to stable storage.
    pub sync: SyncMode,
    /// Most bytes all files of the grant may hold together
    /// (`PATHWAY_QUOTA`); `None`: no limit.
    pub quota: Option<u64>,
}

/// `PATHWAY_SYNC`: when appends are synced (`fdatasync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncMode {
    /// Never by the component: the OS writes back when it likes. Survives a
    /// crash of the process, not a power loss.
    #[default]
    Never,
    /// Before every append returns: survives a power loss.
    Always,
    /// On the first append at least this many milliseconds after the last
    /// sync. A component has no timers: with no further append, nothing is
    /// synced until `sync` is called.
    Interval { millis: u64 },
}

/// How often a host that stops long calls with wasmtime's epoch
/// interruption advances the epoch, in milliseconds (the WIT `settings`
/// hands it to hosts, so every host ticks alike).
pub const EPOCH_TICK_MS: u32 = 10;

impl fmt::Display for SyncMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncMode::Never => f.write_str("never"),
            SyncMode::Always => f.write_str("always"),
            SyncMode::Interval { millis } => write!(f, "interval:{millis}"),
        }
    }
}

/// The one parser of `PATHWAY_SYNC` (the component's, and the Rust host's
/// `--sync` and `Options::sync`).
impl std::str::FromStr for SyncMode {
    type Err = ConfigError;
    fn from_str(value: &str) -> Result<SyncMode, ConfigError> {
        parse_sync(value).ok_or_else(|| ConfigError::Sync {
            value: value.to_string(),
        })
    }
}

/// A setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    LogName {
        value: String,
        reason: &'static str,
    },
    /// `PATHWAY_NAME` is not a valid log name.
    Name(crate::names::NameError),
    /// `PATHWAY_LOG` and `PATHWAY_NAME` are both set.
    Both,
    /// `PATHWAY_QUOTA` is not a whole number of bytes above 0.
    Quota {
        value: String,
    },
    MaxLine {
        value: String,
    },
    MaxDepth {
        value: String,
    },
    Sync {
        value: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The name's own words: hosts pass it from their `log` option.
            ConfigError::Name(e) => write!(f, "{e}"),
            ConfigError::Quota { value } => write!(
                f,
                "PATHWAY_QUOTA={value:?} cannot be used: it must be a whole number of bytes \
                 above 0 (the most all logs of the grant may hold together); unset it for no \
                 limit"
            ),
            ConfigError::Both => f.write_str(
                "PATHWAY_LOG and PATHWAY_NAME are both set: PATHWAY_NAME=N is the log in the \
                 file N.jsonl, PATHWAY_LOG a file name; set one of them",
            ),
            ConfigError::LogName { value, reason } => write!(
                f,
                "PATHWAY_LOG={value:?} cannot be used: {reason}; set it to a plain file \
                 name inside the granted directory, such as {DEFAULT_LOG_NAME:?}"
            ),
            ConfigError::MaxLine { value } => write!(
                f,
                "PATHWAY_MAX_LINE={value:?} cannot be used: it must be a whole number of \
                 bytes from 1 to {MAX_LINE_CEILING}; unset it for the default {DEFAULT_MAX_LINE}"
            ),
            ConfigError::MaxDepth { value } => write!(
                f,
                "PATHWAY_MAX_DEPTH={value:?} cannot be used: it must be a whole number of \
                 levels from 1 to {MAX_DEPTH_CEILING}; unset it for the default \
                 {DEFAULT_MAX_DEPTH}"
            ),
            ConfigError::Sync { value } => write!(
                f,
                "PATHWAY_SYNC={value:?} cannot be used: it must be `never`, `always` or \
                 `interval:<milliseconds>`; unset it for `never`"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads the settings through `var`, which returns a variable's value.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let name = var("PATHWAY_NAME");
        let log_name = match (var("PATHWAY_LOG"), &name) {
            (Some(_), Some(_)) => return Err(ConfigError::Both),
            (None, Some(name)) => crate::names::file_name(name).map_err(ConfigError::Name)?,
            (None, None) => DEFAULT_LOG_NAME.to_string(),
            (Some(value), None) => {
                check_log_name(&value).map_err(|reason| ConfigError::LogName {
                    value: value.clone(),
                    reason,
                })?;
                value
            }
        };
        let max_line = match var("PATHWAY_MAX_LINE") {
            None => DEFAULT_MAX_LINE,
            Some(value) => match value.trim().parse::<u64>() {
                Ok(n) if (1..=MAX_LINE_CEILING).contains(&n) => n,
                _ => return Err(ConfigError::MaxLine { value }),
            },
        };
        let max_depth = match var("PATHWAY_MAX_DEPTH") {
            None => DEFAULT_MAX_DEPTH,
            Some(value) => match value.trim().parse::<u32>() {
                Ok(n) if (1..=MAX_DEPTH_CEILING).contains(&n) => n,
                _ => return Err(ConfigError::MaxDepth { value }),
            },
        };
        let sync = match var("PATHWAY_SYNC") {
            None => SyncMode::Never,
            Some(value) => value.parse()?,
        };
        let quota = match var("PATHWAY_QUOTA") {
            None => None,
            Some(value) => match value.trim().parse::<u64>() {
                Ok(n) if n > 0 => Some(n),
                _ => return Err(ConfigError::Quota { value }),
            },
        };
        Ok(Config {
            log_name,
            name,
            max_line,
            max_depth,
            sync,
            quota,
        })
    }
}

impl Config {
    /// The same settings for the log named `name` (its file `name.jsonl`).
    pub fn for_log(&self, name: &str) -> Result<Config, crate::names::NameError> {
        Ok(Config {
            log_name: crate::names::file_name(name)?,
            name: Some(name.to_string()),
            ..self.clone()
        })
    }
}

fn parse_sync(value: &str) -> Option<SyncMode> {
    match value.trim() {
        "never" => Some(SyncMode::Never),
        "always" => Some(SyncMode::Always),
        other => {
            let millis = other.strip_prefix("interval:")?.trim().parse().ok()?;
            Some(SyncMode::Interval { millis })
        }
    }
}

/// A log name is one path component: the log can only live directly in the
/// granted directory.
fn check_log_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        Err("it is empty")
    } else if name == "." || name == ".." {
        Err("it names a directory")
    } else if name.contains(['/', '\\']) {
        Err("it contains a path separator")
    } else if name.contains('\0') {
        Err("it contains a NUL byte")
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(|k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        assert_eq!(
            config(&[]),
            Ok(Config {
                log_name: "pathway.jsonl".into(),
                name: None,
                max_line: 1 << 20,
                max_depth: 127,
                sync: SyncMode::Never,
                quota: None,
            })
        );
    }

    #[test]
    fn max_depth_must_be_a_number_in_range() {
        for bad in ["", "0", "-1", "deep", "10001"] {
            let err = config(&[("PATHWAY_MAX_DEPTH", bad)]).unwrap_err();
            assert_eq!(err, ConfigError::MaxDepth { value: bad.into() });
        }
        let depth = |v: &str| config(&[("PATHWAY_MAX_DEPTH", v)]).unwrap().max_depth;
        assert_eq!(
            (depth("1"), depth(" 256 "), depth("10000")),
            (1, 256, 10_000)
        );
    }

    #[test]
    fn settings_are_read_from_the_environment() {
        let c = config(&[("PATHWAY_LOG", "agent.jsonl"), ("PATHWAY_MAX_LINE", "4096")]).unwrap();
        assert_eq!((c.log_name.as_str(), c.max_line), ("agent.jsonl", 4096));
    }

    #[test]
    fn sync_mode_is_never_always_or_an_interval() {
        let sync = |v: &str| config(&[("PATHWAY_SYNC", v)]).map(|c| c.sync);
        assert_eq!(sync("never"), Ok(SyncMode::Never));
        assert_eq!(sync("always"), Ok(SyncMode::Always));
        assert_eq!(sync("interval:250"), Ok(SyncMode::Interval { millis: 250 }));
        for bad in ["", "sometimes", "interval:", "interval:-1", "interval:1s"] {
            assert_eq!(sync(bad), Err(ConfigError::Sync { value: bad.into() }));
        }
    }

    #[test]
    fn log_name_must_be_a_plain_file_name() {
        for bad in ["", ".", "..", "../x", "/etc/passwd", "a/b", "a\\b", "a\0b"] {
            let err = config(&[("PATHWAY_LOG", bad)]).unwrap_err();
            assert!(
                matches!(err, ConfigError::LogName { .. }),
                "{bad:?} gave {err:?}"
            );
        }
    }

    #[test]
    fn pathway_name_is_the_log_in_its_jsonl_file() {
        let c = config(&[("PATHWAY_NAME", "thread-7")]).unwrap();
        assert_eq!(
            (c.log_name.as_str(), c.name.as_deref()),
            ("thread-7.jsonl", Some("thread-7"))
        );
        assert!(matches!(
            config(&[("PATHWAY_NAME", "a/b")]),
            Err(ConfigError::Name(_))
        ));
        assert_eq!(
            config(&[("PATHWAY_NAME", "a"), ("PATHWAY_LOG", "a.jsonl")]),
            Err(ConfigError::Both)
        );
    }

    #[test]
    fn quota_is_a_number_of_bytes_above_zero() {
        let quota = |v: &str| config(&[("PATHWAY_QUOTA", v)]).map(|c| c.quota);
        assert_eq!(quota("1048576"), Ok(Some(1 << 20)));
        for bad in ["", "0", "-1", "1MiB", "lots"] {
            assert_eq!(quota(bad), Err(ConfigError::Quota { value: bad.into() }));
        }
    }

    #[test]
    fn max_line_must_be_a_number_in_range() {
        for bad in ["", "0", "-1", "1MiB", "268435457"] {
            let err = config(&[("PATHWAY_MAX_LINE", bad)]).unwrap_err();
            assert_eq!(err, ConfigError::MaxLine { value: bad.into() });
        }
        assert_eq!(
            config(&[("PATHWAY_MAX_LINE", "268435456")])
                .unwrap()
                .max_line,
            MAX_LINE_CEILING
        );
    }
}
