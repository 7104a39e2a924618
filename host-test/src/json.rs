//! The JSON shape of the component's values that the CLI's `--json`
//! output and every host's differential runner write
//! (`host-test/hosts/cross-host.md`): keys in snake_case, WIT tags in
//! kebab-case, integers as numbers.

use serde_json::{Value, json};

use crate::{
    Cause, CheckReport, Checksum, CompactReport, DamagedLine, Entry, Error, LineProblem,
    LinesError, LinesFailure, LogError, LogInfo, LogList, Page, Recent, RepairReport,
};

/// The WIT name of a cause.
pub fn cause_name(cause: &Cause) -> &'static str {
    match cause {
        Cause::InvalidJson(_) => "invalid-json",
        Cause::TooLarge(_) => "too-large",
        Cause::InvalidConfig => "invalid-config",
        Cause::NoDirectory => "no-directory",
        Cause::NotAFile => "not-a-file",
        Cause::AccessDenied => "access-denied",
        Cause::InsufficientSpace => "insufficient-space",
        Cause::InvalidCursor => "invalid-cursor",
        Cause::InvalidName => "invalid-name",
        Cause::NoLog => "no-log",
        Cause::LogExists => "log-exists",
        Cause::Deleted => "deleted",
        Cause::QuotaExceeded(_) => "quota-exceeded",
        Cause::StaleCursor => "stale-cursor",
        Cause::Busy => "busy",
        Cause::Io => "io",
        Cause::Integrity(_) => "integrity",
    }
}

fn problem_name(problem: LineProblem) -> &'static str {
    match problem {
        LineProblem::InvalidUtf8 => "invalid-utf8",
        LineProblem::InvalidJson => "invalid-json",
        LineProblem::TooLarge => "too-large",
    }
}

/// `{"cause", "message"}` plus the cause's fields.
pub fn log_error(error: &LogError) -> Value {
    let mut value = json!({ "cause": cause_name(&error.cause), "message": error.message });
    let fields = match &error.cause {
        Cause::InvalidJson(e) => {
            json!({ "index": e.index, "offset": e.offset, "reason": e.reason })
        }
        Cause::TooLarge(e) => json!({ "index": e.index, "size": e.size, "limit": e.limit }),
        Cause::Integrity(e) => integrity(e),
        Cause::QuotaExceeded(q) => json!({ "used": q.used, "limit": q.limit, "needed": q.needed }),
        _ => json!({}),
    };
    if let (Value::Object(value), Value::Object(fields)) = (&mut value, fields) {
        value.extend(fields);
    }
    value
}

/// Where an import of lines stopped, for a refused line or an error of
/// the component: `{"cause", "message", "line", "resume_line", "stored",
/// "byte", "error"}`, `message` the whole text, `error` the component's
/// error (`null` for a line that is not UTF-8, whose `byte` is set). Any
/// other failure (a trap, a failed read) is `None`.
pub fn lines_error(e: &LinesError) -> Option<Value> {
    let (error, byte) = match &e.failure {
        LinesFailure::Log(Error::Log(error)) => (log_error(error), None),
        LinesFailure::InvalidUtf8 { byte } => (Value::Null, Some(*byte)),
        _ => return None,
    };
    Some(json!({
        "cause": e.cause_name(),
        "message": e.to_string(),
        "line": e.line,
        "resume_line": e.resume_line,
        "stored": e.stored,
        "byte": byte,
        "error": error,
    }))
}

pub fn damaged_line(line: &DamagedLine) -> Value {
    json!({
        "line": line.line,
        "offset": line.offset,
        "length": line.length,
        "torn": line.torn,
        "problem": problem_name(line.problem),
        "reason": line.reason,
        "message": line.message,
    })
}

/// `{"ok": "<line>"}` or `{"err": <damaged line>}`.
pub fn entry(entry: &Entry) -> Value {
    match entry {
        Ok(line) => json!({ "ok": line }),
        Err(damaged) => json!({ "err": damaged_line(damaged) }),
    }
}

pub fn entries(entries: &[Entry]) -> Value {
    Value::Array(entries.iter().map(entry).collect())
}

/// A page with its `next` cursor, as `pathway page --json` prints it.
pub fn page(page: &Page) -> Value {
    json!({
        "entries": entries(&page.entries),
        "tail": page.tail.as_ref().map(entry),
        "next": page.next,
        "at_end": page.at_end,
    })
}

/// `{"entries", "next"}`: what `last` returns.
pub fn recent(recent: &Recent) -> Value {
    json!({ "entries": entries(&recent.entries), "next": recent.next })
}

/// `{"name", "bytes"}`: one log of the grant.
pub fn log_info(info: &LogInfo) -> Value {
    json!({ "name": info.name, "bytes": info.bytes })
}

/// `{"logs": [{"name", "bytes"}...], "next"}`: a page of `logs`.
pub fn log_list(list: &LogList) -> Value {
    json!({
        "logs": list.logs.iter().map(log_info).collect::<Vec<_>>(),
        "next": list.next,
    })
}

/// `{"bytes", "expected", "actual"}` (`actual` null when the log is
/// shorter).
fn integrity(e: &crate::Integrity) -> Value {
    json!({ "bytes": e.bytes, "expected": e.expected, "actual": e.actual })
}

/// `{"state"}`, with `bytes` when verified and the integrity fields on a
/// mismatch.
pub fn checksum(checksum: &Checksum) -> Value {
    match checksum {
        Checksum::None => json!({ "state": "none" }),
        Checksum::Stale => json!({ "state": "stale" }),
        Checksum::Unreadable => json!({ "state": "unreadable" }),
        Checksum::Verified(bytes) => json!({ "state": "verified", "bytes": bytes }),
        Checksum::Mismatch(e) => {
            let mut value = integrity(e);
            value["state"] = json!("mismatch");
            value
        }
    }
}

pub fn check_report(report: &CheckReport) -> Value {
    json!({
        "bytes": report.bytes,
        "records": report.records,
        "damaged": report.damaged.iter().map(damaged_line).collect::<Vec<_>>(),
        "torn_tail": report.torn_tail,
        "leftovers": report.leftovers,
        "too_deep": report
            .too_deep
            .iter()
            .map(|d| json!({ "line": d.line, "offset": d.offset, "at": d.at }))
            .collect::<Vec<_>>(),
        "checksum": checksum(&report.checksum),
        "checksum_message": report.checksum_message,
    })
}

pub fn repair_report(report: &RepairReport) -> Value {
    json!({
        "removed": report.removed.iter().map(damaged_line).collect::<Vec<_>>(),
        "quarantine": report.quarantine,
        "bytes_before": report.bytes_before,
        "bytes_after": report.bytes_after,
    })
}

pub fn compact_report(report: &CompactReport) -> Value {
    json!({
        "snapshot_records": report.snapshot_records,
        "kept_bytes": report.kept_bytes,
        "bytes_before": report.bytes_before,
        "bytes_after": report.bytes_after,
    })
}

/// `{"ok": <value>}` or `{"err": <error>}` for a component error; any
/// other failure (a trap, a host error) is returned as it is.
pub fn outcome<T>(result: Result<T, Error>, ok: impl FnOnce(&T) -> Value) -> Result<Value, Error> {
    value_or_error(result, |value| json!({ "ok": ok(value) }))
}

/// The value, or `{"err": <error>}` for a component error.
pub fn value_or_error<T>(
    result: Result<T, Error>,
    ok: impl FnOnce(&T) -> Value,
) -> Result<Value, Error> {
    match result {
        Ok(value) => Ok(ok(&value)),
        Err(Error::Log(error)) => Ok(json!({ "err": log_error(&error) })),
        Err(other) => Err(other),
    }
}
