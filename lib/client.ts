/**
 * Control client: talks to a coordinator (in this process or another) over its socket, one JSON
 * request and one JSON answer per connection (docs/PROTOCOL.md "Control client").
 */
import net from 'node:net';
import { join, resolve } from 'node:path';
import { AmberError } from './errors.js';
import { onLines } from './lines.js';
import type { CheckpointResult, RestartResult, StatusResult } from './types.js';

export interface ClientOptions {
  /** Checkpoint directory; the socket is DIR/.amber/coord.sock. Default $AMBER_DIR, else cwd. */
  dir?: string;
  /** Explicit socket path (overrides dir). */
  socketPath?: string;
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

interface Answer {
  ok: boolean;
  code?: string;
  message?: string;
  [k: string]: unknown;
}

function noCoord(path: string, why: string): AmberError {
  return new AmberError('ENOCOORD', `no coordinator is listening at ${path} (${why})`, { path });
}

/** Sends one control request and returns the coordinator's answer (ok:false becomes a throw). */
export function request(req: Record<string, unknown>, opts: ClientOptions = {}): Promise<Answer> {
  const path = socketPathFor(opts);
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
    const sock = net.connect(path);
    const timer =
      opts.timeout !== undefined
        ? setTimeout(() => settle(() => rej(new AmberError('ETIMEDOUT', `the coordinator at ${path} did not answer within ${opts.timeout} s`, { path }))), opts.timeout * 1000)
        : undefined;
    sock.on('connect', () => {
      connected = true;
      sock.write(JSON.stringify({ t: 'ctl', ...req }) + '\n', () => opts.onSent?.());
    });
    onLines(sock, (line) => {
      let a: Answer;
      try {
        a = JSON.parse(line) as Answer;
      } catch {
        settle(() => rej(new AmberError('EPROTO', `the coordinator at ${path} sent an invalid answer: ${line.slice(0, 200)}`, { path })));
        return;
      }
      if (a.ok === true) settle(() => res(a));
      else {
        const code = typeof a.code === 'string' ? a.code : 'EFAIL';
        settle(() => rej(new AmberError(code, typeof a.message === 'string' ? a.message : `coordinator error ${code}`)));
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (!connected && (e.code === 'ENOENT' || e.code === 'ECONNREFUSED' || e.code === 'ENOTSOCK')) {
        settle(() => rej(noCoord(path, e.code === 'ENOENT' ? 'no socket' : 'connection refused')));
      } else {
        settle(() => rej(new AmberError(e.code ?? 'ESOCKET', `coordinator at ${path}: ${e.message}`, { path })));
      }
    });
    sock.on('close', () => {
      settle(() => rej(new AmberError('ENOCOORD', `the coordinator at ${path} closed the connection without answering`, { path })));
    });
  });
}

/** `status` of the coordinator at DIR (or socketPath). */
export async function status(opts: ClientOptions = {}): Promise<StatusResult> {
  const a = await request({ op: 'status' }, opts);
  return a as unknown as StatusResult;
}

/** Asks the coordinator at DIR to checkpoint; resolves once the generation is durable. */
export async function checkpoint(opts: ClientOptions & { kill?: boolean } = {}): Promise<CheckpointResult> {
  const { ok: _ok, ...r } = await request({ op: 'checkpoint', kill: opts.kill === true }, opts);
  return r as unknown as CheckpointResult;
}

/** Announces `count` restored processes to a remote coordinator; resolves once all resumed. */
export async function expectRestart(count: number, opts: ClientOptions = {}): Promise<RestartResult> {
  const { ok: _ok, ...r } = await request({ op: 'restart', count }, opts);
  return r as unknown as RestartResult;
}

/** True when a coordinator answers at the socket. */
export async function isListening(opts: ClientOptions = {}): Promise<boolean> {
  try {
    await status({ ...opts, timeout: opts.timeout ?? 5 });
    return true;
  } catch (e) {
    if (e instanceof AmberError && e.code === 'ENOCOORD') return false;
    throw e;
  }
}
