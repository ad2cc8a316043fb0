/**
 * Control client: talks to a coordinator (in this process or another) over its socket, one JSON
 * request and one JSON answer per connection (docs/PROTOCOL.md "Control client"). Also the shared
 * token helpers: a TCP coordinator requires the per-computation token (DIR/.amber/token, 0600).
 * Addresses (a Unix socket path, or HOST:PORT for TCP) are parsed by lib/address.ts.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

import net from 'node:net';
import { join, resolve } from 'node:path';
import { formatAddress, parseAddress, type Address } from './address.js';
import { AmberError } from './errors.js';
import { onLines } from './lines.js';
import { checkCoordinatorPeer, readToken, writeNewToken } from './token.js';
import type { CheckpointMode, CheckpointResult, PluginsResult, ProgressEvent, RestartResult, StatusResult } from './types.js';

export interface ClientOptions {
  /** Checkpoint directory; the socket is DIR/.amber/coord.sock. Default $AMBER_DIR, else cwd. */
  dir?: string;
  /** Explicit socket path (overrides dir). */
  socketPath?: string;
  /** Coordinator address: a Unix socket path, or HOST:PORT / [IPv6]:PORT for TCP (overrides dir and socketPath). */
  coord?: string;
  /** Token for a TCP coordinator. Default: $AMBER_TOKEN, else DIR/.amber/token. */
  token?: string;
  /** Give up waiting for the answer after this many seconds (default: wait as long as it takes). */
  timeout?: number;
  /** Called once the request has been handed to the kernel (lets restart spawn after announcing). */
  onSent?: () => void;
}

export function defaultDir(dir?: string): string {
  return resolve(dir ?? process.env['AMBER_DIR'] ?? process.cwd());
}

export function socketPathFor(opts: { dir?: string; socketPath?: string } = {}): string {
  return opts.socketPath !== undefined ? resolve(opts.socketPath) : join(defaultDir(opts.dir), '.amber', 'coord.sock');
}

/** The address a client should use: coord, else socketPath, else DIR/.amber/coord.sock. */
export function addressFor(opts: { dir?: string; socketPath?: string; coord?: string } = {}): Address {
  if (opts.coord !== undefined) return parseAddress(opts.coord, { what: 'coordinator address' });
  return { kind: 'unix', path: socketPathFor(opts) };
}

export function tokenPathFor(dir: string): string {
  return join(dir, '.amber', 'token');
}

const TOKEN_RE = /^[0-9a-f]{32}$/;

/**
 * The token for a TCP client: explicit, else $AMBER_TOKEN, else DIR/.amber/token, else undefined.
 * A token file amber may not trust (a link, another user's file) is refused, not used.
 */
export function clientToken(opts: { token?: string; dir?: string } = {}): string | undefined {
  if (opts.token !== undefined) return opts.token;
  const env = process.env['AMBER_TOKEN'];
  if (env !== undefined && env !== '') return env;
  return readToken(tokenPathFor(defaultDir(opts.dir)));
}

/**
 * The computation's token: DIR/.amber/token if it holds one (a coordinator started again on the
 * same DIR must accept the agents that kept the old one), else a new random one written 0600.
 */
export async function ensureToken(dir: string): Promise<string> {
  const path = tokenPathFor(dir);
  const t = readToken(path);
  if (t !== undefined && TOKEN_RE.test(t)) return t;
  const token = randomBytes(16).toString('hex');
  await writeNewToken(path, token);
  return token;
}

/** Constant-time token comparison. */
export function tokenMatches(expected: string, got: unknown): boolean {
  if (typeof got !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(got);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function connectTo(a: Address): net.Socket {
  return a.kind === 'unix' ? net.connect(a.path) : net.connect(a.port, a.host);
}

interface Answer {
  ok: boolean;
  code?: string;
  message?: string;
  [k: string]: unknown;
}

function noCoord(where: string, why: string): AmberError {
  return new AmberError('ENOCOORD', `no coordinator is listening at ${where} (${why})`, { path: where });
}

/**
 * Sends one control request and returns the coordinator's answer (ok:false becomes a throw).
 * Lines without `ok` before the answer are progress reports, passed to onProgress.
 */
export function request(
  req: Record<string, unknown>,
  opts: ClientOptions & { onProgress?: (p: ProgressEvent) => void; signal?: AbortSignal } = {},
): Promise<Answer> {
  const addr = addressFor(opts);
  const where = formatAddress(addr);
  const token = addr.kind === 'tcp' ? clientToken(opts) : undefined;
  return new Promise<Answer>((res, rej) => {
    let settled = false;
    let connected = false;
    const settle = (f: () => void): void => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      sock.destroy();
      f();
    };
    const sock = connectTo(addr);
    opts.signal?.addEventListener('abort', () => settle(() => rej(new AmberError('EABORTED', `request to the coordinator at ${where} abandoned`, { path: where }))), { once: true });
    const timer =
      opts.timeout !== undefined
        ? setTimeout(() => settle(() => rej(new AmberError('ETIMEDOUT', `the coordinator at ${where} did not answer within ${opts.timeout} s`, { path: where }))), opts.timeout * 1000)
        : undefined;
    sock.on('connect', () => {
      connected = true;
      // A Unix socket someone else could have put there: talk only to a coordinator of ours.
      const planted = addr.kind === 'unix' ? checkCoordinatorPeer(sock, where) : undefined;
      if (planted !== undefined) {
        settle(() => rej(planted));
        return;
      }
      const line = { t: 'ctl', ...req, ...(token !== undefined ? { token } : {}) };
      sock.write(JSON.stringify(line) + '\n', () => opts.onSent?.());
    });
    onLines(sock, (line) => {
      let a: Answer;
      try {
        a = JSON.parse(line) as Answer;
      } catch {
        settle(() => rej(new AmberError('EPROTO', `the coordinator at ${where} sent an invalid answer: ${line.slice(0, 200)}`, { path: where })));
        return;
      }
      if (typeof a.ok !== 'boolean') {
        if (typeof a['progress'] === 'object' && a['progress'] !== null) opts.onProgress?.(a['progress'] as ProgressEvent);
        return;
      }
      if (a.ok) settle(() => res(a));
      else {
        const code = typeof a.code === 'string' ? a.code : 'EFAIL';
        settle(() => rej(new AmberError(code, typeof a.message === 'string' ? a.message : `coordinator error ${code}`)));
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (!connected && (e.code === 'ENOENT' || e.code === 'ECONNREFUSED' || e.code === 'ENOTSOCK')) {
        settle(() => rej(noCoord(where, e.code === 'ENOENT' ? 'no socket' : 'connection refused')));
      } else {
        settle(() => rej(new AmberError(e.code ?? 'ESOCKET', `coordinator at ${where}: ${e.message}`, { path: where })));
      }
    });
    sock.on('close', () => {
      settle(() => rej(new AmberError('ENOCOORD', `the coordinator at ${where} closed the connection without answering`, { path: where })));
    });
  });
}

/** `status` of the coordinator at DIR (or socketPath / coord); rejects 'ENOCOORD' when none listens. */
export async function status(opts: ClientOptions = {}): Promise<StatusResult> {
  const a = await request({ op: 'status' }, opts);
  return a as unknown as StatusResult;
}

/** Asks the coordinator at DIR to checkpoint; resolves once the generation is durable. Rejects 'ENOCOORD' when none listens. */
export async function checkpoint(
  opts: ClientOptions & CheckpointMode & { onProgress?: (p: ProgressEvent) => void } = {},
): Promise<CheckpointResult> {
  const req: Record<string, unknown> = { op: 'checkpoint', kill: opts.kill === true };
  if (opts.forked === true) req['forked'] = true;
  if (opts.onProgress !== undefined) req['progress'] = true;
  const { ok: _ok, ...r } = await request(req, opts);
  return r as unknown as CheckpointResult;
}

/** Per process, the plugins loaded and the symbols they wrap. */
export async function plugins(opts: ClientOptions = {}): Promise<PluginsResult> {
  const { ok: _ok, ...r } = await request({ op: 'plugins' }, opts);
  return r as unknown as PluginsResult;
}

/** Announces `count` restored processes to a remote coordinator; resolves once all resumed. */
export async function expectRestart(count: number, opts: ClientOptions & { signal?: AbortSignal; copy?: number } = {}): Promise<RestartResult> {
  const { copy, ...rest } = opts;
  const { ok: _ok, ...r } = await request({ op: 'restart', count, ...(copy !== undefined ? { copy } : {}) }, rest);
  return r as unknown as RestartResult;
}

/** A hold on a coordinator, taken by hold(): it stays open until released. */
export interface CoordinatorHold {
  /** The coordinator's status when the hold was taken. */
  status: StatusResult;
  /**
   * Ends the hold. Resolves true when the coordinator then closed because its computation had
   * ended (its socket is gone by then), false when it stays open (or did not say within
   * timeoutSec, default 30).
   */
  release(timeoutSec?: number): Promise<boolean>;
}

/**
 * Holds the coordinator at the address open (one that closes by itself once its computation has
 * ended waits while held): what launch and restart do while their program starts and runs. The
 * hold lasts as long as the connection, so it ends with this process too. While held, the
 * coordinator's errors are passed to onError. Rejects 'ENOCOORD' when none listens (or it is closing).
 */
export function hold(opts: ClientOptions & { onError?: (e: AmberError) => void } = {}): Promise<CoordinatorHold> {
  const addr = addressFor(opts);
  const where = formatAddress(addr);
  const token = addr.kind === 'tcp' ? clientToken(opts) : undefined;
  return new Promise<CoordinatorHold>((res, rej) => {
    const sock = connectTo(addr);
    let connected = false;
    let held = false;
    let gone = false;
    let answered: ((closed: boolean) => void) | undefined;
    const timer = setTimeout(() => fail(new AmberError('ETIMEDOUT', `the coordinator at ${where} did not answer within ${opts.timeout ?? 10} s`, { path: where })), (opts.timeout ?? 10) * 1000);
    const fail = (e: AmberError): void => {
      clearTimeout(timer);
      sock.destroy();
      if (!held) rej(e);
    };
    sock.on('connect', () => {
      connected = true;
      // As for every request: talk only to a coordinator of ours (or root's) on a Unix socket.
      const planted = addr.kind === 'unix' ? checkCoordinatorPeer(sock, where) : undefined;
      if (planted !== undefined) {
        fail(planted);
        return;
      }
      sock.write(JSON.stringify({ t: 'ctl', op: 'hold', ...(token !== undefined ? { token } : {}) }) + '\n');
    });
    onLines(sock, (line) => {
      let a: Answer;
      try {
        a = JSON.parse(line) as Answer;
      } catch {
        fail(new AmberError('EPROTO', `the coordinator at ${where} sent an invalid answer: ${line.slice(0, 200)}`, { path: where }));
        return;
      }
      if (!held) {
        clearTimeout(timer);
        if (a.ok !== true) {
          const code = typeof a.code === 'string' ? a.code : 'EFAIL';
          fail(new AmberError(code, typeof a.message === 'string' ? a.message : `coordinator error ${code}`, { path: where }));
          return;
        }
        held = true;
        // The hold must not keep this process alive by itself.
        sock.unref();
        const { ok: _ok, ...status } = a;
        res({
          status: { ok: true, ...(status as Omit<StatusResult, 'ok'>) },
          release: (timeoutSec = 30) =>
            new Promise<boolean>((done) => {
              if (gone) return done(true);
              // Waiting for the verdict keeps this process alive (the hold itself did not).
              sock.ref();
              const t = setTimeout(() => {
                answered = undefined;
                sock.destroy();
                done(false);
              }, timeoutSec * 1000);
              answered = (closed) => {
                clearTimeout(t);
                answered = undefined;
                sock.destroy();
                done(closed);
              };
              sock.write(JSON.stringify({ t: 'ctl', op: 'release' }) + '\n');
            }),
        });
        return;
      }
      if (a['event'] === 'error') opts.onError?.(new AmberError(typeof a.code === 'string' ? a.code : 'EFAIL', typeof a.message === 'string' ? a.message : 'coordinator error'));
      else if (answered !== undefined && typeof a.ok === 'boolean') answered(a['closed'] === true);
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (!connected && (e.code === 'ENOENT' || e.code === 'ECONNREFUSED' || e.code === 'ENOTSOCK')) {
        fail(noCoord(where, e.code === 'ENOENT' ? 'no socket' : 'connection refused'));
      } else {
        fail(new AmberError(e.code ?? 'ESOCKET', `coordinator at ${where}: ${e.message}`, { path: where }));
      }
    });
    sock.on('close', () => {
      gone = true;
      // Closed under a release: the coordinator went away (it closes a hold's connection last).
      answered?.(true);
      fail(new AmberError('ENOCOORD', `the coordinator at ${where} closed the connection without answering`, { path: where }));
    });
  });
}

/** True when a coordinator answers at the address. */
export async function isListening(opts: ClientOptions = {}): Promise<boolean> {
  try {
    await status({ ...opts, timeout: opts.timeout ?? 5 });
    return true;
  } catch (e) {
    if (e instanceof AmberError && e.code === 'ENOCOORD') return false;
    throw e;
  }
}
