/**
 * launch(): runs a program under amber — the agent preloaded, pointed at a coordinator.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { constants as osConstants } from 'node:os';
import { resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { debuglog } from 'node:util';
import {
  checkpoint as clientCheckpoint,
  clientToken,
  defaultDir,
  formatAddress,
  isListening,
  parseAddress,
  socketPathFor,
  status as clientStatus,
  type Address,
  type ClientOptions,
} from './client.js';
import { Coordinator } from './coordinator.js';
import { AmberError } from './errors.js';
import { agentPath } from './native.js';
import type { CheckpointResult, ExitStatus } from './types.js';

const debug = debuglog('amber');

export interface LaunchOptions {
  /** Checkpoint directory. Default: the coordinator's, else $AMBER_DIR, else cwd. */
  dir?: string;
  /** Use this in-process coordinator. Otherwise one listening at DIR is used, else one is started. */
  coordinator?: Coordinator;
  /** Explicit coordinator socket path (instead of DIR/.amber/coord.sock). */
  socketPath?: string;
  /** Address of a running coordinator: a socket path or `tcp:HOST:PORT` (token: $AMBER_TOKEN or DIR/.amber/token). */
  coord?: string;
  /** Token for a TCP `coord`. */
  token?: string;
  /** For a coordinator started here: also listen on `tcp:HOST:PORT`; the program's agents then use TCP with the token. */
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
}

export interface Job {
  /** Kernel pid of the launched (or restored) process. */
  readonly pid: number;
  /** Resolves when the process exits. Never rejects. */
  readonly exited: Promise<ExitStatus>;
  /** Sends a signal (default SIGTERM); false if the process is gone. */
  kill(signal?: NodeJS.Signals | number): boolean;
  /** Checkpoints the computation this job belongs to. */
  checkpoint(opts?: { kill?: boolean }): Promise<CheckpointResult>;
  readonly dir: string;
  readonly socketPath: string;
  /** What the program's agents were given as AMBER_COORD (a socket path or a numeric tcp: address). */
  readonly address: string;
  /** The in-process coordinator, or null when a coordinator in another process is used. */
  readonly coordinator: Coordinator | null;
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
  /** True when this call started the coordinator (the caller should close it). */
  owned: boolean;
  /** AMBER_COORD for the agents: the socket path, or a numeric `tcp:IP:PORT`. */
  agentCoord: string;
  /** AMBER_TOKEN for the agents (TCP only). */
  token: string | undefined;
  /** How a control client reaches this coordinator. */
  client: ClientOptions;
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

/** The given coordinator, else one already answering at the address/DIR, else a new in-process one. */
export async function chooseCoordinator(opts: {
  dir?: string;
  coordinator?: Coordinator;
  socketPath?: string;
  coord?: string;
  token?: string;
  listen?: string;
  keep?: number;
  interval?: number;
}): Promise<CoordinatorChoice> {
  const own = async (c: Coordinator, owned: boolean): Promise<CoordinatorChoice> => {
    const tcp = c.tcpAddress !== undefined ? parseAddress(c.tcpAddress) : undefined;
    return {
      dir: c.dir,
      socketPath: c.socketPath,
      coordinator: c,
      owned,
      agentCoord: tcp !== undefined ? await numericAddress(tcp) : c.socketPath,
      token: tcp !== undefined ? clientToken({ dir: c.dir }) : undefined,
      client: { socketPath: c.socketPath },
    };
  };
  if (opts.coordinator !== undefined) return own(opts.coordinator, false);
  const dir = defaultDir(opts.dir);
  if (opts.coord !== undefined && parseAddress(opts.coord).kind === 'tcp') {
    // A coordinator elsewhere (another host): it must be running; we never start one for it.
    const token = clientToken({ dir, ...(opts.token !== undefined ? { token: opts.token } : {}) });
    const client: ClientOptions = { coord: opts.coord, dir, ...(token !== undefined ? { token } : {}) };
    if (!(await isListening(client))) {
      throw new AmberError('ENOCOORD', `no coordinator is listening at ${opts.coord}`);
    }
    return {
      dir,
      socketPath: opts.coord,
      coordinator: null,
      owned: false,
      agentCoord: await numericAddress(parseAddress(opts.coord)),
      token,
      client,
    };
  }
  const sp = socketPathFor({ dir, ...(opts.socketPath !== undefined ? { socketPath: opts.socketPath } : opts.coord !== undefined ? { socketPath: opts.coord } : {}) });
  if (await isListening({ socketPath: sp })) {
    debug('using the coordinator at %s', sp);
    // If it listens on TCP too, its agents should use that (as the launch that started it did).
    let agentCoord = sp;
    let token: string | undefined;
    try {
      const st = await clientStatus({ socketPath: sp, timeout: 5 });
      if (st.coordinator.tcp !== undefined) {
        agentCoord = await numericAddress(parseAddress(st.coordinator.tcp));
        token = clientToken({ dir: st.coordinator.dir });
      }
    } catch (e) {
      debug('status of %s: %s', sp, (e as Error).message);
    }
    return { dir, socketPath: sp, coordinator: null, owned: false, agentCoord, token, client: { socketPath: sp } };
  }
  const c = await Coordinator.start({
    dir,
    socketPath: sp,
    ...(opts.listen !== undefined ? { listen: opts.listen } : {}),
    ...(opts.keep !== undefined ? { keep: opts.keep } : {}),
    ...(opts.interval !== undefined ? { interval: opts.interval } : {}),
  });
  try {
    return await own(c, true);
  } catch (e) {
    await c.close();
    throw e;
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
  const child = spawn(file, args, opts);
  const exited = new Promise<ExitStatus>((res) => {
    child.once('exit', (code, signal) => res({ code, signal }));
  });
  await new Promise<void>((res, rej) => {
    child.once('spawn', () => res());
    child.once('error', (e: NodeJS.ErrnoException) => {
      const code = e.code ?? 'ESPAWN';
      rej(
        new AmberError(code, `${file}: ${code === 'ENOENT' ? 'command not found' : e.message}`, {
          path: file,
          exitCode: code === 'ENOENT' ? 127 : 126,
          cause: e,
        }),
      );
    });
  });
  return { child, exited };
}

/** What a Job needs of a CoordinatorChoice (agentCoord/client default to the socket path). */
export type JobTarget = Pick<CoordinatorChoice, 'dir' | 'socketPath' | 'coordinator'> & Partial<Pick<CoordinatorChoice, 'agentCoord' | 'client'>>;

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
    checkpoint: (o: { kill?: boolean } = {}) =>
      choice.coordinator !== null
        ? choice.coordinator.checkpoint(o)
        : clientCheckpoint({ ...(choice.client ?? { socketPath: choice.socketPath }), kill: o.kill === true }),
    dir: choice.dir,
    socketPath: choice.socketPath,
    address: choice.agentCoord ?? choice.socketPath,
    coordinator: choice.coordinator,
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
  };
}

/**
 * Runs argv under amber. Resolves once the program has started; `job.exited` tells when it ends.
 * A coordinator started here is closed when the program exits.
 */
export async function launch(argv: string[], opts: LaunchOptions = {}): Promise<Job> {
  if (argv.length === 0 || argv[0] === undefined || argv[0] === '') {
    throw new AmberError('EINVAL', 'launch: no command given');
  }
  const agent = agentPath();
  const plugins = (opts.plugins ?? []).map((p) => resolve(p));
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
    if (choice.owned && choice.coordinator !== null) await choice.coordinator.close();
    throw e;
  }
  const { child, exited } = spawned;
  // AbortSignal kills surface as an 'error' event on the child; the exit is what matters here.
  child.on('error', (e) => debug('child error: %s', e.message));
  debug('launched %s as pid %d', file, child.pid);
  const job = makeJob(
    child,
    exited.then(async (s) => {
      if (choice.owned && choice.coordinator !== null) await choice.coordinator.close();
      return s;
    }),
    choice,
  );
  return job;
}
