// The NATS JetStream transport behind the stream build of the component
// (`pathway:memory/stream@0.3.0`), run in a worker thread: the component's
// imports are synchronous and Node.js 20 has no JSPI, so `nats.js` (the main
// thread's side) posts each call here and blocks on Atomics.wait until this
// thread has posted the answer (see `nats.js`).
//
// The official client: @nats-io/transport-node and @nats-io/jetstream. Every
// rule of the log is in the component; this file only moves messages:
//
// - subjects `pathway.NAME.events|snapshot|commit|quarantine` (the WIT
//   `topic` is the last token);
// - every call retries while the server is away (a restart, a leader
//   election): each request waits REQUEST_MS for its answer and is tried
//   again after a pause of 50 ms doubling to 800 ms, until the call's
//   budget (`budgetMs`, default 30 s) is spent; then `unavailable` with the
//   last reason, the tries and the milliseconds;
// - `publish` sends every message at once (pipelined) with `Nats-Msg-Id`
//   and waits for all acks; the ones without an ack are sent again with the
//   same id (the server stores each once within its duplicate window);
// - `read` keeps an ordered consumer open between pages, so that the next
//   page, starting where the last stopped, costs no new consumer; small
//   reads use "next message by subject" gets instead.
//
// The answer to a call is `{ ok: value }` or `{ err: stream-error }`, both
// already in jco's shapes for the WIT types (u64 as bigint, variants as
// `{ tag, val }`), but for messages: `pack` sends their payloads in one
// transferred buffer, which nats.js unpacks.

import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, headers as natsHeaders, nanos } from '@nats-io/transport-node';
import { DeliverPolicy, JetStreamApiError, jetstream, jetstreamManager } from '@nats-io/jetstream';

/** How long one request waits for its answer before it is tried again. */
export const REQUEST_MS = 2000;
/** The time budget of one call, when the host sets none (as nats.js's). */
const DEFAULT_BUDGET_MS = 30_000;
const FIRST_PAUSE_MS = 50;
const LAST_PAUSE_MS = 800;
/** Reads asking for less than this use gets, not an ordered consumer. */
const SMALL_READ = 4096;
/** Messages an ordered consumer pulls at a time (its buffer). */
const PULL_BATCH = 256;
/** Duplicate window of a stream created here (2 minutes), in nanoseconds. */
const DUPLICATE_WINDOW = nanos(120_000);

export const TOPICS = ['events', 'snapshot', 'commit', 'quarantine'];

// JetStream API error codes (err_code).
const NO_MESSAGE_FOUND = 10037;
const SEQUENCE_NOT_FOUND = 10043;
const DELETE_FAILED = 10057;
const STREAM_NOT_FOUND = 10059;
const WRONG_LAST_SEQUENCE = 10071;
/**
 * States that pass, tried again (besides any error with status 503): the
 * cluster not assigned to this server yet (10007), JetStream temporarily
 * unavailable (10008), no leader to handle the request (10009), the stream
 * offline (10118, and with a reason 10194).
 */
const TRANSIENT_CODES = new Set([10007, 10008, 10009, 10118, 10194]);

/** A stream-error decided: returned at once, not tried again. */
class Final extends Error {
  constructor(error) {
    super(error.tag);
    this.error = error;
  }
}

/** A failure to try again; `atBudget` (a stream-error) replaces `unavailable` when the budget ends on it. */
class Again extends Error {
  constructor(reason, atBudget = null) {
    super(reason);
    this.atBudget = atBudget;
  }
}

function textOf(error) {
  if (error instanceof JetStreamApiError) {
    return `${error.message} (JetStream error ${error.code})`;
  }
  const cause = error?.cause;
  const more = cause && cause !== error && cause.message && !String(error.message).includes(cause.message)
    ? `: ${cause.message}` : '';
  return `${error?.message ?? error}${more}`;
}

function isPermission(error) {
  for (let e = error; e; e = e.cause === e ? null : e.cause) {
    if (e.name === 'PermissionViolationError' || e.name === 'AuthorizationError'
      || e.name === 'UserAuthenticationExpiredError') {
      return e;
    }
  }
  return null;
}

function isNoResponders(error) {
  for (let e = error; e; e = e.cause === e ? null : e.cause) {
    if (e.name === 'NoResponders' || e.name === 'JetStreamNotEnabled') {
      return true;
    }
  }
  return false;
}

/**
 * What to do with a failure: a Final (the stream-error to return) or an
 * Again (try again until the budget).
 */
function classify(error) {
  if (error instanceof Final || error instanceof Again) {
    return error;
  }
  const denied = isPermission(error);
  if (denied) {
    return new Final({ tag: 'denied', val: denied.message });
  }
  if (error instanceof JetStreamApiError) {
    switch (error.code) {
      case STREAM_NOT_FOUND:
        return new Final({ tag: 'missing' });
      case WRONG_LAST_SEQUENCE:
        return new Final({ tag: 'conflict' });
      default:
        if (error.status === 503 || TRANSIENT_CODES.has(error.code)) {
          return new Again(textOf(error));
        }
        return new Final({ tag: 'refused', val: textOf(error) });
    }
  }
  if (error instanceof TypeError || error instanceof RangeError) {
    // A bug of this host, not the store's doing: it must not pass for a
    // store's refusal or absence. Thrown on, it ends the call as a fault
    // (a trap), with its stack.
    throw error;
  }
  if (error?.name === 'InvalidArgumentError' || error?.name === 'InvalidNameError'
    || error?.name === 'InvalidSubjectError') {
    // Not the server's doing: a name or value the client will never send.
    return new Final({ tag: 'refused', val: textOf(error) });
  }
  // Timeouts, no responders (JetStream not ready), a lost or closed
  // connection, a consumer that stopped: the server is away.
  return new Again(textOf(error));
}

/** A delete of a message that is not there (any more). */
function isGone(error) {
  return error instanceof JetStreamApiError && (error.code === NO_MESSAGE_FOUND
    || error.code === SEQUENCE_NOT_FOUND
    // "stream store EOF": a sequence the stream never reached.
    || (error.code === DELETE_FAILED && /no message found|not found|store EOF/i.test(error.message)));
}

/** `user`/`pass` from `nats://user:pass@host:port` and the URLs without them. */
export function parseServers(url) {
  const servers = [];
  let user;
  let pass;
  for (const raw of url.split(',').map((s) => s.trim()).filter(Boolean)) {
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `nats://${raw}`;
    let parsed;
    try {
      parsed = new URL(withScheme);
    } catch {
      throw new Final({ tag: 'refused', val: `${JSON.stringify(raw)} is not a NATS URL` });
    }
    if (parsed.username) {
      user = decodeURIComponent(parsed.username);
      pass = decodeURIComponent(parsed.password);
    }
    servers.push(`${parsed.protocol}//${parsed.host}`);
  }
  if (servers.length === 0) {
    throw new Final({ tag: 'refused', val: 'no NATS URL given' });
  }
  return { servers, user, pass };
}

/** The message's headers without the server's own (`Nats-...`), as WIT tuples. */
function headersOf(header) {
  const out = [];
  if (!header) {
    return out;
  }
  for (const [name, values] of header) {
    if (name.toLowerCase().startsWith('nats-')) {
      continue;
    }
    for (const value of values) {
      out.push([name, value]);
    }
  }
  return out;
}

/**
 * Messages `{ seq, headers, data }` packed to cross to the main thread
 * cheaply (a page may hold many thousands): the payloads one after another
 * in one buffer, the sequences and lengths in typed arrays, all three
 * transferred, and the headers only for the messages that have any, as
 * `[index, headers]`. `nats.js` unpacks them (`unpack`).
 */
function pack(found) {
  let total = 0;
  for (const m of found) {
    total += m.data.byteLength;
  }
  const payloads = new Uint8Array(total);
  const seqs = new Float64Array(found.length);
  const lengths = new Uint32Array(found.length);
  const headers = [];
  let at = 0;
  for (let i = 0; i < found.length; i += 1) {
    const m = found[i];
    payloads.set(m.data, at);
    at += m.data.byteLength;
    seqs[i] = m.seq;
    lengths[i] = m.data.byteLength;
    if (m.headers.length) {
      headers.push([i, m.headers]);
    }
  }
  return { packed: { payloads, seqs, lengths, headers }, transfer: [payloads.buffer, seqs.buffer, lengths.buffer] };
}

/**
 * One stream's transport, as async methods named after the WIT functions.
 * Each resolves to the value or throws a {@link Final} holding the
 * stream-error.
 */
export class NatsStream {
  #url;
  #name;
  #replicas;
  #budgetMs;
  #servers;
  #nc = null;
  #js = null;
  #jsm = null;
  /** The ordered consumer left open after a page: `{ subject, nextSeq, consumer, iterator }`. */
  #reader = null;

  /**
   * @param {{ url: string, stream: string, replicas?: number | null, budgetMs?: number }} config
   */
  constructor({ url, stream, replicas = null, budgetMs = DEFAULT_BUDGET_MS }) {
    this.#url = url;
    this.#name = stream;
    this.#replicas = replicas ?? null;
    this.#budgetMs = budgetMs;
  }

  subject(topic) {
    if (!TOPICS.includes(topic)) {
      throw new Final({ tag: 'refused', val: `unknown topic ${JSON.stringify(topic)}` });
    }
    return `pathway.${this.#name}.${topic}`;
  }

  /**
   * Runs `attempt(timeoutMs)` until it succeeds, a failure is final, or the
   * budget is spent (then `unavailable`, or the failure's `atBudget`). Each
   * try's requests wait REQUEST_MS for their answer, or what is left of the
   * budget when that is less.
   */
  async #retry(attempt, acked = () => 0) {
    const started = performance.now();
    let tries = 0;
    for (;;) {
      tries += 1;
      let failure;
      const left = this.#budgetMs - (performance.now() - started);
      try {
        return await attempt(Math.round(Math.max(50, Math.min(REQUEST_MS, left))));
      } catch (error) {
        failure = classify(error);
      }
      // A consumer left open may have seen the failure: made anew after any.
      this.#dropReader();
      if (failure instanceof Final) {
        throw failure;
      }
      const pause = Math.min(FIRST_PAUSE_MS * 2 ** (tries - 1), LAST_PAUSE_MS);
      const elapsed = performance.now() - started;
      if (elapsed + pause >= this.#budgetMs) {
        throw new Final(failure.atBudget ?? {
          tag: 'unavailable',
          val: { reason: failure.message, tries, millis: BigInt(Math.round(elapsed)), acked: acked() },
        });
      }
      await sleep(pause);
    }
  }

  /**
   * The JetStream client and manager whose requests wait `timeoutMs` for
   * their answer, on the connection (made, or made again if it was closed).
   */
  async #api(timeoutMs) {
    const nc = await this.#connection();
    if (timeoutMs === REQUEST_MS) {
      return { nc, js: this.#js, jsm: this.#jsm };
    }
    return {
      nc,
      js: jetstream(nc, { timeout: timeoutMs }),
      jsm: await jetstreamManager(nc, { timeout: timeoutMs, checkAPI: false }),
    };
  }

  /** The connection, made (or made again, if it was closed) on first use. */
  async #connection() {
    if (this.#nc && !this.#nc.isClosed()) {
      return this.#nc;
    }
    this.#servers ??= parseServers(this.#url);
    const { servers, user, pass } = this.#servers;
    const nc = await connect({
      servers,
      user,
      pass,
      name: `pathway-memory ${this.#name}`,
      timeout: REQUEST_MS,
      // Keep the connection through a server's restart: calls made
      // meanwhile time out and are tried again on the same connection.
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      reconnectJitter: 100,
      pingInterval: 10_000,
    });
    this.#nc = nc;
    this.#js = jetstream(nc, { timeout: REQUEST_MS });
    this.#jsm = await jetstreamManager(nc, { timeout: REQUEST_MS, checkAPI: false });
    return nc;
  }

  /** The WIT `connect`: the connection and the stream (made, if asked); the server's max_payload. */
  async connect() {
    return this.#retry(async (timeoutMs) => {
      const { nc, jsm } = await this.#api(timeoutMs);
      try {
        await jsm.streams.info(this.#name);
      } catch (error) {
        if (!(error instanceof JetStreamApiError && error.code === STREAM_NOT_FOUND)) {
          throw error;
        }
        if (this.#replicas === null) {
          throw new Final({ tag: 'missing' });
        }
        try {
          await jsm.streams.add({
            name: this.#name,
            subjects: [`pathway.${this.#name}.>`],
            num_replicas: this.#replicas,
            duplicate_window: DUPLICATE_WINDOW,
          });
        } catch (refusal) {
          const failure = classify(refusal);
          if (failure instanceof Final && failure.error.tag === 'refused') {
            // Another client may have made it meanwhile: look again, and
            // say refused only when the budget ends on this.
            throw new Again(failure.error.val, failure.error);
          }
          throw refusal;
        }
      }
      return BigInt(nc.info?.max_payload ?? 0);
    });
  }

  /** The WIT `publish`: the stream sequence of each message, in input order. */
  async publish(messages) {
    const outgoing = messages.map((m) => {
      const headers = natsHeaders();
      for (const [name, value] of m.headers) {
        headers.append(name, value);
      }
      headers.set('Nats-Msg-Id', m.id);
      if (m.expectLast !== undefined && m.expectLast !== null) {
        headers.set('Nats-Expected-Last-Subject-Sequence', String(m.expectLast));
      }
      return { subject: this.subject(m.topic), payload: m.payload, headers };
    });
    const seqs = new Array(outgoing.length).fill(null);
    const acked = () => seqs.filter((s) => s !== null).length;
    return this.#retry(async (timeoutMs) => {
      const { js, jsm } = await this.#api(timeoutMs);
      const todo = [];
      for (let i = 0; i < seqs.length; i += 1) {
        if (seqs[i] === null) {
          todo.push(i);
        }
      }
      // Every message goes out before any ack is awaited.
      const results = await Promise.allSettled(todo.map((i) => {
        const { subject, payload, headers } = outgoing[i];
        return js.publish(subject, payload, { headers, timeout: timeoutMs });
      }));
      let again = null;
      let noResponders = false;
      for (let k = 0; k < todo.length; k += 1) {
        const result = results[k];
        if (result.status === 'fulfilled') {
          seqs[todo[k]] = result.value.seq;
          continue;
        }
        const failure = classify(result.reason);
        if (failure instanceof Final) {
          throw failure;
        }
        again ??= failure;
        noResponders ||= isNoResponders(result.reason);
      }
      if (again) {
        if (noResponders) {
          // Nothing listens on the subject: the stream may be gone (or
          // JetStream is not ready yet, and this fails as a retry).
          await jsm.streams.info(this.#name);
        }
        throw again;
      }
      return seqs.map((s) => BigInt(s));
    }, acked);
  }

  /** The WIT `last`: the subject's last message, or undefined. */
  async last(topic) {
    const subject = this.subject(topic);
    const found = await this.#retry(async (timeoutMs) => {
      const { jsm } = await this.#api(timeoutMs);
      return jsm.streams.getMessage(this.#name, { last_by_subj: subject });
    });
    if (!found) {
      return undefined;
    }
    return pack([{ seq: found.seq, headers: headersOf(found.header), data: found.data }]);
  }

  /** The first message on `subject` at or after `seq`, or null. */
  async #next(subject, seq, timeoutMs) {
    const { jsm } = await this.#api(timeoutMs);
    return jsm.streams.getMessage(this.#name, { seq: Math.max(seq, 1), next_by_subj: subject });
  }

  /** The WIT `read`: messages of `topic` from `start` until about `maxBytes`. */
  async read(topic, start, maxBytes) {
    const subject = this.subject(topic);
    const from = Math.max(Number(start), 1);
    const budget = Number(maxBytes);
    const found = [];
    let bytes = 0;
    const end = await this.#retry(async (timeoutMs) => {
      // A retry goes on from after what was already read.
      let at = found.length ? found[found.length - 1].seq + 1 : from;
      if (budget < SMALL_READ && !(this.#reader && this.#reader.subject === subject && this.#reader.nextSeq === at)) {
        for (;;) {
          const m = await this.#next(subject, at, timeoutMs);
          if (!m) {
            return true;
          }
          found.push({ seq: m.seq, headers: headersOf(m.header), data: m.data });
          bytes += m.data.byteLength + 1;
          at = m.seq + 1;
          if (bytes >= budget) {
            return !(await this.#next(subject, at, timeoutMs));
          }
        }
      }
      return this.#readOrdered(subject, at, budget, timeoutMs, found, () => bytes, (n) => { bytes += n; });
    });
    return { ...pack(found), end };
  }

  async #readOrdered(subject, at, budget, timeoutMs, found, bytesNow, addBytes) {
    let reader = this.#reader;
    if (!reader || reader.subject !== subject || reader.nextSeq !== at) {
      this.#dropReader();
      const { js } = await this.#api(timeoutMs);
      const consumer = await js.consumers.get(this.#name, {
        filter_subjects: subject,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: at,
      });
      const info = await consumer.info(true);
      if (info.num_pending === 0) {
        consumer.delete().catch(() => {});
        return true;
      }
      const iterator = await consumer.consume({ max_messages: PULL_BATCH });
      reader = { subject, nextSeq: at, consumer, iterator, messages: iterator[Symbol.asyncIterator]() };
      this.#reader = reader;
    }
    // One timer for the whole page, pushed back as each message arrives.
    let expire = null;
    const timer = setTimeout(() => expire?.(), timeoutMs);
    try {
      for (;;) {
        const arriving = reader.messages.next();
        // Given up on after the timeout, it may still fail later: not unhandled.
        arriving.catch(() => {});
        timer.refresh();
        const next = await Promise.race([arriving, new Promise((resolve) => { expire = resolve; })]);
        if (next === undefined) {
          throw new Error(`no message from the ordered consumer within ${timeoutMs} ms`);
        }
        if (next.done) {
          throw new Error('the ordered consumer stopped');
        }
        const m = next.value;
        const { streamSequence: seq, pending } = m.info;
        found.push({ seq, headers: headersOf(m.headers), data: m.data });
        addBytes(m.data.byteLength + 1);
        reader.nextSeq = seq + 1;
        if (pending === 0) {
          // As of when the server sent it: ask the stream whether more came.
          return !(await this.#next(subject, reader.nextSeq, timeoutMs));
        }
        if (bytesNow() >= budget) {
          return false;
        }
      }
    } finally {
      clearTimeout(timer);
    }
  }

  #dropReader() {
    const reader = this.#reader;
    this.#reader = null;
    if (reader) {
      try {
        reader.iterator.stop();
      } catch {
        // already stopped
      }
      reader.consumer.delete().catch(() => {});
    }
  }

  /** The WIT `purge`: removes the topic's messages below `below`. */
  async purge(topic, below) {
    const subject = this.subject(topic);
    const seq = Number(below);
    this.#dropReader();
    if (seq <= 1) {
      return undefined; // nothing is below 1 (and seq 0 would purge all)
    }
    await this.#retry(async (timeoutMs) => {
      const { jsm } = await this.#api(timeoutMs);
      await jsm.streams.purge(this.#name, { filter: subject, seq });
    });
    return undefined;
  }

  /** The WIT `remove`: deletes message `seq`; one already gone is no error. */
  async remove(seq) {
    this.#dropReader();
    await this.#retry(async (timeoutMs) => {
      const { jsm } = await this.#api(timeoutMs);
      try {
        await jsm.streams.deleteMessage(this.#name, Number(seq), false);
      } catch (error) {
        if (!isGone(error)) {
          throw error;
        }
      }
    });
    return undefined;
  }

  /** The WIT `stats`: the stream's bytes and the messages per topic. */
  async stats() {
    const info = await this.#retry(async (timeoutMs) => {
      const { jsm } = await this.#api(timeoutMs);
      return jsm.streams.info(this.#name, { subjects_filter: `pathway.${this.#name}.>` });
    });
    const subjects = info.state.subjects ?? {};
    const counts = [];
    for (const topic of TOPICS) {
      const count = subjects[`pathway.${this.#name}.${topic}`];
      if (count) {
        counts.push([topic, BigInt(count)]);
      }
    }
    return { bytes: BigInt(info.state.bytes), counts };
  }

  /** Ends the consumer and the connection. */
  async close() {
    this.#dropReader();
    const nc = this.#nc;
    this.#nc = null;
    if (nc && !nc.isClosed()) {
      await nc.close();
    }
  }
}

/**
 * Runs `op` on `stream`: `{ ok, transfer }` or `{ err }` (a stream-error),
 * or `{ fault }` for a failure that is not the server's (a bug here).
 */
export async function perform(stream, op, args) {
  try {
    switch (op) {
      case 'connect':
        return { ok: await stream.connect() };
      case 'publish':
        return { ok: await stream.publish(args[0]) };
      case 'last': {
        const found = await stream.last(args[0]);
        return found ? { ok: found.packed, transfer: found.transfer } : { ok: undefined };
      }
      case 'read': {
        const { packed, transfer, end } = await stream.read(args[0], args[1], args[2]);
        return { ok: { packed, end }, transfer };
      }
      case 'purge':
        return { ok: await stream.purge(args[0], args[1]) };
      case 'remove':
        return { ok: await stream.remove(args[0]) };
      case 'stats':
        return { ok: await stream.stats() };
      case 'close':
        await stream.close();
        return { ok: undefined };
      default:
        return { fault: `unknown operation ${op}` };
    }
  } catch (error) {
    if (error instanceof Final) {
      return { err: error.error };
    }
    return { fault: error?.stack ?? String(error) };
  }
}

if (!isMainThread && workerData?.pathwayNats) {
  const { port, state, config } = workerData.pathwayNats;
  // A promise of the client's that fails with nobody waiting on it (a
  // consumer dropped mid-pull) must not end this thread: the calls go on.
  process.on('unhandledRejection', () => {});
  const stream = new NatsStream(config);
  port.on('message', async ({ id, op, args }) => {
    const { transfer = [], ...answer } = await perform(stream, op, args);
    answer.id = id;
    try {
      port.postMessage(answer, transfer);
    } catch (error) {
      port.postMessage({ id, fault: `cannot send the answer: ${error?.stack ?? error}` });
    }
    Atomics.add(state, 0, 1);
    Atomics.notify(state, 0);
  });
  parentPort.postMessage('ready');
}
