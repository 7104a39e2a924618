// The `pathway:memory/stream@0.3.0` import of the stream build, served by
// NATS JetStream: the synchronous side, on the thread that runs the
// component.
//
// The component's imports are synchronous and Node.js 20 has no JSPI, so
// the NATS client (the official @nats-io/transport-node and
// @nats-io/jetstream) runs in a worker thread (`nats-worker.js`). Each call
// is posted to it on a MessagePort; this thread then blocks in Atomics.wait
// on a SharedArrayBuffer until the worker has posted the answer and bumped
// the counter, and takes the answer with `receiveMessageOnPort`. The worker
// keeps the connection (and an ordered consumer between pages) for the log's
// life; `close` ends it. The worker is unref'd: an open log does not keep
// the process alive.

import { once } from 'node:events';
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';

/** The time budget of one call while the server is away, when the host sets none. */
export const DEFAULT_BUDGET_MS = 30_000;

/** How long past a call's budget this thread waits for the worker before giving up on it. */
const GRACE_MS = 10_000;
/** How long `close` waits for the connection to end. */
const CLOSE_MS = 2_000;

/** The WIT `message`s from what nats-worker.js's `pack` sent. */
function unpack({ payloads, seqs, lengths, headers }) {
  const messages = new Array(seqs.length);
  let at = 0;
  for (let i = 0; i < seqs.length; i += 1) {
    const end = at + lengths[i];
    messages[i] = { seq: BigInt(seqs[i]), headers: [], payload: payloads.subarray(at, end) };
    at = end;
  }
  for (const [i, pairs] of headers) {
    messages[i].headers = pairs;
  }
  return messages;
}

/**
 * The WIT `stream` interface for one stream, as the synchronous functions
 * jco calls (`imports['pathway:memory/stream']`): each returns the `ok`
 * value or throws the `stream-error` (a `{ tag, val }` object, which jco
 * lowers as the `err` case).
 */
export class NatsTransport {
  #worker;
  #port;
  #state;
  #budgetMs;
  #target;
  #next = 1;
  #closed = false;

  /**
   * Starts the worker (its packages loaded, no connection yet).
   * @param {{ url: string, stream: string, replicas?: number | null, budgetMs?: number }} config
   * @returns {Promise<NatsTransport>}
   */
  static async start({ url, stream, replicas = null, budgetMs = DEFAULT_BUDGET_MS }) {
    const { port1, port2 } = new MessageChannel();
    const state = new Int32Array(new SharedArrayBuffer(4));
    const config = { url, stream, replicas, budgetMs };
    const worker = new Worker(new URL('./nats-worker.js', import.meta.url), {
      workerData: { pathwayNats: { port: port2, state, config } },
      transferList: [port2],
      // The process's flags but --input-type (a worker's code is a file):
      // with it, `node --input-type=module -e ...` could not start one.
      execArgv: process.execArgv.filter((arg) => !arg.startsWith('--input-type')),
    });
    try {
      const [said] = await Promise.race([
        once(worker, 'message'),
        once(worker, 'exit').then(([code]) => {
          throw new Error(`the NATS worker thread exited with code ${code} before it was ready`);
        }),
      ]);
      if (said !== 'ready') {
        throw new Error(`the NATS worker thread said ${JSON.stringify(said)} instead of ready`);
      }
    } catch (error) {
      await worker.terminate();
      throw error;
    }
    worker.unref();
    port1.unref?.();
    return new NatsTransport(worker, port1, state, config);
  }

  /** @private use {@link NatsTransport.start} */
  constructor(worker, port, state, { url, stream, budgetMs }) {
    this.#worker = worker;
    this.#port = port;
    this.#state = state;
    this.#budgetMs = budgetMs;
    this.#target = { name: stream, location: url };
  }

  /**
   * Posts `op` to the worker and blocks until its answer. Returns the
   * worker's `{ ok }`, `{ err }` or `{ fault }`; `null` when it did not
   * answer within `waitMs`.
   */
  #ask(op, args, waitMs) {
    if (this.#closed) {
      throw new Error('this NATS transport is closed');
    }
    const id = this.#next;
    this.#next += 1;
    this.#port.postMessage({ id, op, args });
    const deadline = performance.now() + waitMs;
    for (;;) {
      Atomics.store(this.#state, 0, 0);
      let got;
      while ((got = receiveMessageOnPort(this.#port))) {
        if (got.message.id === id) {
          return got.message;
        }
        // The late answer of a call given up on: dropped.
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        return null;
      }
      Atomics.wait(this.#state, 0, 0, Math.min(left, 1000));
    }
  }

  /** One WIT call: its value, or throws its stream-error. */
  #call(op, ...args) {
    const answer = this.#ask(op, args, this.#budgetMs + GRACE_MS);
    if (answer === null) {
      throw {
        tag: 'unavailable',
        val: {
          reason: `the NATS client thread did not answer within ${this.#budgetMs + GRACE_MS} ms`,
          tries: 1,
          millis: BigInt(this.#budgetMs + GRACE_MS),
          acked: 0,
        },
      };
    }
    if ('err' in answer) {
      throw answer.err;
    }
    if ('fault' in answer) {
      // Not a failure of the server: a fault of this host, which traps.
      throw new Error(`the NATS transport failed in ${op}: ${answer.fault}`);
    }
    return answer.ok;
  }

  /**
   * The import object for `pathway:memory/stream`: the eight WIT functions,
   * bound to this transport (jco calls them detached).
   */
  imports() {
    return {
      target: () => this.target(),
      connect: () => this.connect(),
      publish: (messages) => this.publish(messages),
      last: (topic) => this.last(topic),
      read: (topic, start, maxBytes) => this.read(topic, start, maxBytes),
      purge: (topic, below) => this.purge(topic, below),
      remove: (seq) => this.remove(seq),
      stats: () => this.stats(),
    };
  }

  /** WIT `target`: no I/O. */
  target() {
    return { ...this.#target };
  }

  /** WIT `connect`: the server's max_payload (bigint). */
  connect() {
    return this.#call('connect');
  }

  /**
   * WIT `publish`.
   * @param {{ topic: string, id: string, headers: [string, string][], payload: Uint8Array, expectLast?: bigint }[]} messages
   * @returns {bigint[]}
   */
  publish(messages) {
    return this.#call('publish', messages);
  }

  /** WIT `last`: `{ seq, headers, payload }` or undefined. */
  last(topic) {
    const found = this.#call('last', topic);
    if (found === undefined) {
      return undefined;
    }
    return unpack(found)[0];
  }

  /** WIT `read`: `{ messages, end }`. */
  read(topic, start, maxBytes) {
    const { packed, end } = this.#call('read', topic, start, maxBytes);
    return { messages: unpack(packed), end };
  }

  /** WIT `purge`. */
  purge(topic, below) {
    this.#call('purge', topic, below);
  }

  /** WIT `remove`. */
  remove(seq) {
    this.#call('remove', seq);
  }

  /** WIT `stats`: `{ bytes, counts }`. */
  stats() {
    return this.#call('stats');
  }

  /** Closes the connection and ends the worker. Idempotent. */
  close() {
    if (this.#closed) {
      return;
    }
    try {
      this.#ask('close', [], CLOSE_MS);
    } catch {
      // the worker is gone already
    }
    this.#closed = true;
    this.#port.close();
    this.#worker.terminate().catch(() => {});
  }
}
