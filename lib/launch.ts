/**
 * launch(): runs a program under amber — the agent preloaded, pointed at a coordinator.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { debuglog } from 'node:util';
import { checkpoint as clientCheckpoint, defaultDir, isListening, socketPathFor } from './client.js';
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
}

/** The given coordinator, else one already answering at DIR, else a new in-process one. */
export async function chooseCoordinator(opts: {
  dir?: string;
  coordinator?: Coordinator;
  socketPath?: string;
  interval?: number;
}): Promise<CoordinatorChoice> {
  if (opts.coordinator !== undefined) {
    return { dir: opts.coordinator.dir, socketPath: opts.coordinator.socketPath, coordinator: opts.coordinator, owned: false };
  }
  const dir = defaultDir(opts.dir);
  const sp = socketPathFor({ dir, ...(opts.socketPath !== undefined ? { socketPath: opts.socketPath } : {}) });
  if (await isListening({ socketPath: sp })) {
    debug('using the coordinator at %s', sp);
    return { dir, socketPath: sp, coordinator: null, owned: false };
  }
  const c = await Coordinator.start({
    dir,
    socketPath: sp,
    ...(opts.interval !== undefined ? { interval: opts.interval } : {}),
  });
  return { dir, socketPath: sp, coordinator: c, owned: true };
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

export function makeJob(
  child: ChildProcess,
  exited: Promise<ExitStatus>,
  choice: CoordinatorChoice,
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
        : clientCheckpoint({ socketPath: choice.socketPath, kill: o.kill === true }),
    dir: choice.dir,
    socketPath: choice.socketPath,
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
    AMBER_COORD: choice.socketPath,
    AMBER_DIR: choice.dir,
  };
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
