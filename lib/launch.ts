/**
 * launch(): runs a program under amber — the agent preloaded, pointed at a coordinator.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { constants as fsConstants } from 'node:fs';
import { lstat, open, readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { constants as osConstants } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { debuglog } from 'node:util';
import { formatAddress, parseAddress, type Address } from './address.js';
import {
  checkpoint as clientCheckpoint,
  clientToken,
  defaultDir,
  hold as clientHold,
  socketPathFor,
  status as clientStatus,
  type ClientOptions,
  type CoordinatorHold,
} from './client.js';
import { Coordinator } from './coordinator.js';
import { checkLaunchable } from './program.js';
import { AmberError } from './errors.js';
import * as trust from './trust.js';
import { agentPath, cliPath } from './native.js';
import type { CheckpointMode, CheckpointResult, ExitStatus } from './types.js';

const debug = debuglog('amber');

export interface LaunchOptions {
  /** Checkpoint directory. Default: the coordinator's, else $AMBER_DIR, else cwd. */
  dir?: string;
  /**
   * Use this in-process coordinator. Otherwise one listening at DIR is used, else one is started
   * that closes by itself once the computation has ended: the launched process has exited and no
   * other process of it is left (a daemon it started keeps the coordinator open).
   */
  coordinator?: Coordinator;
  /** Explicit coordinator socket path (instead of DIR/.amber/coord.sock). */
  socketPath?: string;
  /**
   * Coordinator address: a socket path (one is started there when none listens), or HOST:PORT /
   * [IPv6]:PORT of a running one (token: $AMBER_TOKEN or DIR/.amber/token). `tcp:HOST:PORT` works
   * too; anything else rejects with 'EINVAL' (see lib/address.ts).
   */
  coord?: string;
  /** Token for a TCP `coord`. */
  token?: string;
  /**
   * For a coordinator started here: also listen on TCP, HOST:PORT (port 0 picks one); the
   * program's agents then use TCP with the token. A socket path instead: the Unix socket to use.
   */
  listen?: string;
  /** For a coordinator started here: keep only the last K generations. */
  keep?: number;
  /** Plugin shared objects to preload with the agent. */
  plugins?: string[];
  /** Seconds between automatic checkpoints, for a coordinator started by this launch. */
  interval?: number;
  stdio?: StdioOptions;
  /** Environment for the program (default process.env); amber adds its variables on top. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Aborting kills the program (SIGTERM). */
  signal?: AbortSignal;
  /**
   * When a coordinator has to be started: start it as a background `amber coordinator` process
   * (DIR/.amber/coordinator.log) instead of in this one. It outlives this process, so a program
   * that daemonizes stays checkpointable after this process is gone, and exits by itself once the
   * computation has ended. What `amber launch` does.
   */
  detached?: boolean;
  /**
   * Called with the coordinator's errors (a failed interval checkpoint, a refused connection...)
   * for as long as this launch uses it, wherever the coordinator runs.
   */
  onCoordinatorError?: (e: AmberError) => void;
}

export interface Job {
  /** Kernel pid of the launched (or restored) process. */
  readonly pid: number;
  /** Resolves when the process exits. Never rejects. */
  readonly exited: Promise<ExitStatus>;
  /** Sends a signal (default SIGTERM); false if the process is gone. */
  kill(signal?: NodeJS.Signals | number): boolean;
  /** Checkpoints the computation this job belongs to. */
  checkpoint(opts?: CheckpointMode): Promise<CheckpointResult>;
  readonly dir: string;
  readonly socketPath: string;
  /** What the program's agents were given as AMBER_COORD (a socket path or a numeric tcp: address). */
  readonly address: string;
  /** The in-process coordinator, or null when a coordinator in another process is used. */
  readonly coordinator: Coordinator | null;
  /** True when this launch (or restart) started the coordinator, false when it joined a running one. */
  readonly coordinatorStarted: boolean;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
}

/** Shell-style status: the exit code, or 128+N for death by signal N. */
export function exitCodeOf(s: ExitStatus): number {
  if (s.code !== null) return s.code;
  if (s.signal !== null) return 128 + (osConstants.signals[s.signal] ?? 0);
  return 1;
}

export interface CoordinatorChoice {
  dir: string;
  socketPath: string;
  coordinator: Coordinator | null;
  /** True when this call started the coordinator (its interval/keep/listen options applied). */
  started: boolean;
  /** AMBER_COORD for the agents: the socket path, or a numeric `tcp:IP:PORT`. */
  agentCoord: string;
  /** AMBER_TOKEN for the agents (TCP only). */
  token: string | undefined;
  /** How a control client reaches this coordinator. */
  client: ClientOptions;
  /**
   * Ends this call's hold on the coordinator (taken so that it cannot close between our check
   * and our program's registration). Resolves true when the coordinator then closed because the
   * computation had ended (its socket is gone), false when it stays (a daemon still runs...).
   */
  release: () => Promise<boolean>;
}

/**
 * A TCP address with a numeric host: agents may reconnect while every application thread is
 * parked, when they must not call the resolver (PROTOCOL.md). A wildcard becomes loopback.
 */
export async function numericAddress(a: Address): Promise<string> {
  if (a.kind === 'unix') return a.path;
  let host = a.host;
  if (host === '0.0.0.0' || host === '') host = '127.0.0.1';
  else if (host === '::') host = '::1';
  else if (isIP(host) === 0) {
    try {
      host = (await lookup(host)).address;
    } catch (e) {
      throw new AmberError('EINVAL', `cannot resolve the coordinator host ${a.host}: ${(e as Error).message}`);
    }
  }
  return formatAddress({ ...a, host });
}

/**
 * What a local program's agents are given for a coordinator listening at `socketPath` and maybe
 * TCP `tcp` (then the token too). The agent dials IPv4 only: with an IPv6 TCP address, local
 * agents use the Unix socket.
 */
async function agentTarget(socketPath: string, tcp: string | undefined, dir: string): Promise<{ agentCoord: string; token: string | undefined }> {
  if (tcp === undefined) return { agentCoord: socketPath, token: undefined };
  const numeric = await numericAddress(parseAddress(tcp, { listen: true }));
  if (numeric.includes('[')) {
    debug('the coordinator listens on %s (IPv6): local agents use %s', tcp, socketPath);
    return { agentCoord: socketPath, token: undefined };
  }
  return { agentCoord: numeric, token: clientToken({ dir }) };
}

/** Where the coordinator lives and what it is given, when this call has to start one. */
export interface StartOptions {
  dir?: string;
  coordinator?: Coordinator;
  socketPath?: string;
  coord?: string;
  token?: string;
  listen?: string;
  keep?: number;
  interval?: number;
  /** Start it as a background `amber coordinator --exit-when-done` process, not in this one. */
  detached?: boolean;
  /** The coordinator's errors while held (whichever process it runs in). */
  onCoordinatorError?: (e: AmberError) => void;
  /**
   * Only a coordinator started by this call: 'EBUSY' when one already answers at the address
   * (a copy of a `copies` restart is a computation of its own, never joined to another).
   */
  fresh?: boolean;
}

/** A hold on the coordinator at socketPath, or undefined when none listens there (or it is closing). */
async function holdAt(client: ClientOptions, onError?: (e: AmberError) => void): Promise<CoordinatorHold | undefined> {
  try {
    return await clientHold({ timeout: 10, ...client, ...(onError !== undefined ? { onError } : {}) });
  } catch (e) {
    if (!(e instanceof AmberError)) throw e;
    if (e.code === 'ENOCOORD') return undefined;
    if (e.code === 'EPROTO') {
      // A coordinator that predates `hold`: use it unheld.
      const status = await clientStatus({ ...client, timeout: 10 });
      return { status, release: async () => false };
    }
    throw e;
  }
}

/**
 * The given coordinator, else one already answering at the address/DIR, else a new one (in this
 * process, or with `detached` a background process) that closes by itself once the computation
 * has ended. Whichever it is, it is held until the caller's release().
 */
export async function chooseCoordinator(opts: StartOptions): Promise<CoordinatorChoice> {
  // Addresses are checked before anything is touched: a bad one leaves no trace.
  const coordAddr = opts.coord !== undefined ? parseAddress(opts.coord, { what: 'coordinator address' }) : undefined;
  const listenAddr = opts.listen !== undefined ? parseAddress(opts.listen, { listen: true, what: 'listen address' }) : undefined;

  const onError = opts.onCoordinatorError;
  const inProcess = async (c: Coordinator, started: boolean): Promise<CoordinatorChoice> => {
    const unheld = c.hold();
    if (onError !== undefined) c.on('error', onError);
    const release = (): Promise<boolean> => {
      if (onError !== undefined) c.off('error', onError);
      return unheld();
    };
    try {
      return { dir: c.dir, socketPath: c.socketPath, coordinator: c, started, ...(await agentTarget(c.socketPath, c.tcpAddress, c.dir)), client: { socketPath: c.socketPath }, release };
    } catch (e) {
      await release();
      throw e;
    }
  };
  const held = async (h: CoordinatorHold, dir: string, socketPath: string, started: boolean): Promise<CoordinatorChoice> => {
    try {
      // (the token, if any, is in the coordinator's DIR)
      const target = await agentTarget(socketPath, h.status.coordinator.tcp, h.status.coordinator.dir);
      return { dir, socketPath, coordinator: null, started, ...target, client: { socketPath }, release: () => h.release() };
    } catch (e) {
      await h.release();
      throw e;
    }
  };

  if (opts.coordinator !== undefined) return inProcess(opts.coordinator, false);
  const dir = defaultDir(opts.dir);
  if (coordAddr?.kind === 'tcp') {
    // A coordinator elsewhere (another host): it must be running; we never start one for it.
    const agentCoord = await numericAddress(coordAddr);
    if (agentCoord.includes('[')) {
      throw new AmberError('EINVAL', `agents reach a coordinator over IPv4 only, not at ${opts.coord}`);
    }
    const token = clientToken({ dir, ...(opts.token !== undefined ? { token: opts.token } : {}) });
    const client: ClientOptions = { coord: opts.coord!, dir, ...(token !== undefined ? { token } : {}) };
    const h = await holdAt(client, onError);
    if (h === undefined) throw new AmberError('ENOCOORD', `no coordinator is listening at ${opts.coord}`);
    return { dir, socketPath: opts.coord!, coordinator: null, started: false, agentCoord, token, client, release: () => h.release() };
  }
  // The socket: --coord's path, else socketPath, else a --listen path, else DIR/.amber/coord.sock.
  const sp =
    coordAddr?.kind === 'unix'
      ? coordAddr.path
      : opts.socketPath === undefined && listenAddr?.kind === 'unix'
        ? listenAddr.path
        : socketPathFor({ dir, ...(opts.socketPath !== undefined ? { socketPath: opts.socketPath } : {}) });
  for (let attempt = 1; ; attempt++) {
    const h = await holdAt({ socketPath: sp }, onError);
    if (h !== undefined) {
      if (opts.fresh === true) {
        const n = h.status.processes.length;
        await h.release();
        throw new AmberError('EBUSY', `a computation is running at ${dir} (its coordinator answers at ${sp}, ${n} process${n === 1 ? '' : 'es'}): end it or restart into another directory`, { path: dir });
      }
      debug('using the coordinator at %s', sp);
      return held(h, dir, sp, false);
    }
    const start = {
      dir,
      socketPath: sp,
      ...(listenAddr?.kind === 'tcp' ? { listen: opts.listen! } : {}),
      ...(opts.keep !== undefined ? { keep: opts.keep } : {}),
      ...(opts.interval !== undefined ? { interval: opts.interval } : {}),
    };
    if (opts.detached === true) {
      const h2 = await startBackground(start, onError);
      // Another restart may have won the socket between our look and our start (startBackground
      // holds whichever coordinator listens): a fresh one must have nothing registered yet.
      if (opts.fresh === true && h2.status.processes.length > 0) {
        await h2.release();
        throw new AmberError('EBUSY', `a computation is running at ${dir} (its coordinator answers at ${sp}): end it or restart into another directory`, { path: dir });
      }
      return held(h2, dir, sp, true);
    }
    try {
      return await inProcess(await Coordinator.start({ ...start, autoClose: true }), true);
    } catch (e) {
      // Another launch started one at the same moment: use that one.
      if (!(e instanceof AmberError && e.code === 'EBUSY' && attempt < 3)) throw e;
    }
  }
}

/** A background coordinator's log is started afresh beyond this size. */
const LOG_MAX = 1 << 20;

/**
 * Starts `amber coordinator --exit-when-done` in the background (its own session, its output in
 * DIR/.amber/coordinator.log) and holds it once it listens. It outlives this process and exits by
 * itself once the computation has ended.
 */
async function startBackground(
  o: { dir: string; socketPath: string; listen?: string; keep?: number; interval?: number },
  onError?: (e: AmberError) => void,
): Promise<CoordinatorHold> {
  // Checked here, before anything is created or spawned, with the very checks the coordinator
  // makes (lib/trust.ts): a refused DIR is refused with its own one-line reason, and nothing is
  // written into it.
  const dir = await trust.trustedCheckpointDir(o.dir);
  const adir = await trust.trustedStateDir(dir);
  const log = join(adir, 'coordinator.log');
  const args = [cliPath(), 'coordinator', '--dir', o.dir, '--exit-when-done', '--listen', o.socketPath];
  if (o.listen !== undefined) args.push('--listen', o.listen);
  if (o.keep !== undefined) args.push('--keep', String(o.keep));
  if (o.interval !== undefined) args.push('--interval', String(o.interval));
  // Appended to (a record of the computations run on DIR), but not without end; never through a
  // link someone planted (O_NOFOLLOW, lstat); ours, 0600.
  const big = await lstat(log).then((s) => s.isFile() && s.size > LOG_MAX, () => false);
  const F = fsConstants;
  const fh = await open(log, F.O_WRONLY | F.O_CREAT | F.O_NOFOLLOW | (big ? F.O_TRUNC : F.O_APPEND), 0o600);
  let child: ChildProcess;
  try {
    // cwd /: a coordinator that may run for days must not pin the caller's directory.
    child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', fh.fd, fh.fd], cwd: '/' });
  } finally {
    await fh.close();
  }
  let gone: string | undefined;
  child.once('error', (e) => (gone = e.message));
  child.once('exit', (code, sig) => (gone = `exited with ${sig ?? `status ${code}`}`));
  child.unref();
  debug('started coordinator pid %d: %s', child.pid, args.join(' '));
  const deadline = Date.now() + 30_000;
  for (;;) {
    // Another launch's coordinator may have won the socket: holding it is as good.
    const h = await holdAt({ socketPath: o.socketPath }, onError);
    if (h !== undefined) return h;
    if (gone !== undefined || Date.now() > deadline) {
      const why = await lastMessage(log);
      throw new AmberError('ENOCOORD', `the coordinator for ${o.dir} did not start (${gone ?? 'not listening after 30 s'})${why !== undefined ? `: ${why}` : ''}`, { path: o.socketPath });
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The last `amber:` line of a coordinator log, without the prefix. */
async function lastMessage(log: string): Promise<string | undefined> {
  try {
    const lines = (await readFile(log, 'utf8')).split('\n').filter((l) => l.startsWith('amber:'));
    return lines.at(-1)?.replace(/^amber:\s*/, '');
  } catch {
    return undefined;
  }
}

/** LD_PRELOAD: plugins, then the agent, then whatever the user preloads (space-separated). */
export function preloadValue(agent: string, plugins: string[], existing: string | undefined): string {
  const rest = (existing ?? '').split(/[ :]+/).filter((p) => p !== '' && p !== agent && !plugins.includes(p));
  return [...plugins, agent, ...rest].join(' ');
}

/** Spawns and waits for 'spawn', so a missing command rejects here instead of emitting later. */
export async function spawnChecked(
  file: string,
  args: string[],
  opts: Parameters<typeof spawn>[2],
): Promise<{ child: ChildProcess; exited: Promise<ExitStatus> }> {
  // As a shell says it: 127 for a command not found, 126 for one that cannot be executed.
  const failed = (e: NodeJS.ErrnoException) => {
    const code = e.code ?? 'ESPAWN';
    const why = code === 'ENOENT' ? 'command not found' : code === 'ENOTDIR' ? 'not a directory on its path' : e.message;
    return new AmberError(code, `${file}: ${why}`, { path: file, exitCode: code === 'ENOENT' ? 127 : 126, cause: e });
  };
  let child: ChildProcess;
  try {
    // (node throws some errors of the spawn itself, ENOTDIR among them, instead of emitting them)
    child = spawn(file, args, opts);
  } catch (e) {
    throw failed(e as NodeJS.ErrnoException);
  }
  const exited = new Promise<ExitStatus>((res) => {
    child.once('exit', (code, signal) => res({ code, signal }));
  });
  await new Promise<void>((res, rej) => {
    child.once('spawn', () => res());
    child.once('error', (e: NodeJS.ErrnoException) => rej(failed(e)));
  });
  return { child, exited };
}

/** What a Job needs of a CoordinatorChoice (agentCoord/client default to the socket path). */
export type JobTarget = Pick<CoordinatorChoice, 'dir' | 'socketPath' | 'coordinator'> & Partial<Pick<CoordinatorChoice, 'agentCoord' | 'client' | 'started'>>;

export function makeJob(
  child: ChildProcess,
  exited: Promise<ExitStatus>,
  choice: JobTarget,
): Job {
  const pid = child.pid;
  if (pid === undefined) throw new AmberError('ESPAWN', 'the child has no pid');
  return {
    pid,
    exited,
    kill: (sig: NodeJS.Signals | number = 'SIGTERM') => child.exitCode === null && child.signalCode === null && child.kill(sig),
    checkpoint: (o: CheckpointMode = {}) =>
      choice.coordinator !== null
        ? choice.coordinator.checkpoint(o)
        : clientCheckpoint({ ...(choice.client ?? { socketPath: choice.socketPath }), kill: o.kill === true, forked: o.forked === true }),
    dir: choice.dir,
    socketPath: choice.socketPath,
    address: choice.agentCoord ?? choice.socketPath,
    coordinator: choice.coordinator,
    coordinatorStarted: choice.started === true,
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
  };
}

/**
 * Runs argv under amber. Resolves once the program has started; `job.exited` tells when it ends.
 * A coordinator started here closes by itself once the computation has ended: at once when the
 * program leaves nothing behind (`exited` resolves after that), later when a process it started
 * lives on (a daemon).
 */
export async function launch(argv: string[], opts: LaunchOptions = {}): Promise<Job> {
  if (argv.length === 0 || argv[0] === undefined || argv[0] === '') {
    throw new AmberError('EINVAL', 'launch: no command given');
  }
  const agent = agentPath();
  const plugins = (opts.plugins ?? []).map((p) => resolve(p));
  // Before anything starts: a program that would run without the agent is refused by name.
  await checkLaunchable(argv[0], opts.env ?? process.env, opts.cwd ?? process.cwd());
  const choice = await chooseCoordinator(opts);
  const baseEnv = opts.env ?? process.env;
  const env: NodeJS.ProcessEnv = {
    ...baseEnv,
    LD_PRELOAD: preloadValue(agent, plugins, baseEnv['LD_PRELOAD']),
    AMBER_COORD: choice.agentCoord,
    AMBER_DIR: choice.dir,
  };
  if (choice.token !== undefined) env['AMBER_TOKEN'] = choice.token;
  else delete env['AMBER_TOKEN'];
  if (plugins.length > 0) env['AMBER_PLUGINS'] = plugins.join(':');
  const [file, ...args] = argv as [string, ...string[]];
  let spawned;
  try {
    spawned = await spawnChecked(file, args, {
      env,
      stdio: opts.stdio ?? 'inherit',
      ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
      ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
    });
  } catch (e) {
    await choice.release();
    throw e;
  }
  const { child, exited } = spawned;
  // AbortSignal kills surface as an 'error' event on the child; the exit is what matters here.
  child.on('error', (e) => debug('child error: %s', e.message));
  debug('launched %s as pid %d', file, child.pid);
  const job = makeJob(
    child,
    exited.then(async (s) => {
      // The coordinator may close now (nothing of the computation left): let it, so that a next
      // launch on DIR finds no socket of ours.
      await choice.release();
      return s;
    }),
    choice,
  );
  return job;
}
