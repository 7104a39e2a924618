// Types of pathway.js: the Node.js host of pathway-memory
// (`pathway:memory/log@0.3.0`). The WIT (wit/pathway.wit) is the one source
// of these shapes; here every u64 is a number, as pathway.js gives it.

/** What is wrong with a damaged line. */
export type LineProblem = 'invalid-utf8' | 'invalid-json' | 'too-large';

/** One damaged line: skipped by replay, reported by `check`, moved to the quarantine by `repair`. */
export interface DamagedLine {
  /** 1-based line number. */
  line: number;
  /** Byte offset of the line's first byte in the file. */
  offset: number;
  /** Bytes of the line, without its `\n`. */
  length: number;
  /** The last line, unterminated and invalid: a write torn by a crash. */
  torn: boolean;
  problem: LineProblem;
  /** The problem in words, with the byte offset inside the line. */
  reason: string;
  /** What `replay` says for this line (`line N: ...`), with what to do. */
  message: string;
}

/** One replayed line: the stored record (one JSON value, as text) or the damaged line. */
export type Entry = { tag: 'ok'; val: string } | { tag: 'err'; val: DamagedLine };

export interface Page {
  /** Entries of the complete lines read. */
  entries: Entry[];
  /** The last line while it has no `\n` yet: judged as it stands, not consumed. */
  tail: Entry | null;
  /** Opaque cursor after `entries`: pass it to continue, or keep it to read only later appends. */
  next: string;
  /** Nothing but (at most) the tail followed `next`. */
  atEnd: boolean;
}

/** What `last` returns. */
export interface Recent {
  /**
   * Up to `count` entries, oldest first: the end of what `replay()` returns,
   * an unterminated last line included. Read backwards, so a damaged line's
   * `line` is 0 (its `offset` is exact, its message names it by offset).
   */
  entries: Entry[];
  /**
   * Cursor at the end (before an unterminated last line): pass it to
   * `replayPage` to read only what is appended later. `compact` refuses it
   * (`stale-cursor`): compact up to a cursor of `replayPage`.
   */
  next: string;
}

/** One log of the grant: the file `<name>.jsonl`. */
export interface LogInfo {
  name: string;
  /** Size of its file in bytes (on a stream: its messages counted as lines). */
  bytes: number;
}

/** A page of `logsPage`. */
export interface LogList {
  /** In name order (by the bytes of their UTF-8). */
  logs: LogInfo[];
  /** More logs follow: pass this as `after` for the next page; null at the end. */
  next: string | null;
}

/** The configuration in force, as the component read it when the log was opened. */
export interface Settings {
  logName: string;
  maxLine: number;
  /** How deep an appended event may nest arrays and objects (`PATHWAY_MAX_DEPTH`). */
  maxDepth: number;
  /** `never`, `always` or `interval:<ms>`. */
  sync: string;
  /**
   * The most bytes all files of the grant (all messages of the stream) may
   * hold together (`PATHWAY_QUOTA`); null: no limit.
   */
  quota: number | null;
  /** For hosts that stop calls by epoch interruption; unused on Node.js. */
  epochTickMs: number;
}

export interface CompactReport {
  snapshotRecords: number;
  keptBytes: number;
  bytesBefore: number;
  bytesAfter: number;
}

/**
 * The first `bytes` bytes of the log, which the last compaction or repair
 * wrote, against their SHA-256 in `<log>.sha256`: `details` of an
 * `integrity` error, and the fields of a `mismatch` checksum.
 */
export interface Integrity {
  bytes: number;
  /** The SHA-256 written, in hex (as `sha256sum` prints it). */
  expected: string;
  /** The SHA-256 of the log's first `bytes` bytes now; null when the log is shorter (it was cut). */
  actual: string | null;
}

/**
 * What `check` found of `<log>.sha256`: `none` (never compacted or
 * repaired), `stale` (written for another file than the log is now),
 * `unreadable` (torn or edited), `verified` (the log's first `bytes` bytes
 * hash as written), `mismatch` (they do not, or the log is shorter).
 */
export type Checksum =
  | { state: 'none' | 'stale' | 'unreadable' }
  | { state: 'verified'; bytes: number }
  | ({ state: 'mismatch' } & Integrity);

/**
 * A stored record nested deeper than `PATHWAY_MAX_DEPTH`: replay returns it,
 * but readers with a lower limit cannot read it.
 */
export interface DeepLine {
  /** 1-based line number. */
  line: number;
  /** Byte offset of the line's first byte in the file. */
  offset: number;
  /** Byte offset, inside the line, of the first array or object too deep. */
  at: number;
}

export interface CheckReport {
  bytes: number;
  records: number;
  damaged: DamagedLine[];
  tornTail: boolean;
  /** `<log>.compact`, `<log>.lock`, `<log>.quarantine` when present. */
  leftovers: string[];
  /** Records nested deeper than `PATHWAY_MAX_DEPTH` (stored before the limit, or under a higher one). */
  tooDeep: DeepLine[];
  /** The bytes the last compaction or repair wrote, against their SHA-256. */
  checksum: Checksum;
  /** What the checksum found, with what to do; `''` for `none` and `verified`. */
  checksumMessage: string;
}

export interface RepairReport {
  removed: DamagedLine[];
  /** The file that now holds the removed lines' bytes. */
  quarantine: string;
  bytesBefore: number;
  bytesAfter: number;
}

/** The WIT `cause` tags, as `LogError.code`. */
export type LogErrorCode =
  | 'invalid-json'
  | 'too-large'
  | 'invalid-config'
  | 'no-directory'
  | 'not-a-file'
  | 'access-denied'
  | 'insufficient-space'
  | 'invalid-cursor'
  | 'invalid-name'
  | 'no-log'
  | 'log-exists'
  | 'quota-exceeded'
  | 'deleted'
  | 'stale-cursor'
  | 'busy'
  | 'io'
  | 'integrity';

/** `details` of an `invalid-json` error. */
export interface InvalidJson {
  /** Index of the event in the call (0 for `tryAppend`). */
  index: number;
  /** Byte offset into the event where the parser stopped. */
  offset: number;
  reason: string;
}

/** `details` of a `too-large` error. */
export interface TooLarge {
  /** Index of the event in the call (0 for `tryAppend`). */
  index: number;
  /** Size of the line that would be stored, in bytes. */
  size: number;
  /** `PATHWAY_MAX_LINE`. */
  limit: number;
}

/** `details` of a `quota-exceeded` error: what the refused call would have needed. */
export interface QuotaExceeded {
  /** Bytes the grant (the stream) holds now. */
  used: number;
  /** The quota in force (`PATHWAY_QUOTA`). */
  limit: number;
  /** Bytes the refused call would have added. */
  needed: number;
}

/**
 * The component's error. Decide on `code` (and `details`), never on
 * `message`, which is the component's text for people, the same in every host.
 */
export class LogError extends Error {
  readonly name: 'LogError';
  readonly code: LogErrorCode;
  readonly details: InvalidJson | TooLarge | QuotaExceeded | Integrity | null;
}

/** The component trapped (`append` on a refused event); the log makes a fresh instance. */
export class Trap extends Error {
  readonly name: 'Trap';
  /** The WIT function that trapped, e.g. `append`. */
  readonly func: string;
  /** The guest's stderr during the call, as it wrote it. */
  readonly stderr: string;
  /** Always false: Node.js cannot stop a running call. */
  readonly timedOut: boolean;
}

/** The bounds of a batch of `appendLines`. */
export interface Batching {
  /** Most events in one batch (default 1000). */
  maxEvents?: number;
  /** Most bytes (UTF-8) of events in one batch; a larger event is a batch of its own (default 1 MiB). */
  maxBytes?: number;
  /** Store a batch once no line has come for this long (default 10 ms). */
  idleMs?: number;
  /** Store a batch once its first line has waited this long (default 50 ms). */
  maxWaitMs?: number;
}

/** The defaults of {@link Batching}, as in the Rust and Python hosts. */
export const BATCHING: Readonly<Required<Batching>>;

/** What `appendLines` read and stored. */
export interface LinesReport {
  /** Lines read, blank ones included. */
  lines: number;
  /** Events stored. */
  stored: number;
}

/** Why `appendLines` stopped: a `LogError` code, a line that is not UTF-8, a trap, the host, or the source. */
export type LinesErrorCode = LogErrorCode | 'invalid-utf8' | 'trap' | 'host' | 'source';

/**
 * `appendLines` stopped: a refused line (`line` set) refused its batch, or
 * the log or the source failed. The batches before are stored. Decide on
 * `code`; `cause` is the LogError, Trap or the source's error.
 */
export class LinesError extends Error {
  readonly name: 'LinesError';
  readonly code: LinesErrorCode;
  /** The refused line (1-based), or null when something else stopped the import. */
  readonly line: number | null;
  /** Resume from this line: every line before it is stored or blank. */
  readonly resumeLine: number;
  /** Events this import stored, all before `resumeLine`. */
  readonly stored: number;
  /** For `invalid-utf8`: the offset of the line's first bad byte; else null. */
  readonly byte: number | null;
}

export interface OpenOptions {
  /** PATHWAY_LOG: the log's file name in the directory. */
  logName?: string;
  /**
   * PATHWAY_NAME: open the log of the grant named `log` (the file
   * `<log>.jsonl`) as the Memory's own log. A bad name rejects with a
   * {@link LogError} `invalid-name`; not with `logName` (`invalid-config`).
   */
  log?: string;
  /** PATHWAY_MAX_LINE: longest stored line in bytes. */
  maxLine?: number | string;
  /** PATHWAY_MAX_DEPTH: how deep an appended event may nest arrays and objects (1 to 10000; default 127). */
  maxDepth?: number | string;
  /** PATHWAY_SYNC, passed as is: `never`, `always` or `interval:<ms>`. */
  sync?: string;
  /**
   * PATHWAY_QUOTA: the most bytes all files of the directory may hold
   * together. Appends and forks past it throw a {@link LogError}
   * `quota-exceeded` and store nothing; reading is never refused. Passed as
   * the string of the value: 0 or a non-number rejects `open` with
   * `invalid-config`. Unset or null: no limit.
   */
  quota?: number | string | null;
  /** Grant the directory read-only: changes fail with `access-denied`. */
  readOnly?: boolean;
  /** Directory of the transpiled component (default: `gen` next to pathway.js). */
  bindings?: string;
}

/**
 * Where a log kept in a NATS JetStream stream is, and its options:
 * `open({ nats, stream, replicas })`. The stream's subjects are
 * `pathway.<stream>.events|snapshot|commit|quarantine`.
 */
export interface StreamOptions {
  /** The NATS server URL, or several comma-separated; `nats://user:pass@host:port` carries a user and password. */
  nats: string;
  /** The JetStream stream's name. */
  stream: string;
  /** Create the stream with this many replicas when it is missing (unset: a missing stream rejects `open` with `no-directory`). */
  replicas?: number;
  /** How long one call keeps retrying while the server is away before it fails with `io`, in ms (default 30000). */
  timeoutMs?: number;
  /** PATHWAY_MAX_LINE: longest stored message payload in bytes. */
  maxLine?: number | string;
  /** PATHWAY_MAX_DEPTH: how deep an appended event may nest arrays and objects (1 to 10000; default 127). */
  maxDepth?: number | string;
  /** PATHWAY_QUOTA: the most bytes all messages of the stream may hold together, as the server counts them; as for a directory log. */
  quota?: number | string | null;
  /** PATHWAY_NAME: a named log of the stream (refused with `io` so far: a stream holds one log). */
  log?: string;
  /** Directory of the transpiled stream build (default: `gen/stream` next to pathway.js). */
  bindings?: string;
}

/** The stream a stream log was granted. */
export interface StreamTarget {
  /** The stream's name. */
  name: string;
  /** The NATS URL(s), as given to `open`. */
  location: string;
}

/** One log: an instance of the component that sees one directory or one stream. Every method is synchronous. */
export class Memory {
  private constructor();
  /** The host directory granted to the instance; `null` for a stream log. */
  readonly dir: string | null;
  /** The stream granted to the instance; `null` for a directory log. */
  readonly stream: StreamTarget | null;
  readonly settings: Settings;
  /** `dir` joined with `settings.logName`; `null` for a stream log. */
  readonly logPath: string | null;
  /** Appends one event; a refused event throws a {@link Trap}. Prefer `tryAppend`. */
  append(event: string): void;
  /**
   * Appends one event, or throws a {@link LogError} (`quota-exceeded` past
   * the quota); then nothing was written.
   */
  tryAppend(event: string): void;
  /** Appends every event, all or nothing; a {@link LogError} names the first bad one. */
  appendBatch(events: string[]): void;
  /**
   * Appends the lines of `source` (a Readable byte stream, split at `\n`, or
   * an iterable or async iterable of lines) as they arrive, in batches; a
   * refused line refuses its batch and rejects with a {@link LinesError}.
   */
  appendLines(
    source: Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>,
    options?: Batching,
  ): Promise<LinesReport>;
  /** Every entry in file order; throws a {@link LogError} when the log cannot be read at all. */
  replay(): Entry[];
  replayPage(cursor?: string | null, maxBytes?: number): Page;
  /** Every entry from `cursor` on, page by page; returns the cursor after the last complete line. */
  entries(options?: { cursor?: string | null; maxBytes?: number }): Generator<Entry, string, undefined>;
  /**
   * The last `count` entries, oldest first, read backwards from the end (the
   * cost grows with what is returned, not with the log), and the end cursor.
   */
  last(count: number): Recent;
  /**
   * The cursor at the end of the log as it is now, without reading it
   * (`last(0).next`): for reading only later appends; `compact` refuses it.
   */
  endCursor(): string;
  /** A page of the grant's logs in name order: at most `max` (default 1000) after `after`. */
  logsPage(after?: string | null, max?: number): LogList;
  /** Every log of the grant in name order (every page of `logsPage`, 1000 at a time). */
  logs(): LogInfo[];
  /**
   * The log named `name` in the same grant (the file `<name>.jsonl`,
   * created by its first append). A bad name throws a {@link LogError}
   * `invalid-name` and creates nothing; on a stream log, `io`.
   */
  log(name: string): NamedLog;
  /**
   * Deletes the log `name` and its side files, crash-safely; returns the
   * bytes it had (no longer counted against the quota). This Memory's
   * handle of `name` is dropped first (the next `log(name)` starts a new
   * log; its own log's next append likewise); an append through another Memory that
   * had it open fails once with `deleted`. Throws a {@link LogError}:
   * `invalid-name`, `no-log`, `busy`, or a failed file operation.
   */
  deleteLog(name: string): number;
  /**
   * Makes the new log `target` a copy of `source` up to `at` (a cursor of
   * `source`; `null` or omitted: its end); returns the bytes copied. Throws
   * a {@link LogError}: `invalid-name`, `no-log` (no source), `log-exists`
   * (the target exists), `invalid-cursor`, `stale-cursor`, `quota-exceeded`
   * (the copy would pass the quota), or a failed file operation; nothing is
   * created then.
   */
  forkLog(source: string, target: string, at?: string | null): number;
  compact(snapshot: string[], upto: string): CompactReport;
  check(): CheckReport;
  repair(): RepairReport;
  sync(): void;
  /** Releases the instance, its named logs and its files (a stream log: its NATS connection and worker thread); further calls throw. */
  close(): void;
}

/** How many named logs a Memory keeps open at once; opening one more drops them all (each opens again on use). */
export const OPEN_HANDLES: number;

/**
 * One of many logs in a grant, opened by name (`memory.log(name)`): the
 * same operations, errors and messages as the default log, on the file
 * `<name>.jsonl`. Calls throw once its Memory is closed.
 */
export class NamedLog {
  private constructor();
  /** The name it was opened with. */
  readonly name: string;
  /** Appends one event, or throws a {@link LogError}; then nothing was written. */
  tryAppend(event: string): void;
  /** Appends every event, all or nothing; a {@link LogError} names the first bad one. */
  appendBatch(events: string[]): void;
  /** Every entry in file order; a log not written yet is `[]`. */
  replay(): Entry[];
  replayPage(cursor?: string | null, maxBytes?: number): Page;
  /** The last `count` entries, read backwards, and the end cursor. */
  last(count: number): Recent;
  /** `last(0).next`: the end cursor, without reading the log; `compact` refuses it. */
  endCursor(): string;
  sync(): void;
  compact(snapshot: string[], upto: string): CompactReport;
  check(): CheckReport;
  repair(): RepairReport;
}

/**
 * Opens the log kept in `dir`. Rejects with the fs error when `dir` is not
 * an existing directory, with a {@link LogError} (`invalid-config`,
 * `invalid-name` for the `log` option) when the component cannot use the options.
 */
export function open(dir: string, options?: OpenOptions): Promise<Memory>;
/**
 * Opens the log kept in a NATS JetStream stream. Rejects with a
 * {@link LogError}: `io` when no server answers, `no-directory` when the
 * stream is missing (and `replicas` unset), `access-denied` when the server
 * refuses the user, `invalid-config` for options the component cannot use.
 */
export function open(stream: StreamOptions): Promise<Memory>;
