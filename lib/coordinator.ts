/**
 * The coordinator: one per computation. Agents (libamber.so inside every process) and control
 * clients (CLI, TS API) connect to its Unix socket and speak docs/PROTOCOL.md. It assigns virtual
 * pids, drives the checkpoint barrier (suspend → write → manifest + `latest` → resume/kill) and
 * releases restored processes together at restart.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { hostname } from 'node:os';
import { chmod, link, lstat, mkdir, open, readdir, readlink, rename, rm, stat, symlink, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { closeSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { debuglog } from 'node:util';
import { formatAddress, parseAddress } from './address.js';
import { ensureToken, tokenMatches, tokenPathFor } from './client.js';
import { AmberError, toAmberError } from './errors.js';
import { PreAuthGate, PREAUTH_MAX_LINE } from './gate.js';
import { MAX_LINE, onLines } from './lines.js';
import { addon } from './native.js';
import { pairedAcrossHosts, unpairedSocketWarnings } from './sockets.js';
import {
  MANIFEST_NAME,
  fsyncDir,
  genDirName,
  imageName,
  parseGenDirName,
  writeFileDurable,
} from './manifest.js';
import * as trust from './trust.js';
import type {
  CheckpointResult,
  ImageSeal,
  Manifest,
  ManifestProcess,
  PluginEvent,
  PluginInfo,
  PluginsResult,
  ProcessInfo,
  ProgressEvent,
  RestartResult,
  SharedDescriptor,
  StatusResult,
  CheckpointMode,
} from './types.js';

const debug = debuglog('amber');

/** sun_path is 108 bytes on Linux, including the terminating NUL. */
const MAX_SOCKET_PATH = 107;

export interface CoordinatorOptions {
  /** Checkpoint directory (DIR). Default: $AMBER_DIR, else the current directory. */
  dir?: string;
  /** Seconds between automatic checkpoints; 0/undefined = none. */
  interval?: number;
  /** Socket path. Default: DIR/.amber/coord.sock. */
  socketPath?: string;
  /** Seconds each barrier phase may take before the generation fails. Default 120, raised to a second per 10 processes for a larger computation. */
  timeout?: number;
  /**
   * Also listen on TCP, HOST:PORT or [IPv6]:PORT (`tcp:` in front accepted; port 0 picks one), for
   * processes on other hosts. Every TCP peer must present the computation's token
   * (DIR/.amber/token, created 0600). A socket path (with a "/", starting with "." or "/", or
   * ending in ".sock") is the Unix socket to use instead, like socketPath. Anything else rejects
   * with 'EINVAL' (lib/address.ts).
   */
  listen?: string;
  /** Keep only the last K durable generations (older gen dirs are deleted after a good one). */
  keep?: number;
  /**
   * Seconds a checkpoint waits for processes known from a previous coordinator on this DIR to
   * reconnect (agents retry every second) before failing. Default 10.
   */
  adoptTimeout?: number;
  /**
   * Close by itself once the computation has ended: no process of it is left (none registered,
   * none of a previous coordinator still to reconnect, none starting up on this host), no
   * checkpoint or restart is in progress, and nothing holds it open (hold(), or a launch or
   * restart using it). What `amber launch` starts, so that it outlives a program that daemonizes
   * and goes away with the last of its processes. A coordinator nothing ever used closes after a
   * minute. Default false: it runs until close().
   */
  autoClose?: boolean;
}

/** `kill`, `forked`: lib/types.ts CheckpointMode. */
export interface CheckpointOptions extends CheckpointMode {
  /** Per-phase timeout in seconds (default: the coordinator's). */
  timeout?: number;
}

export interface ExpectRestartOptions {
  /** Seconds to wait for every restored process to register and resume. Default: the coordinator's timeout. */
  timeout?: number;
  /** The manifest being restarted: reserves its vpids and supplies parent vpids. */
  manifest?: Manifest;
  /** This restart is copy N of a `copies` restart (RestartOptions.copies): said in its RestartResult. */
  copy?: number;
}

export interface SuspendEvent {
  generation: number;
  processes: number;
}

export interface ResumeEvent {
  generation: number;
  processes: number;
}

/** Event name → listener arguments. */
export interface CoordinatorEvents {
  register: [ProcessInfo];
  exit: [ProcessInfo];
  suspend: [SuspendEvent];
  checkpoint: [CheckpointResult];
  resume: [ResumeEvent];
  restart: [RestartResult];
  error: [AmberError];
  /** A plugin's event (agent `event` message). */
  plugin: [PluginEvent];
  /** Barrier progress, as processes answer each phase. */
  progress: [ProgressEvent];
  /** The coordinator has closed (close(), or autoClose once the computation ended); its socket is gone. */
  close: [];
}

/** Messages agents send (PROTOCOL.md "Agent → coordinator"); fields are checked on use. */
interface AgentMsg {
  t: string;
  gen?: unknown;
  [k: string]: unknown;
}

interface Agent {
  id: number;
  sock: net.Socket;
  info: ProcessInfo;
  restored: boolean;
  /** Replaced by a newer connection of the same process (exec): its close is not an exit. */
  superseded: boolean;
  /** restored: the agent sent `restarted` and is parked waiting for `resume 0`. */
  parked: boolean;
  /** Plugins loaded in the process (hello's `plugins`, later `plugins` messages). */
  plugins: PluginInfo[];
  /** The pid the application itself sees (hello's `apppid`): its pid when first launched. */
  appPid: number;
  /** After a restart, its threads other than the main one whose kernel tids changed (`tids`
   * lines): [app tid, kernel tid]. They join the pid map, so that other processes name them. */
  tids: [number, number][];
}

type PhaseName = 'suspended' | 'written' | 'resumed';

interface Phase {
  expect: PhaseName;
  pending: Set<Agent>;
  results: Map<Agent, AgentMsg>;
  /** Losing a participant fails the generation (suspend, write) or is merely noted (resume). */
  failOnLoss: boolean;
  resolve: (r: Map<Agent, AgentMsg>) => void;
  reject: (e: AmberError) => void;
}

interface Barrier {
  gen: number;
  /** The generation's random id (32 hex digits): sent as `generation G ID` before `suspend G`,
   * written into every image header and the manifest, which binds the images to it (issue 12). */
  id: string;
  agents: Set<Agent>;
  phase: Phase | undefined;
  /** A failure that happened between phases (no phase promise to reject). */
  failure: AmberError | undefined;
  /** Until the generation is durable, any failure aborts it. */
  durable: boolean;
  t0: bigint;
  /** Image bytes reported written so far. */
  bytes: number;
  /** `checkpoint --kill`: the suspend line says ` end`. */
  kill?: boolean;
  /** Children of suspended processes still between fork and hello (`pid:starttime` -> first seen, ms). */
  starting?: Map<string, number>;
  /** A pending look for such children (settleSuspend). */
  settleTimer?: NodeJS.Timeout;
  /**
   * Participants whose connection closed before they were suspended while their process lives
   * on (`pid:starttime` -> when): they exec'd (the connection is close-on-exec), and the new
   * program's agent says hello again (settleSuspend waits for it, as for a starting child).
   */
  execing?: Map<string, number>;
  /** Forked checkpoint (CheckpointOptions.forked): `forked G` goes before every `write G`. */
  forked?: boolean;
  /** Forked: the participants whose image content is fixed (`captured`, or already `written`). */
  captured?: Set<Agent>;
  /** Forked: each process's image writer still at work (`captured`'s `writer`: pid, start time). */
  writers?: Map<Agent, { pid: number; start: string; deadSeen: boolean }>;
  /** Forked: called once every participant is captured. */
  onCaptured?: () => void;
  /** Forked: the processes were told to resume before their images were durable. */
  released?: boolean;
}

interface RestartWait {
  count: number;
  /** Agents that said hello with restored:true. */
  agents: Set<Agent>;
  manifest: Manifest | undefined;
  copy: number | undefined;
  released: boolean;
  resumed: Set<Agent>;
  timer: NodeJS.Timeout;
  resolve: (r: RestartResult) => void;
  reject: (e: AmberError) => void;
}

function num(v: unknown, dflt = 0): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : dflt;
}

function str(v: unknown, dflt = ''): string {
  return typeof v === 'string' ? v : dflt;
}

function describe(a: Agent): string {
  return `vpid ${a.info.vpid} (pid ${a.info.pid}${a.info.host !== hostname() ? ` on ${a.info.host}` : ''})`;
}

/** Resolves when a coordinator answers on `path`, rejects (with the connect error) otherwise. */
function probe(path: string): Promise<void> {
  return new Promise((res, rej) => {
    const s = net.connect(path);
    s.once('connect', () => {
      s.destroy();
      res();
    });
    s.once('error', rej);
  });
}

/** The highest gen-NNNNNN in dir (0 if none). */
async function highestGeneration(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let max = 0;
  for (const n of names) {
    const g = parseGenDirName(n);
    if (g !== undefined && g > max) max = g;
  }
  return max;
}

/** The generation DIR/latest points at (0 if none). */
async function latestGeneration(dir: string): Promise<number> {
  try {
    return parseGenDirName(await readlink(join(dir, 'latest'))) ?? 0;
  } catch {
    return 0;
  }
}

/** What a coordinator leaves in DIR/.amber/state.json so that a successor can re-adopt. */
interface SavedState {
  amber: 1;
  pid: number;
  nextVpid: number;
  processes: Array<ProcessInfo & { plugins?: PluginInfo[] }>;
  /** Published key → hex value. */
  kv: Record<string, string>;
}

const STATE_NAME = 'state.json';
const KEY_RE = /^[^\s]{1,256}$/;
const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

function parsePlugins(v: unknown): PluginInfo[] {
  if (!Array.isArray(v)) return [];
  const out: PluginInfo[] = [];
  for (const p of v) {
    if (typeof p !== 'object' || p === null) continue;
    const r = p as Record<string, unknown>;
    out.push({
      name: str(r['name']),
      path: str(r['path']),
      wraps: Array.isArray(r['wraps']) ? r['wraps'].filter((w): w is string => typeof w === 'string') : [],
    });
  }
  return out;
}

async function readState(adir: string): Promise<SavedState | undefined> {
  let text: string;
  try {
    text = await trust.readTrusted(join(adir, STATE_NAME), 'the state file');
  } catch (e) {
    if (e instanceof AmberError) throw e; // a link, a FIFO, another user's file: refuse to start
    return undefined;
  }
  try {
    const j = JSON.parse(text) as Partial<SavedState>;
    if (j.amber !== 1 || !Array.isArray(j.processes)) return undefined;
    return {
      amber: 1,
      pid: num(j.pid),
      nextVpid: num(j.nextVpid, 1),
      processes: j.processes.filter((p) => typeof p === 'object' && p !== null && num(p.vpid) > 0),
      kv: typeof j.kv === 'object' && j.kv !== null ? j.kv : {},
    };
  } catch {
    return undefined;
  }
}

function listenOn(server: net.Server, what: string, args: [string] | [number, string]): Promise<void> {
  return new Promise<void>((res, rej) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      rej(
        e.code === 'EADDRINUSE'
          ? new AmberError('EBUSY', `a coordinator (or something else) is already listening at ${what}`, { path: what })
          : toAmberError(e, 'ESOCKET'),
      );
    });
    if (args.length === 1) server.listen(args[0], () => res());
    else server.listen(args[0], args[1], () => res());
  });
}

type Transport = 'unix' | 'tcp';

/** /proc/PID/stat: the state letter, the parent's pid and the start time (ticks since boot), or undefined when gone. */
function procStat(pid: number): { state: string; ppid: number; start: string } | undefined {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return { state: f[0] ?? '?', ppid: Number(f[1] ?? 0), start: f[19] ?? '' };
  } catch {
    return undefined;
  }
}

/** Is pid a live process on this host (not a zombie)? */
function running(pid: number): boolean {
  if (!(pid > 0)) return false;
  const s = procStat(pid);
  return s !== undefined && s.state !== 'Z' && s.state !== 'X';
}

/**
 * Processes of this host (live, not us) whose environment points their agent at this coordinator
 * (`AMBER_COORD=<value>` with mine(value)): members of the computation between fork and their
 * agent's hello — a forked child while its parent exits, say — by `pid:starttime`.
 */
function startingProcesses(mine: (coord: string) => boolean): string[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const n of names) {
    if (!/^\d+$/.test(n) || Number(n) === process.pid) continue;
    let env: string;
    try {
      env = readFileSync(`/proc/${n}/environ`, 'latin1');
    } catch {
      continue; // gone, or another user's
    }
    const at = env.indexOf('AMBER_COORD=');
    if (at < 0) continue;
    const hit = env.split('\0').some((e) => e.startsWith('AMBER_COORD=') && mine(e.slice('AMBER_COORD='.length)));
    const s = hit ? procStat(Number(n)) : undefined;
    if (s !== undefined && s.state !== 'Z' && s.state !== 'X') out.push(`${n}:${s.start}`);
  }
  return out;
}

/**
 * Children of `parents` (kernel pids of this host) that are not registered (`known`), not
 * zombies, and carry the agent (mapped libamber.so: a forked copy, or an exec'd program that
 * preloads it) — about to say hello — by `pid:starttime`. One pass over /proc.
 */
function unregisteredChildren(parents: Set<number>, known: Set<number>): string[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const n of names) {
    const pid = Number(n);
    if (!(pid > 0) || known.has(pid) || pid === process.pid) continue;
    let st: string;
    try {
      st = readFileSync(`/proc/${n}/stat`, 'latin1');
    } catch {
      continue;
    }
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    if (!parents.has(Number(f[1])) || f[0] === 'Z' || f[0] === 'X') continue;
    let maps: string;
    try {
      maps = readFileSync(`/proc/${n}/maps`, 'latin1');
    } catch {
      continue; // gone, or not ours to look at
    }
    if (maps.includes('/libamber.so') || loadingAgent(n, maps)) out.push(`${n}:${f[19] ?? ''}`);
  }
  return out;
}

/**
 * A program just exec'd whose dynamic loader has not mapped the agent yet: the kernel mapped the
 * program and its interpreter, and ld.so maps LD_PRELOAD first, so no library but the loader is
 * there yet, while its environment names an agent. Its old agent's connection closed at the exec
 * (possibly before the checkpoint began: then the coordinator took it for an exit) and its new
 * agent says hello in a moment; until then libamber.so is not in its maps. Missing it let the
 * generation end without the program, and its parent's waitpid get ECHILD after a restart.
 * A static program has no interpreter and never says hello: it is not waited for.
 */
function loadingAgent(pid: string, maps: string): boolean {
  let interp = false;
  for (const line of maps.split('\n')) {
    const at = line.indexOf('/');
    if (at < 0) continue;
    const path = line.slice(at);
    if (/\/ld-linux[^/]*\.so[^/]*$|\/ld-[^/]*\.so[^/]*$/.test(path)) interp = true;
    else if (/\.so(\.[0-9.]+)?$/.test(path)) return false; // the loader got past the preloads
  }
  if (!interp) return false;
  let env: string;
  try {
    env = readFileSync(`/proc/${pid}/environ`, 'latin1');
  } catch {
    return false;
  }
  const vars = env.split('\0');
  return vars.some((e) => e.startsWith('AMBER_COORD=')) && vars.some((e) => e.startsWith('LD_PRELOAD=') && e.includes('libamber.so'));
}

/** How long a process found starting up may take to register before it no longer counts. */
const STARTING_GRACE_MS = 10_000;
/** An autoClose coordinator nothing ever used (no hold, no agent) closes after this long. */
const UNUSED_CLOSE_MS = 60_000;

/**
 * What keeps an autoClose coordinator open: `live` (held, or a process of the computation
 * runs), `transient` (a checkpoint, restart or registration under way), `starting` (a process
 * of it on this host has not registered yet), or nothing (`idle`).
 */
type Activity = 'live' | 'transient' | 'starting' | 'idle';

export class Coordinator extends EventEmitter<CoordinatorEvents> {
  readonly dir: string;
  readonly socketPath: string;
  /** `tcp:HOST:PORT` (the port actually bound) when listening on TCP, else undefined. */
  readonly tcpAddress: string | undefined;
  /** Per-phase timeout, seconds. */
  readonly timeout: number;
  /** Whether `timeout` was given (then it is the bound, whatever the computation's size). */
  private readonly timeoutGiven: boolean;
  /** Generations kept (0 = all). */
  readonly keep: number;

  private readonly server: net.Server;
  private readonly tcpServer: net.Server | undefined;
  private readonly token: string | undefined;
  private readonly adoptTimeout: number;
  /** Processes a previous coordinator on this DIR knew, by vpid, until their agents reconnect. */
  private readonly orphans = new Map<number, ProcessInfo & { plugins?: PluginInfo[] }>();
  private orphanTimer: NodeJS.Timeout | undefined;
  /** The publish/lookup key space: key → hex value. */
  private readonly kv = new Map<string, string>();
  private readonly kvWaiters = new Map<string, Set<Agent>>();
  private stateTimer: NodeJS.Timeout | undefined;
  private stateWrite: Promise<void> = Promise.resolve();
  private readonly uid: number | undefined;
  private readonly agents = new Map<number, Agent>();
  private readonly controls = new Set<net.Socket>();
  /** What peers get before they say who they are (lib/gate.ts). */
  private readonly gate = new PreAuthGate();
  private nextAgentId = 1;
  private nextVpid = 1;
  /** vpids promised to processes of a manifest being restarted. */
  private readonly reservedVpids = new Set<number>();
  /** Highest generation number handed out (durable or not), so numbers never repeat. */
  private lastGen: number;
  /** Latest durable generation. */
  private durableGen: number;
  private barrier: Barrier | undefined;
  /** Serializes checkpoints: a second request waits for the first. */
  private queue: Promise<unknown> = Promise.resolve();
  private busy = 0;
  /** Hellos that arrived during a barrier; answered when it ends (see onHello). */
  private heldHellos: Array<() => void> = [];
  private restartWait: RestartWait | undefined;
  private intervalTimer: NodeJS.Timeout | undefined;
  private readonly intervalSec: number;
  private closed = false;
  private closing: Promise<void> | undefined;
  /** Device and inode of the socket we bound: close() removes the path only while it is still ours. */
  private socketId: { dev: number; ino: number } | undefined;
  // autoClose
  private readonly autoClose: boolean;
  /** hold()s and control clients' `hold`s not yet released. */
  private holds = 0;
  /** Something has used this coordinator (a hold or an agent): only then may it close by itself. */
  private used = false;
  /** Connections that have not said what they are yet. */
  private unidentified = 0;
  private doneTimer: NodeJS.Timeout | undefined;
  private checkSoon: NodeJS.Timeout | undefined;
  private unusedTimer: NodeJS.Timeout | undefined;
  /** Releases waiting to learn whether the coordinator closes (true) or stays (false). */
  private settleWaiters: Array<(closed: boolean) => void> = [];
  /** Processes seen starting up (pid:starttime → first seen, ms). */
  private startingSeen = new Map<string, number>();
  /** Control connections holding the coordinator: their further lines (`release`). */
  private readonly holdLines = new WeakMap<net.Socket, (msg: AgentMsg) => void>();

  private constructor(
    dir: string,
    socketPath: string,
    server: net.Server,
    tcp: { server: net.Server; address: string; token: string } | undefined,
    gen: number,
    durable: number,
    saved: SavedState | undefined,
    opts: CoordinatorOptions,
  ) {
    super();
    this.dir = dir;
    this.socketPath = socketPath;
    this.server = server;
    this.tcpServer = tcp?.server;
    this.tcpAddress = tcp?.address;
    this.token = tcp?.token;
    this.lastGen = gen;
    this.durableGen = durable;
    this.timeout = opts.timeout ?? 120;
    this.timeoutGiven = opts.timeout !== undefined;
    this.intervalSec = opts.interval ?? 0;
    this.keep = opts.keep !== undefined && opts.keep > 0 ? Math.floor(opts.keep) : 0;
    this.adoptTimeout = opts.adoptTimeout ?? 10;
    this.autoClose = opts.autoClose === true;
    if (this.autoClose) {
      this.unusedTimer = setTimeout(() => {
        this.used = true;
        this.checkDone();
      }, UNUSED_CLOSE_MS);
      this.unusedTimer.unref();
    }
    this.uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
    if (saved !== undefined) {
      for (const p of saved.processes) {
        // Only processes that still exist can reconnect (another host's cannot be checked here).
        if (p.host === hostname() && !running(p.pid)) continue;
        this.orphans.set(p.vpid, { ...p, state: 'detached' });
      }
      this.nextVpid = Math.max(1, saved.nextVpid);
      for (const [k, v] of Object.entries(saved.kv)) if (typeof v === 'string') this.kv.set(k, v);
      if (this.orphans.size > 0) {
        debug('waiting for %d processes of coordinator %d to reconnect', this.orphans.size, saved.pid);
        this.orphanTimer = setInterval(() => this.sweepOrphans(), 1000);
        this.orphanTimer.unref();
      }
    }
    server.on('connection', (s) => this.onConnection(s, 'unix'));
    tcp?.server.on('connection', (s) => this.onConnection(s, 'tcp'));
    // A listening socket failing later (rare: EMFILE on accept) must not crash the host process.
    server.on('error', (e) => this.emitError(toAmberError(e, 'ESOCKET')));
    tcp?.server.on('error', (e) => this.emitError(toAmberError(e, 'ESOCKET')));
  }

  /**
   * Starts a coordinator listening on DIR/.amber/coord.sock (mode 0600, in a 0700 directory).
   * A stale socket (nobody answers) is replaced; a live one is an AmberError 'EBUSY'.
   */
  static async start(opts: CoordinatorOptions = {}): Promise<Coordinator> {
    // Parsed before anything is created: a bad address leaves no trace.
    const listen = opts.listen !== undefined ? parseAddress(opts.listen, { listen: true, what: 'listen address' }) : undefined;
    // DIR resolved once and checked (ours, not writable by others, nor replaceable through the
    // directories above it); .amber made 0700 or checked the same way (lib/trust.ts).
    const dir = await trust.trustedCheckpointDir(opts.dir ?? process.env['AMBER_DIR'] ?? process.cwd());
    const adir = await trust.trustedStateDir(dir);
    const socketPath = resolve(
      opts.socketPath ?? (listen !== undefined && listen.kind === 'unix' ? listen.path : join(adir, 'coord.sock')),
    );
    if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
      throw new AmberError(
        'ENAMETOOLONG',
        `socket path ${socketPath} is longer than ${MAX_SOCKET_PATH} bytes (a Unix socket limit); use a shorter --dir`,
        { path: socketPath },
      );
    }
    if (dirname(socketPath) !== adir) await trust.trustedSocketParent(socketPath);
    try {
      await probe(socketPath);
      throw new AmberError('EBUSY', `a coordinator is already listening at ${socketPath}`, { path: socketPath });
    } catch (e) {
      if (e instanceof AmberError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ECONNREFUSED') {
        // Only a socket of ours is removed (in a sticky directory another user's file is theirs).
        await trust.checkSocketFile(socketPath, true);
        debug('removing stale socket %s', socketPath);
        await unlink(socketPath).catch(() => undefined);
      } else if (code !== 'ENOENT') {
        throw toAmberError(e, 'ESOCKET');
      }
    }
    // Peers may connect as soon as the socket exists (a launch polling for a coordinator it
    // started): connections that arrive before the coordinator is set up wait here.
    const early: Array<[net.Socket, Transport]> = [];
    const waitUnix = (s: net.Socket): void => void early.push([s, 'unix']);
    const waitTcp = (s: net.Socket): void => void early.push([s, 'tcp']);
    const server = net.createServer({ allowHalfOpen: false });
    server.on('connection', waitUnix);
    // Bound under a private name, then linked to the real one: libuv unlinks the path it bound
    // when the server closes, and that must never be the real path, which by then may be another
    // coordinator's (close() removes the real one itself, while it is still ours). link() also
    // fails if someone bound the real path meanwhile, where a rename would steal it.
    const privatePath = join(dirname(socketPath), `.${randomBytes(4).toString('hex')}.sock`);
    const bindPath = Buffer.byteLength(privatePath) <= MAX_SOCKET_PATH ? privatePath : socketPath;
    // Created 0600 from the start (umask), not merely chmod'ed after a window.
    const oldMask = process.umask(0o177);
    try {
      await listenOn(server, socketPath, [bindPath]);
    } finally {
      process.umask(oldMask);
    }
    if (bindPath !== socketPath) {
      try {
        await link(bindPath, socketPath);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') {
          await new Promise<void>((r) => server.close(() => r()));
          throw new AmberError('EBUSY', `a coordinator is already listening at ${socketPath}`, { path: socketPath });
        }
        // A file system without hard links to sockets: move it there instead.
        debug('link %s: %s; renaming', socketPath, (e as Error).message);
        await rename(bindPath, socketPath);
      }
      await unlink(bindPath).catch(() => undefined);
    }
    // The directory is 0700 already; the socket mode is the second fence the contract asks for.
    await chmod(socketPath, 0o600);
    await trust.checkSocketFile(socketPath);
    const bound = await lstat(socketPath);
    let tcp: { server: net.Server; address: string; token: string } | undefined;
    if (listen !== undefined && listen.kind === 'tcp') {
      try {
        const token = await ensureToken(dir);
        const ts = net.createServer({ allowHalfOpen: false });
        ts.on('connection', waitTcp);
        await listenOn(ts, formatAddress(listen), [listen.port, listen.host]);
        const addr = ts.address();
        const port = typeof addr === 'object' && addr !== null ? addr.port : listen.port;
        tcp = { server: ts, address: formatAddress({ ...listen, port }), token };
      } catch (e) {
        for (const [s] of early) s.destroy();
        await new Promise<void>((r) => server.close(() => r()));
        if (bindPath !== socketPath) await unlink(socketPath).catch(() => undefined);
        throw e;
      }
    }
    let saved: SavedState | undefined;
    let highest: number;
    try {
      saved = await readState(adir);
      // Numbers never repeat, even those of generations a crashed coordinator left incomplete,
      // which are removed now (nobody else serves this DIR: the socket was free).
      highest = await highestGeneration(dir);
      for (const p of await trust.removeLeftovers(dir, MANIFEST_NAME)) debug('removed %s (left by a coordinator that stopped mid-checkpoint)', p);
    } catch (e) {
      for (const [s] of early) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      if (tcp !== undefined) await new Promise<void>((r) => tcp.server.close(() => r()));
      await unlink(socketPath).catch(() => undefined);
      throw e;
    }
    const coord = new Coordinator(dir, socketPath, server, tcp, highest, await latestGeneration(dir), saved, opts);
    server.off('connection', waitUnix);
    tcp?.server.off('connection', waitTcp);
    for (const [s, transport] of early) coord.onConnection(s, transport);
    coord.socketId = { dev: bound.dev, ino: bound.ino };
    coord.scheduleInterval();
    coord.saveState();
    debug('coordinator %d listening at %s%s', process.pid, socketPath, tcp !== undefined ? ` and ${tcp.address}` : '');
    return coord;
  }

  /** The path of the computation's TCP token (exists once a TCP coordinator ran on DIR). */
  get tokenPath(): string {
    return tokenPathFor(this.dir);
  }

  /** Latest durable generation (0 = none). */
  get generation(): number {
    return this.durableGen;
  }

  /** Registered processes by vpid, plus (state 'detached') those of a previous coordinator not yet reconnected. */
  processes(): ProcessInfo[] {
    const live = [...this.agents.values()].filter((a) => !a.superseded).map((a) => ({ ...a.info }));
    const detached = [...this.orphans.values()].map(({ plugins: _p, ...info }) => ({ ...info, state: 'detached' as const }));
    return [...live, ...detached].sort((x, y) => x.vpid - y.vpid);
  }

  status(): StatusResult {
    return {
      ok: true,
      coordinator: {
        pid: process.pid,
        dir: this.dir,
        listen: this.tcpAddress ?? this.socketPath,
        socket: this.socketPath,
        ...(this.tcpAddress !== undefined ? { tcp: this.tcpAddress } : {}),
      },
      generation: this.durableGen,
      processes: this.processes(),
    };
  }

  /** Per registered process, the plugins it loaded and the symbols they wrap. */
  plugins(): PluginsResult {
    return {
      processes: [...this.agents.values()]
        .filter((a) => !a.superseded)
        .sort((x, y) => x.info.vpid - y.info.vpid)
        .map((a) => ({ vpid: a.info.vpid, pid: a.info.pid, cmd: a.info.cmd, plugins: a.plugins.map((p) => ({ ...p, wraps: [...p.wraps] })) })),
    };
  }

  /** Publishes key → value in the computation's key/value space (what plugins `lookup`). */
  publish(key: string, value: string | Buffer): void {
    if (!KEY_RE.test(key)) throw new AmberError('EINVAL', `publish: bad key ${JSON.stringify(key)} (1-256 non-space characters)`);
    this.setKey(key, Buffer.from(value).toString('hex'));
  }

  /** The value published under key, or undefined. */
  lookup(key: string): Buffer | undefined {
    const v = this.kv.get(key);
    return v === undefined ? undefined : Buffer.from(v, 'hex');
  }

  /**
   * Checkpoints every registered process as one generation. Concurrent calls run one after the
   * other. Rejects with AmberError 'ECHECKPOINT' (nothing durable changed, `latest` untouched) or
   * 'ENOPROC' (nothing to checkpoint).
   */
  checkpoint(opts: CheckpointOptions = {}): Promise<CheckpointResult> {
    if (this.closed) return Promise.reject(new AmberError('ECHECKPOINT', 'the coordinator is closed'));
    this.busy++;
    const run = this.queue.then(() => this.runCheckpointRetrying(opts));
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run.finally(() => {
      this.busy--;
      this.checkDone();
    });
  }

  /**
   * Declares that `count` restored processes are about to register (restart). They are held after
   * `restarted` until all have arrived, then released together with `resume 0`. Resolves when all
   * have answered `resumed`.
   */
  expectRestart(count: number, opts: ExpectRestartOptions = {}): Promise<RestartResult> {
    if (this.restartWait !== undefined) {
      return Promise.reject(new AmberError('EBUSY', 'a restart is already in progress on this coordinator'));
    }
    if (!Number.isInteger(count) || count < 1) {
      return Promise.reject(new AmberError('EINVAL', `expectRestart: count must be a positive integer, not ${count}`));
    }
    if (opts.manifest !== undefined) {
      for (const p of opts.manifest.processes) {
        this.reservedVpids.add(p.vpid);
        if (p.vpid >= this.nextVpid) this.nextVpid = p.vpid + 1;
      }
    }
    const timeoutMs = (opts.timeout ?? this.timeout) * 1000;
    return new Promise<RestartResult>((res, rej) => {
      const w: RestartWait = {
        count,
        agents: new Set(),
        manifest: opts.manifest,
        copy: opts.copy,
        released: false,
        resumed: new Set(),
        timer: setTimeout(() => {
          this.failRestart(
            new AmberError(
              'ERESTART',
              `restart timed out after ${timeoutMs / 1000} s: ${w.agents.size} of ${count} restored processes registered, ${w.resumed.size} resumed`,
            ),
          );
        }, timeoutMs),
        resolve: res,
        reject: rej,
      };
      w.timer.unref();
      this.restartWait = w;
      // Restored agents that registered before the expectation count too.
      for (const a of this.agents.values()) if (a.restored && a.info.state === 'restarting') w.agents.add(a);
      this.maybeReleaseRestart();
    });
  }

  /** Abandons a pending expectRestart() (its promise rejects with 'ERESTART'). */
  cancelRestart(message = 'restart cancelled'): void {
    this.failRestart(new AmberError('ERESTART', message));
  }

  /**
   * Keeps the coordinator open until the returned function is called (what launch() and
   * restart() do while their program runs). Matters for an autoClose coordinator only; the
   * release resolves to true when the coordinator then closed because the computation had ended
   * (its socket is gone by then), false when it stays open.
   */
  hold(): () => Promise<boolean> {
    this.holds++;
    this.used = true;
    let held = true;
    return () => {
      if (!held) return this.closing !== undefined ? this.closing.then(() => true) : Promise.resolve(false);
      held = false;
      this.holds--;
      return this.settle();
    };
  }

  /** Stops listening, removes the socket and disconnects every peer; then emits 'close'. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.closed = true;
    for (const t of [this.intervalTimer, this.orphanTimer, this.doneTimer, this.checkSoon, this.unusedTimer]) if (t !== undefined) clearTimeout(t);
    // The path first: from now on a launch finds no coordinator here and starts its own, whose
    // socket this one must not remove.
    await this.removeSocket();
    const err = new AmberError('ECHECKPOINT', 'the coordinator was closed');
    this.failBarrier(err);
    this.failRestart(new AmberError('ERESTART', 'the coordinator was closed'));
    if (this.stateTimer !== undefined) {
      clearTimeout(this.stateTimer);
      this.stateTimer = undefined;
    }
    // What a successor reads: the processes still running (none, when the computation ended).
    await this.writeState();
    const closing = Promise.all([
      new Promise<void>((res) => this.server.close(() => res())),
      this.tcpServer !== undefined ? new Promise<void>((res) => this.tcpServer?.close(() => res())) : undefined,
    ]);
    for (const a of this.agents.values()) a.sock.destroy();
    // Releases waiting for the verdict get it (their answers are ended, so they are not cut).
    this.flushSettled(true);
    this.gate.destroyAll();
    // An answer already handed to end() (say, checkpoint --kill's, racing the app's exit) must
    // still reach its client; only sockets still waiting for an answer are cut.
    for (const c of this.controls) if (!c.writableEnded) c.destroy();
    await closing;
    debug('coordinator closed');
    this.emit('close');
  }

  /** Unlinks the socket path if it is still the socket we bound. */
  private async removeSocket(): Promise<void> {
    try {
      const st = await lstat(this.socketPath);
      if (this.socketId !== undefined && (st.dev !== this.socketId.dev || st.ino !== this.socketId.ino)) {
        debug('%s is another coordinator\'s socket now; leaving it', this.socketPath);
        return;
      }
      await unlink(this.socketPath);
    } catch {
      // already gone
    }
  }

  // ---------------------------------------------------------------------------------------------
  // autoClose: closing once the computation has ended

  /** What keeps the coordinator open (see Activity). */
  private activity(): Activity {
    if (this.holds > 0) return 'live';
    const here = hostname();
    const lives = (p: { pid: number; host: string }): boolean => p.host !== here || running(p.pid);
    for (const a of this.agents.values()) if (!a.superseded && lives(a.info)) return 'live';
    for (const o of this.orphans.values()) if (lives(o)) return 'live';
    if (this.barrier !== undefined || this.busy > 0 || this.restartWait !== undefined || this.heldHellos.length > 0 || this.unidentified > 0) {
      return 'transient';
    }
    return this.anyStarting() ? 'starting' : 'idle';
  }

  /** Is a process of the computation on this host between its fork and its hello? */
  private anyStarting(): boolean {
    const port = this.tcpAddress !== undefined ? this.tcpAddress.slice(this.tcpAddress.lastIndexOf(':')) : undefined;
    const mine = (c: string): boolean => c === this.socketPath || (port !== undefined && c.startsWith('tcp:') && c.endsWith(port));
    const now = Date.now();
    const seen = new Map<string, number>();
    let any = false;
    for (const key of startingProcesses(mine)) {
      const first = this.startingSeen.get(key) ?? now;
      seen.set(key, first);
      // One that never registers (its agent gave up, or a static binary) stops counting.
      if (now - first < STARTING_GRACE_MS) any = true;
    }
    this.startingSeen = seen;
    return any;
  }

  /**
   * autoClose: closes when nothing is left (see Activity); while something is under way, looks
   * again shortly. Waiting releases learn the verdict once it is known. Calls in a burst (a
   * thousand processes exiting together) make one look, a moment later.
   */
  private checkDone(): void {
    if (this.closed) return;
    if (!this.autoClose) {
      this.flushSettled(false);
      return;
    }
    if (this.checkSoon !== undefined) return;
    this.checkSoon = setTimeout(() => {
      this.checkSoon = undefined;
      this.evaluate();
    }, 20);
    this.checkSoon.unref();
  }

  private evaluate(): void {
    if (this.closed) return;
    const a = this.activity();
    if (a === 'idle') {
      if (this.used) {
        debug('the computation has ended: closing');
        void this.close();
      }
      return;
    }
    // A process starting up decides nothing yet, but nobody needs to wait for it.
    if (a === 'live' || a === 'starting') this.flushSettled(false);
    if (a !== 'live' && this.doneTimer === undefined) {
      this.doneTimer = setTimeout(() => {
        this.doneTimer = undefined;
        this.evaluate();
      }, 200);
      this.doneTimer.unref();
    }
  }

  /** Resolves true once the coordinator has closed by itself (and emitted 'close'), false when it stays open. */
  private settle(): Promise<boolean> {
    return new Promise<boolean>((res) => this.whenSettled((closed) => (closed ? void this.closing?.then(() => res(true)) : res(false))));
  }

  /** Calls back (synchronously, when the verdict comes) with true if the coordinator closes, false if it stays. */
  private whenSettled(cb: (closed: boolean) => void): void {
    if (this.closing !== undefined) {
      void this.closing.then(() => cb(true));
      return;
    }
    if (!this.autoClose) {
      cb(false);
      return;
    }
    this.settleWaiters.push(cb);
    this.checkDone();
  }

  /**
   * `hold` (a control extension): keeps an autoClose coordinator open while the connection lasts.
   * The answer is the status (so a launch learns the TCP address too). The client ends the hold
   * by closing the connection, or by sending `{"t":"ctl","op":"release"}`, answered
   * `{"ok":true,"closed":BOOL}` once it is known whether the coordinator closes (the computation
   * has ended; its socket is gone by then) or stays.
   */
  private holdFor(sock: net.Socket): void {
    if (this.closed) {
      this.answer(sock, { ok: false, code: 'ENOCOORD', message: `the coordinator at ${this.socketPath} is closing` });
      return;
    }
    this.holds++;
    this.used = true;
    let held = true;
    // While held, the holder hears of the coordinator's errors (a launch shows them: its
    // coordinator may be a background process whose own output goes to a log).
    const relay = (e: AmberError): void => {
      if (!sock.destroyed && !sock.writableEnded) sock.write(JSON.stringify({ event: 'error', code: e.code, message: e.message }) + '\n');
    };
    const release = (): boolean => {
      if (!held) return false;
      held = false;
      this.holds--;
      this.off('error', relay);
      return true;
    };
    this.holdLines.set(sock, (m) => {
      if (m['op'] === 'release' && release()) this.whenSettled((closed) => this.answer(sock, { ok: true, closed }));
    });
    sock.on('close', () => {
      if (release()) this.checkDone();
    });
    if (!sock.destroyed) sock.write(JSON.stringify(this.status()) + '\n');
    this.on('error', relay);
  }

  private flushSettled(closed: boolean): void {
    for (const w of this.settleWaiters.splice(0)) w(closed);
  }

  // ---------------------------------------------------------------------------------------------
  // connections

  /**
   * Why a new connection must be refused, if it must: a Unix peer of another uid (SO_PEERCRED;
   * root is let in, it could read the socket anyway), checked before a byte is read from it.
   */
  private peerRefusal(sock: net.Socket): AmberError | undefined {
    if (this.uid === undefined) return undefined;
    const fd = (sock as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
    let peerCred;
    try {
      peerCred = addon().peerCred;
    } catch (e) {
      debug('no addon, cannot check peer credentials (the socket is 0600): %s', (e as Error).message);
      return undefined;
    }
    if (typeof peerCred !== 'function' || typeof fd !== 'number' || fd < 0) {
      debug('cannot check peer credentials (no peerCred or fd); the socket is 0600');
      return undefined;
    }
    try {
      const c = peerCred(fd);
      if (c.uid === this.uid || c.uid === 0) return undefined;
      return new AmberError('EPERM', `refused a connection from pid ${c.pid}: uid ${c.uid} is not the coordinator's uid ${this.uid}`, {
        pid: c.pid,
      });
    } catch (e) {
      return new AmberError('EPERM', `refused a connection whose credentials cannot be read: ${(e as Error).message}`);
    }
  }

  /**
   * agentOnly: a connection we made and passed to a process (giveConnection): its first line must
   * be a hello, never a control request (the kernel shows it as ours, root's).
   */
  private onConnection(sock: net.Socket, transport: Transport, agentOnly = false): void {
    let kind: 'unknown' | 'agent' | 'ctl' = 'unknown';
    let agent: Agent | undefined;
    sock.on('error', (e) => debug('peer socket error: %s', e.message));
    const refusal = transport === 'unix' ? this.peerRefusal(sock) : undefined;
    // Until it says who it is, a peer is held to lib/gate.ts: a deadline from now, a small first
    // line, one line only, and (TCP, or a Unix peer of another uid) a place among a bounded
    // number of unknown peers.
    this.gate.admit(sock, transport, transport === 'tcp' || refusal !== undefined);
    // A peer that has not said who it is yet may be a process about to register: the computation
    // is not over while one is connecting (autoClose).
    let identified = false;
    this.unidentified++;
    const identify = (): void => {
      if (identified) return;
      identified = true;
      this.unidentified--;
    };
    const refuse = (e: AmberError, first: AgentMsg | undefined): void => {
      this.emitError(e);
      this.gate.close(
        sock,
        first?.t === 'hello' ? `refused ${e.code}\n` : JSON.stringify({ ok: false, code: e.code, message: e.message }) + '\n',
      );
    };
    onLines(
      sock,
      (line) => {
        identify();
        let msg: AgentMsg;
        try {
          const v: unknown = JSON.parse(line);
          if (typeof v !== 'object' || v === null || typeof (v as AgentMsg).t !== 'string') throw new Error('no "t"');
          msg = v as AgentMsg;
        } catch (e) {
          debug('bad line from peer (%s): %s', (e as Error).message, line.slice(0, 200));
          if (kind === 'unknown') {
            // one bad first line ends the connection
            this.gate.close(sock, JSON.stringify({ ok: false, code: 'EPROTO', message: 'expected one JSON object per line' }) + '\n');
          } else if (kind === 'ctl') {
            this.answer(sock, { ok: false, code: 'EPROTO', message: 'expected one JSON object per line' });
          }
          return;
        }
        if (kind === 'unknown') {
          if (refusal !== undefined) {
            refuse(refusal, msg);
            return;
          }
          if (transport === 'tcp' && (this.token === undefined || !tokenMatches(this.token, msg['token']))) {
            const why = msg['token'] === undefined ? 'no token' : 'a wrong token';
            refuse(new AmberError('EAUTH', `refused a TCP connection from ${sock.remoteAddress ?? '?'}: ${why} (see ${this.tokenPath})`), msg);
            return;
          }
          if (msg.t === 'hello') {
            this.gate.settle(sock);
            kind = 'agent';
            agent = this.onHello(sock, msg);
          } else if (msg.t === 'ctl' && agentOnly) {
            refuse(new AmberError('EPERM', 'refused a control request on a connection made for a process of the computation'), msg);
          } else if (msg.t === 'ctl') {
            this.gate.settle(sock);
            kind = 'ctl';
            this.controls.add(sock);
            void this.onControl(sock, msg);
          } else {
            this.gate.close(sock, JSON.stringify({ ok: false, code: 'EPROTO', message: `first line must be hello or ctl, not ${msg.t}` }) + '\n');
          }
          return;
        }
        if (kind === 'agent' && agent !== undefined) this.onAgentMsg(agent, msg);
        else if (kind === 'ctl') this.holdLines.get(sock)?.(msg);
      },
      () => (kind === 'unknown' ? PREAUTH_MAX_LINE : MAX_LINE),
    );
    sock.on('close', () => {
      this.controls.delete(sock);
      if (agent !== undefined) this.onAgentClose(agent);
      if (!identified) {
        identify();
        this.checkDone();
      }
    });
  }

  private answer(sock: net.Socket, obj: object): void {
    if (!sock.destroyed) sock.end(JSON.stringify(obj) + '\n');
  }

  /**
   * The image files this coordinator creates for its processes (ours O_EXCL|O_NOFOLLOW, 0600, at
   * PATH.tmp): a root coordinator's process that now runs as another user (setuid after launch,
   * issue 10: its effective or filesystem uid, as the kernel shows it while the process is parked)
   * cannot create a file in our directory. Only on this host, over a Unix socket, with the addon's
   * sendFd.
   *
   * Such an image is root's file with that user's bytes in it, so it must not be able to ask a
   * root restart for more than the process had: the credentials the kernel showed (`creds`, for
   * the manifest) bind it, and the restorer refuses an image whose own record differs.
   */
  private async imageFilesFor(b: Barrier, genDir: string): Promise<{ files: Map<Agent, FileHandle>; creds: Map<Agent, string> }> {
    const files = new Map<Agent, FileHandle>();
    const creds = new Map<Agent, string>();
    if (this.uid !== 0) return { files, creds };
    let sendFd;
    try {
      sendFd = addon().sendFd;
    } catch {
      return { files, creds };
    }
    if (typeof sendFd !== 'function') return { files, creds };
    for (const a of b.agents) {
      if (a.info.host !== hostname() || !(a.info.pid > 0) || sockFd(a.sock) === undefined) continue;
      const k = kernelCreds(a.info.pid);
      if (k === undefined || (k.euid === 0 && k.fsuid === 0)) continue;
      const tmp = `${join(genDir, imageName(a.info.vpid))}.tmp`;
      try {
        files.set(a, await trust.createTemp(tmp, 0o600));
        creds.set(a, k.text);
      } catch (e) {
        for (const fh of files.values()) await fh.close().catch(() => undefined);
        throw trust.fsFailure(e, 'create', tmp);
      }
    }
    return { files, creds };
  }

  /**
   * `conn`: a process that runs as another user than this root coordinator (setuid after launch)
   * is about to fork; its child could not connect to our socket (mode 0600, and SO_PEERCRED of
   * another uid is refused), so the parent asks for a connection of ours: one end of a socket pair
   * is kept here as a new connection (agent-only), the other goes back with `conn` (SCM_RIGHTS).
   * A bare `conn` says none could be made (the child then runs uncheckpointed, as before).
   */
  private giveConnection(a: Agent): void {
    const fd = sockFd(a.sock);
    if (a.sock.destroyed) return;
    if (a.sock.writableLength > 0) {
      // (lines queued in Node must leave first: the descriptor goes with this one, in order)
      a.sock.once('drain', () => this.giveConnection(a));
      return;
    }
    let pair: [number, number] | undefined;
    try {
      if (fd !== undefined && this.uid === 0 && a.info.host === hostname()) pair = addon().socketPair?.();
    } catch (e) {
      debug('cannot make a connection for %s: %s', describe(a), (e as Error).message);
    }
    if (pair === undefined || addon().sendFd === undefined) {
      if (pair !== undefined) for (const p of pair) closeSync(p);
      this.send(a, 'conn');
      return;
    }
    const [mine, theirs] = pair;
    try {
      this.onConnection(new net.Socket({ fd: mine, readable: true, writable: true }), 'unix', true);
      if (debug.enabled) debug('-> %s: conn (with a connection)', describe(a));
      addon().sendFd!(fd!, 'conn\n', theirs);
    } catch (e) {
      debug('cannot pass a connection to %s: %s', describe(a), (e as Error).message);
      this.send(a, 'conn');
    } finally {
      closeSync(theirs);
    }
  }

  /** A `write` line, with the image file to write when we made it (imageFilesFor). */
  private sendImageFile(a: Agent, line: string, fh: FileHandle | undefined): void {
    const fd = sockFd(a.sock);
    // (lines written through Node must all have left: the file goes with this line, in order)
    if (fh === undefined || fd === undefined || a.sock.writableLength > 0 || a.sock.destroyed) {
      this.send(a, line);
      return;
    }
    if (debug.enabled) debug('-> %s: %s (with its image file)', describe(a), line);
    try {
      addon().sendFd!(fd, line + '\n', fh.fd);
    } catch (e) {
      debug('cannot pass the image file to %s: %s', describe(a), (e as Error).message);
      this.send(a, line);
    }
  }

  private send(a: Agent, line: string): void {
    if (debug.enabled) debug('-> %s: %s', describe(a), line);
    if (!a.sock.destroyed) a.sock.write(line + '\n');
  }

  private emitError(e: AmberError): void {
    debug('error: %s', e.message);
    // An 'error' event with no listener throws; a library must not crash its host over, say, a
    // failed interval checkpoint, so only emit when someone listens.
    if (this.listenerCount('error') > 0) this.emit('error', e);
  }

  private vpidInUse(v: number): boolean {
    if (this.orphans.has(v)) return true;
    for (const a of this.agents.values()) if (!a.superseded && a.info.vpid === v) return true;
    return false;
  }

  /** Drops detached processes that no longer exist (on this host). */
  private sweepOrphans(): void {
    for (const [vpid, p] of this.orphans) {
      if (p.host === hostname() && !running(p.pid)) {
        this.orphans.delete(vpid);
        debug('detached vpid %d (pid %d) is gone', vpid, p.pid);
        this.saveState();
        this.emit('exit', { ...p, plugins: undefined, state: 'exited' } as ProcessInfo);
      }
    }
    if (this.orphans.size === 0 && this.orphanTimer !== undefined) {
      clearInterval(this.orphanTimer);
      this.orphanTimer = undefined;
      this.checkDone();
    }
  }

  /** Resolves once no process is detached; rejects after adoptTimeout naming the missing ones. */
  private async waitForOrphans(): Promise<void> {
    const deadline = Date.now() + this.adoptTimeout * 1000;
    for (;;) {
      this.sweepOrphans();
      if (this.orphans.size === 0) return;
      if (Date.now() >= deadline || this.closed) {
        const missing = [...this.orphans.values()].map((p) => `vpid ${p.vpid} (pid ${p.pid} on ${p.host})`).join(', ');
        throw new AmberError(
          'ECHECKPOINT',
          `processes of the previous coordinator have not reconnected within ${this.adoptTimeout} s: ${missing}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Writes DIR/.amber/state.json soon (coalesced): what a successor needs to re-adopt. The file
   * names every process, so with thousands registering one after the other, writing it 50 times
   * a second would be quadratic work for the coordinator: the delay grows with the computation
   * (20 ms, plus 0.25 ms per process, at most 1 s: 520 ms at 2,000 processes). A process missing
   * from it is not lost: its agent reconnects to a successor with its vpid all the same.
   */
  private saveState(): void {
    if (this.stateTimer !== undefined || this.closed) return;
    this.stateTimer = setTimeout(() => {
      this.stateTimer = undefined;
      void this.writeState();
    }, Math.min(1000, 20 + Math.floor((this.agents.size + this.orphans.size) / 4)));
  }

  private writeState(): Promise<void> {
    const st: SavedState = {
      amber: 1,
      pid: process.pid,
      nextVpid: this.nextVpid,
      processes: [
        // A process that has died (a zombie, or killed by checkpoint --kill) whose connection is
        // not closed yet is not one for a successor to wait for.
        ...[...this.agents.values()]
          .filter((a) => !a.superseded && (a.info.host !== hostname() || running(a.info.pid)))
          .map((a) => ({ ...a.info, plugins: a.plugins })),
        ...this.orphans.values(),
      ],
      kv: Object.fromEntries(this.kv),
    };
    const path = join(this.dir, '.amber', STATE_NAME);
    const tmp = `${path}.${process.pid}.tmp`;
    this.stateWrite = this.stateWrite
      .then(async () => {
        // created anew (O_EXCL|O_NOFOLLOW), never written through whatever has the name
        const fh = await trust.createTemp(tmp, 0o600);
        try {
          await fh.writeFile(JSON.stringify(st) + '\n');
        } finally {
          await fh.close();
        }
      })
      .then(() => rename(tmp, path))
      .catch((e: unknown) => debug('cannot write %s: %s', path, (e as Error).message));
    return this.stateWrite;
  }

  private setKey(key: string, hex: string): void {
    this.kv.set(key, hex);
    this.saveState();
    const waiters = this.kvWaiters.get(key);
    if (waiters !== undefined) {
      this.kvWaiters.delete(key);
      for (const w of waiters) this.send(w, `value ${key} ${hex}`);
    }
  }

  private allocVpid(): number {
    while (this.vpidInUse(this.nextVpid) || this.reservedVpids.has(this.nextVpid)) this.nextVpid++;
    return this.nextVpid++;
  }

  private onHello(sock: net.Socket, msg: AgentMsg): Agent {
    const agent: Agent = {
      id: this.nextAgentId++,
      sock,
      restored: msg['restored'] === true,
      superseded: false,
      parked: false,
      plugins: parsePlugins(msg['plugins']),
      tids: [],
      appPid: typeof msg['apppid'] === 'number' ? msg['apppid'] : typeof msg['pid'] === 'number' ? msg['pid'] : 0,
      info: {
        vpid: 0,
        pid: num(msg['pid']),
        parent: 0,
        host: str(msg['host'], hostname()),
        cmd: str(msg['cmd']),
        state: agent_state(msg),
      },
    };
    const register = (join?: { b: Barrier; ph: Phase }): void => {
      if (sock.destroyed) return;
      const readopted = this.assignVpid(agent, msg);
      this.agents.set(agent.id, agent);
      this.used = true;
      if (agent.restored && this.restartWait !== undefined) this.restartWait.agents.add(agent);
      // After a restart, a process that exec'd (its new agent starts with no map) or a child forked
      // since gets the pid map before its vpid: the agent reads both in its constructor, before
      // the program runs. Restored agents get it when the restart releases them; a re-adopted
      // agent has its map already (ours may still lack processes that have not reconnected).
      if (!agent.restored && !readopted) {
        const map = this.pidMap();
        if (map.length) this.send(agent, `pidmap ${map.join(',')}`);
      }
      // Joining a generation: its lines come before `vpid N`, so the agent suspends the program
      // before it returns to it (a child of a fork loop would otherwise exit first).
      if (join !== undefined) this.joinBarrier(join.b, join.ph, agent);
      this.send(agent, `vpid ${agent.info.vpid}`);
      if (debug.enabled) debug('registered %s: %s', describe(agent), agent.info.cmd);
      this.saveState();
      this.emit('register', { ...agent.info });
    };
    // A process registering during a barrier was not suspended with the others, so it cannot be
    // part of this generation; answering its hello after the barrier keeps it (still inside the
    // agent's constructor) from running user code meanwhile.
    // A process saying hello while the others are still being suspended (a forked child, or a
    // program just exec'd whose previous agent already left the generation) is taken into this
    // generation instead: its parent may be parked waiting for it (waitpid), and with `--kill` a
    // held process would outlive its killed parent and be missing after the restart.
    const b = this.barrier;
    if (b !== undefined && b.phase?.expect === 'suspended' && b.failure === undefined && !agent.restored) {
      register({ b, ph: b.phase });
    } else if (b !== undefined && b.released !== true) this.heldHellos.push(register);
    else register();
    return agent;
  }

  /** A process registered during the suspend phase joins it: suspended and written with the rest. */
  private joinBarrier(b: Barrier, ph: Phase, a: Agent): void {
    debug('%s joins generation %d while it suspends', describe(a), b.gen);
    b.agents.add(a);
    ph.pending.add(a);
    a.info.state = 'suspending';
    this.send(a, `generation ${b.gen} ${b.id}`);
    this.send(a, `suspend ${b.gen}${b.kill === true ? ' end' : ''}`);
  }

  /**
   * Every participant is suspended: the suspend phase ends unless a child of one of them is still
   * between its fork and its hello (its agent forked along, so a hello is coming: in a fork loop
   * there nearly always is one). That child would register only after the barrier, outside the
   * generation: missing after a restart (the parent's waitpid gets ECHILD). Such children are
   * waited for (they join, onHello), up to STARTING_GRACE_MS each.
   */
  private settleSuspend(b: Barrier, ph: Phase): void {
    if (b.phase !== ph || ph.pending.size > 0 || b.settleTimer !== undefined) return;
    const here = hostname();
    const parents = new Set<number>();
    const known = new Set<number>();
    for (const a of b.agents) if (a.info.host === here) parents.add(a.info.pid);
    for (const a of this.agents.values()) if (a.info.host === here) known.add(a.info.pid);
    const now = Date.now();
    const seen = b.starting ?? new Map<string, number>();
    b.starting = seen;
    let wait = false;
    for (const key of parents.size ? unregisteredChildren(parents, known) : []) {
      const first = seen.get(key) ?? now;
      seen.set(key, first);
      if (now - first < STARTING_GRACE_MS) wait = true;
    }
    for (const [key, first] of b.execing ?? []) {
      const [pid, start] = key.split(':');
      if (known.has(Number(pid))) continue;  // registered again (and joined)
      const st = procStat(Number(pid));
      if (st === undefined || st.start !== start || st.state === 'Z' || st.state === 'X') continue;  // ended after all
      if (now - first < STARTING_GRACE_MS) wait = true;
    }
    if (!wait) {
      ph.resolve(ph.results);
      return;
    }
    b.settleTimer = setTimeout(() => {
      b.settleTimer = undefined;
      this.settleSuspend(b, ph);
    }, 10);
  }

  /** Returns true when the agent is re-adopted (a process a previous coordinator registered). */
  private assignVpid(agent: Agent, msg: AgentMsg): boolean {
    const asked = num(msg['vpid']);
    const pid = agent.info.pid;
    const orphan = asked > 0 && !agent.restored ? this.orphans.get(asked) : undefined;
    if (orphan !== undefined && orphan.pid === pid && orphan.host === agent.info.host) {
      // Re-adoption: a process a previous coordinator on this DIR registered reconnects.
      this.orphans.delete(asked);
      agent.info.vpid = asked;
      agent.info.parent = typeof msg['parent'] === 'number' ? msg['parent'] : orphan.parent;
      if (agent.plugins.length === 0 && orphan.plugins !== undefined) agent.plugins = orphan.plugins;
      if (asked >= this.nextVpid) this.nextVpid = asked + 1;
      debug('re-adopted vpid %d (pid %d)', asked, pid);
      return true;
    }
    if (asked > 0) {
      // Same vpid and pid as a live record: the process exec'd and its new agent re-registers.
      for (const old of this.agents.values()) {
        if (!old.superseded && old.info.vpid === asked && old.info.pid === pid && old.info.host === agent.info.host) {
          old.superseded = true;
          this.agents.delete(old.id);
          agent.info.parent = old.info.parent;
          // An exec keeps the process, so its app pid (the agent passes it on too).
          agent.appPid = old.appPid;
          // It exec'd in the middle of a checkpoint: the image it was to write is gone with it.
          const b = this.barrier;
          if (b !== undefined && b.agents.has(old)) {
            b.agents.delete(old);
            if (!b.durable) {
              const e = new AmberError('ECHECKPOINT', `generation ${b.gen} failed: ${describe(old)} exec'd during the checkpoint`, { pid });
              TRANSIENT.add(e);
              this.failBarrier(e);
            } else if (b.phase !== undefined && b.phase.pending.delete(old) && b.phase.pending.size === 0) {
              b.phase.resolve(b.phase.results);
            }
          }
        }
      }
    }
    if (asked > 0 && (agent.restored || !this.vpidInUse(asked))) {
      // A restored process keeps the vpid it was checkpointed with (pid virtualization relies on it).
      if (this.vpidInUse(asked)) {
        this.emitError(new AmberError('EVPID', `restored process pid ${pid} claims vpid ${asked}, which is in use`, { pid }));
      }
      agent.info.vpid = asked;
      this.reservedVpids.delete(asked);
      if (asked >= this.nextVpid) this.nextVpid = asked + 1;
    } else {
      agent.info.vpid = this.allocVpid();
    }
    if (agent.info.parent === 0) agent.info.parent = this.parentOf(agent, msg);
    return false;
  }

  private parentOf(agent: Agent, msg: AgentMsg): number {
    if (typeof msg['parent'] === 'number') return msg['parent'];
    if (agent.restored) {
      const mp: ManifestProcess | undefined = this.restartWait?.manifest?.processes.find((p) => p.vpid === agent.info.vpid);
      if (mp !== undefined) return mp.parent;
    }
    const ppid = num(msg['ppid']);
    for (const a of this.agents.values()) {
      if (a !== agent && !a.superseded && a.info.pid === ppid && a.info.host === agent.info.host) return a.info.vpid;
    }
    return 0;
  }

  private onAgentMsg(a: Agent, msg: AgentMsg): void {
    if (debug.enabled) debug('<- %s: %j', describe(a), msg);
    const gen = num(msg.gen, -1);
    switch (msg.t) {
      case 'captured': {
        // Forked checkpoint: everything but the memory is captured and a forked copy writes the
        // image; `written` follows from that writer (on this same connection).
        const b = this.barrier;
        if (b === undefined || b.forked !== true || gen !== b.gen || b.phase?.expect !== 'written' || !b.phase.pending.has(a)) {
          debug('ignoring stale captured (gen %d) from %s', gen, describe(a));
          return;
        }
        const pid = num(msg['writer']);
        if (pid > 0 && a.info.host === hostname()) {
          const st = procStat(pid);
          // (gone already: it may have written and exited; its `written` is on the way)
          if (st !== undefined) b.writers?.set(a, { pid, start: st.start, deadSeen: false });
        }
        this.markCaptured(b, a);
        return;
      }
      case 'suspended':
      case 'written':
      case 'resumed': {
        if (msg.t === 'resumed' && gen === 0 && a.restored) {
          this.onRestoredResumed(a);
          return;
        }
        const b = this.barrier;
        const ph = b?.phase;
        if (msg.t === 'resumed' && b !== undefined && b.released === true && gen === b.gen) {
          // Forked: resumed before the images are durable; the write phase goes on.
          if (a.info.state === 'resuming') a.info.state = 'writing';
          return;
        }
        if (b === undefined || ph === undefined || gen !== b.gen || ph.expect !== msg.t || !ph.pending.has(a)) {
          debug('ignoring stale %s (gen %d) from %s', msg.t, gen, describe(a));
          return;
        }
        a.info.state = msg.t === 'resumed' ? 'running' : (msg.t as 'suspended' | 'written');
        ph.pending.delete(a);
        ph.results.set(a, msg);
        if (msg.t === 'written') {
          b.bytes += num(msg['bytes']);
          b.writers?.delete(a);
          // (a process that could not fork wrote its image stopped: captured too)
          if (b.forked === true) this.markCaptured(b, a);
        }
        this.progress(b, ph);
        if (ph.pending.size === 0) {
          if (ph.expect === 'suspended') this.settleSuspend(b, ph);
          else ph.resolve(ph.results);
        }
        return;
      }
      case 'conn':
        this.giveConnection(a);
        return;
      case 'error': {
        const b = this.barrier;
        const text = `${describe(a)}: ${str(msg['message'], 'unspecified error')}`;
        if (b !== undefined && gen === b.gen && b.agents.has(a)) {
          if (!b.durable) {
            this.failBarrier(new AmberError('ECHECKPOINT', `generation ${b.gen} failed: ${text}`, { pid: a.info.pid }));
          } else {
            // After the manifest is durable the generation stands; the error is news, not failure.
            this.emitError(new AmberError('ERESUME', `generation ${b.gen}: ${text}`, { pid: a.info.pid }));
            const ph = b.phase;
            if (ph !== undefined && ph.pending.delete(a) && ph.pending.size === 0) ph.resolve(ph.results);
          }
        } else if (a.restored && this.restartWait !== undefined && this.restartWait.agents.has(a)) {
          this.failRestart(new AmberError('ERESTART', `restart failed: ${text}`, { pid: a.info.pid }));
        } else {
          this.emitError(new AmberError('EAGENT', text, { pid: a.info.pid }));
        }
        return;
      }
      case 'restarted': {
        a.parked = true;
        a.info.state = 'restarting';
        if (typeof msg['pid'] === 'number') a.info.pid = msg['pid'];
        if (this.restartWait === undefined) {
          // Nobody announced a restart (a restorer run by hand): release it at once.
          this.send(a, 'resume 0');
          a.info.state = 'resuming';
        } else {
          this.restartWait.agents.add(a);
          this.maybeReleaseRestart();
        }
        return;
      }
      case 'tids': {
        // "APP:REAL,..." (before `restarted`); anything malformed is dropped, not half-taken
        const pairs = str(msg['map']).split(',').map((p) => p.split(':').map(Number));
        if (pairs.every((p) => p.length === 2 && p.every((v) => Number.isInteger(v) && v > 0 && v <= 0x7fffffff)))
          a.tids.push(...pairs.map(([x, y]) => [x!, y!] as [number, number]));
        return;
      }
      case 'event': {
        this.emit('plugin', { vpid: a.info.vpid, pid: a.info.pid, plugin: str(msg['plugin']), name: str(msg['name']), data: str(msg['data']) });
        return;
      }
      case 'plugins': {
        a.plugins = parsePlugins(msg['plugins']);
        this.saveState();
        return;
      }
      case 'publish': {
        const key = str(msg['key']);
        const value = str(msg['value']);
        if (!KEY_RE.test(key) || !HEX_RE.test(value)) {
          this.emitError(new AmberError('EPROTO', `${describe(a)}: bad publish (key ${JSON.stringify(key.slice(0, 80))}; the value must be hex)`, { pid: a.info.pid }));
          return;
        }
        this.setKey(key, value.toLowerCase());
        return;
      }
      case 'lookup': {
        const key = str(msg['key']);
        if (!KEY_RE.test(key)) {
          this.send(a, `novalue ${key.replace(/\s/g, '_').slice(0, 256) || '_'}`);
          return;
        }
        const v = this.kv.get(key);
        if (v !== undefined) this.send(a, `value ${key} ${v}`);
        else if (msg['wait'] === true) {
          let set = this.kvWaiters.get(key);
          if (set === undefined) this.kvWaiters.set(key, (set = new Set()));
          set.add(a);
        } else this.send(a, `novalue ${key}`);
        return;
      }
      default:
        debug('unknown message %s from %s', msg.t, describe(a));
    }
  }

  private onAgentClose(a: Agent): void {
    this.agentGone(a);
    // The last process of the computation may just have gone.
    this.checkDone();
  }

  private agentGone(a: Agent): void {
    for (const [k, set] of this.kvWaiters) if (set.delete(a) && set.size === 0) this.kvWaiters.delete(k);
    // Closing the coordinator cuts agents that keep running: they are not exits, and the saved
    // state must keep them for a successor to re-adopt.
    if (a.superseded || this.closed) return;
    const wasRegistered = this.agents.delete(a.id);
    // A hello still held by a barrier never registered; dropping it is enough.
    if (!wasRegistered) return;
    a.info.state = 'exited';
    debug('%s disconnected', describe(a));
    this.saveState();
    const b = this.barrier;
    if (b !== undefined && b.agents.has(a)) {
      b.agents.delete(a);
      const ph = b.phase;
      if (!b.durable && a.info.parent !== 0 && ph?.expect === 'suspended' && ph.pending.delete(a)) {
        // It exited before it was suspended: the generation is taken as if it had exited just
        // before (a child of a fork loop does, all the time; failing would fail every retry too).
        // Once suspended, a process that goes away was killed while parked: that fails below.
        // Or it exec'd (its process lives on: a shell's child running `seq` as the suspend came):
        // the new program registers again and joins, and until it does the phase is not over —
        // else it runs on outside the generation, and a restart has its parent wait for a child
        // that is not there (a pipeline lost a command's output).
        const st = a.info.host === hostname() && a.info.pid > 0 ? procStat(a.info.pid) : undefined;
        if (st !== undefined && st.state !== 'Z' && st.state !== 'X') {
          b.execing ??= new Map();
          b.execing.set(`${a.info.pid}:${st.start}`, Date.now());
          debug('%s left before it was suspended and lives on (exec): waiting for its hello', describe(a));
        } else debug('%s exited before it was suspended; generation %d goes on without it', describe(a), b.gen);
        if (ph.pending.size === 0) this.settleSuspend(b, ph);
      } else if (!b.durable && b.released === true && ph?.expect === 'written' && ph.results.has(a)) {
        // Forked: resumed at `captured`, the program may end before the others' images are
        // durable; its own image is (its writer held the connection until it said `written`).
        debug('%s exited after its image was written; generation %d goes on', describe(a), b.gen);
      } else if (!b.durable) {
        const e = new AmberError('ECHECKPOINT', `generation ${b.gen} failed: ${describe(a)} disconnected during the checkpoint`, {
          pid: a.info.pid,
        });
        // A child process of the computation that finished (a shell's command) is taken again
        // without it; a process launched by the user dying fails the generation for good.
        if (a.info.parent !== 0 && this.vpidInUse(a.info.parent)) TRANSIENT.add(e);
        this.failBarrier(e);
      } else if (b.phase !== undefined && b.phase.pending.delete(a) && b.phase.pending.size === 0) {
        b.phase.resolve(b.phase.results);
      }
    }
    const w = this.restartWait;
    if (w !== undefined && w.released && w.agents.has(a) && !w.resumed.has(a)) {
      // Released but gone before its `resumed` arrived: the app ran and exited at once. That is
      // the application's business (its exit status tells), not a failed restart.
      this.emit('exit', { ...a.info });
      this.onRestoredResumed(a);
      return;
    }
    if (w !== undefined && w.agents.has(a) && !w.resumed.has(a)) {
      this.failRestart(new AmberError('ERESTART', `restart failed: restored ${describe(a)} exited before resuming`, { pid: a.info.pid }));
    }
    this.emit('exit', { ...a.info });
  }

  // ---------------------------------------------------------------------------------------------
  // control clients

  private async onControl(sock: net.Socket, msg: AgentMsg): Promise<void> {
    const op = msg['op'];
    try {
      if (op === 'status') {
        this.answer(sock, this.status());
      } else if (op === 'checkpoint') {
        // progress:true (v1.1 extension): progress lines `{"progress":{...}}` precede the answer.
        const onProgress = (p: ProgressEvent): void => {
          if (!sock.destroyed && !sock.writableEnded) sock.write(JSON.stringify({ progress: p }) + '\n');
        };
        if (msg['progress'] === true) this.on('progress', onProgress);
        try {
          const r = await this.checkpoint({ kill: msg['kill'] === true, forked: msg['forked'] === true, ...(typeof msg['timeout'] === 'number' ? { timeout: msg['timeout'] } : {}) });
          this.answer(sock, { ok: true, ...r });
        } finally {
          this.off('progress', onProgress);
        }
      } else if (op === 'plugins') {
        this.answer(sock, { ok: true, ...this.plugins() });
      } else if (op === 'hold') {
        this.holdFor(sock);
      } else if (op === 'restart') {
        // Extension of PROTOCOL.md: lets `amber restart` use a coordinator running elsewhere.
        const before = this.restartWait;
        const copy = typeof msg['copy'] === 'number' && Number.isInteger(msg['copy']) && msg['copy'] > 0 ? msg['copy'] : undefined;
        const waiting = this.expectRestart(num(msg['count']), {
          ...(typeof msg['timeout'] === 'number' ? { timeout: msg['timeout'] } : {}),
          ...(copy !== undefined ? { copy } : {}),
        });
        const mine = this.restartWait !== before ? this.restartWait : undefined;
        // The restart that announced it went away (it failed, or was killed): nobody is coming.
        const gone = (): void => {
          if (mine !== undefined && this.restartWait === mine) this.failRestart(new AmberError('ERESTART', 'restart cancelled: the restart that announced it went away'));
        };
        sock.once('close', gone);
        try {
          const r = await waiting;
          this.answer(sock, { ok: true, ...r });
        } finally {
          sock.off('close', gone);
        }
      } else {
        this.answer(sock, { ok: false, code: 'EPROTO', message: `unknown control op ${JSON.stringify(op)}` });
      }
    } catch (e) {
      const ae = toAmberError(e);
      this.answer(sock, { ok: false, code: ae.code, message: ae.message });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // checkpoint barrier

  private scheduleInterval(): void {
    if (!(this.intervalSec > 0) || this.closed) return;
    this.intervalTimer = setTimeout(() => {
      // An interval tick never queues behind a running checkpoint, and skips an empty computation.
      if (this.busy === 0 && this.barrier === undefined && this.processes().some((p) => p.state === 'running')) {
        this.checkpoint().then(
          (r) => debug('interval checkpoint %d done', r.generation),
          (e: unknown) => this.emitError(toAmberError(e)),
        ).finally(() => this.scheduleInterval());
      } else {
        this.scheduleInterval();
      }
    }, this.intervalSec * 1000);
    this.intervalTimer.unref();
  }

  private async nextGeneration(): Promise<number> {
    const g = Math.max(this.lastGen, await highestGeneration(this.dir)) + 1;
    this.lastGen = g;
    return g;
  }

  /** Sends `line(a)` to every participant and waits for each to answer `expect`. */
  private phase(
    b: Barrier,
    expect: PhaseName,
    line: (a: Agent) => string,
    timeoutSec: number,
    failOnLoss: boolean,
    send: (a: Agent, line: string) => void = (a, l) => this.send(a, l),
  ): Promise<Map<Agent, AgentMsg>> {
    return new Promise((res, rej) => {
      let timer: NodeJS.Timeout | undefined;
      let stopWatch: NodeJS.Timeout | undefined;
      const done = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        if (stopWatch !== undefined) clearInterval(stopWatch);
        if (b.phase === ph) b.phase = undefined;
      };
      const ph: Phase = {
        expect,
        pending: new Set(b.agents),
        results: new Map(),
        failOnLoss,
        resolve: (r) => {
          done();
          res(r);
        },
        reject: (e) => {
          done();
          rej(e);
        },
      };
      if (b.failure !== undefined) {
        rej(b.failure);
        return;
      }
      b.phase = ph;
      this.progress(b, ph);
      for (const a of b.agents) send(a, line(a));
      if (ph.pending.size === 0) {
        ph.resolve(ph.results);
        return;
      }
      if (expect === 'suspended') {
        // A stopped process (SIGSTOP, job control, a tracer) runs nothing, its agent included: it
        // cannot answer by itself. One whose parent is a process of the computation is continued
        // for the checkpoint by its parent's agent, once that one is suspended, and stops again
        // before the parent resumes: nobody sees it (proc/stopped.agent.cc). Any other is named
        // within seconds rather than at the end of the timeout: the launched program stopped from
        // outside (nothing in the computation can take back the stop report its parent would
        // see), one stopped by a tracer, or one its parent's agent did not continue.
        const since = new Map<Agent, number>();
        stopWatch = setInterval(() => {
          for (const a of ph.pending) {
            const { state: st, ppid } = (a.info.host === hostname() && a.info.pid > 0 ? procStat(a.info.pid) : undefined) ?? { state: '', ppid: 0 };
            if (st !== 'T' && st !== 't') {
              since.delete(a);
              continue;
            }
            const t0 = since.get(a) ?? Date.now();
            since.set(a, t0);
            const parent = st === 'T' ? [...b.agents].find((p) => p !== a && p.info.pid === ppid && p.info.host === a.info.host) : undefined;
            // (a parent of the computation continues it as soon as it is suspended itself: it gets
            // longer, counted from then, in case the parent is slow to suspend)
            const grace = parent === undefined ? 3000 : ph.pending.has(parent) ? Infinity : 10000;
            if (parent !== undefined && ph.pending.has(parent)) since.delete(a);
            if (Date.now() - t0 < grace) continue;
            const why =
              st === 't'
                ? 'by a tracer'
                : parent === undefined
                  ? `SIGSTOP or job control; its parent (pid ${ppid}) is not a process of the computation, so the stop cannot be carried through a checkpoint unseen`
                  : `SIGSTOP or job control; its parent ${describe(parent)} did not continue it for the checkpoint`;
            ph.reject(
              new AmberError(
                'ECHECKPOINT',
                `generation ${b.gen} failed: ${describe(a)} is stopped (${why}) and cannot run its checkpoint` +
                  (st === 'T' ? `; continue it (kill -CONT ${a.info.pid}) and checkpoint again` : ''),
              ),
            );
            return;
          }
        }, 250);
        stopWatch.unref();
      }
      timer = setTimeout(() => {
        const late = [...ph.pending].map(describe).join(', ');
        ph.reject(
          new AmberError('ECHECKPOINT', `generation ${b.gen} failed: no '${expect}' within ${timeoutSec} s from ${late}`),
        );
      }, timeoutSec * 1000);
    });
  }

  private progress(b: Barrier, ph: Phase): void {
    if (this.listenerCount('progress') === 0) return;
    const phase = ph.expect === 'suspended' ? 'suspend' : ph.expect === 'written' ? 'write' : 'resume';
    const total = ph.pending.size + ph.results.size;
    this.emit('progress', {
      generation: b.gen,
      phase,
      done: ph.results.size,
      total,
      bytes: b.bytes,
      seconds: Number(process.hrtime.bigint() - b.t0) / 1e9,
    });
  }

  /**
   * Descriptors that are one open file description (dup'ed, or inherited over fork), found while
   * the processes are still frozen: the restart gives each group one shared offset. Only this
   * host's processes can be compared (kcmp); a failure to compare loses sharing, not the
   * checkpoint, so it is logged and the generation goes on.
   */
  private async sharedDescriptors(agents: Agent[], genDir: string | undefined): Promise<SharedDescriptor[][]> {
    const local = agents.filter((a) => a.info.host === hostname() && a.info.pid > 0);
    if (local.length === 0) return [];
    let sharedFiles;
    try {
      sharedFiles = addon().sharedFiles;
    } catch (e) {
      debug('no addon to find shared descriptors: %s', (e as Error).message);
      return [];
    }
    if (typeof sharedFiles !== 'function') return [];
    try {
      const r = await sharedFiles(local.map((a) => ({ pid: a.info.pid, image: genDir === undefined ? '' : join(genDir, imageName(a.info.vpid)) })));
      if (r.uncompared) debug('%d descriptor pairs could not be compared (kcmp)', r.uncompared);
      return r.groups.map((g) => g.map((d) => ({ vpid: local[d.index]!.info.vpid, fd: d.fd })));
    } catch (e) {
      debug('cannot find shared descriptors: %s', (e as Error).message);
      return [];
    }
  }

  /** Deletes generation directories older than the last `keep` durable ones. */
  private async prune(current: number): Promise<void> {
    if (this.keep <= 0) return;
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return;
    }
    const gens = names
      .map((n) => parseGenDirName(n))
      .filter((g): g is number => g !== undefined && g < current)
      .sort((x, y) => y - x);
    let kept = 1; // the current generation
    for (const g of gens) {
      const gdir = join(this.dir, genDirName(g));
      const complete = await stat(join(gdir, MANIFEST_NAME)).then(
        () => true,
        () => false,
      );
      if (complete && kept < this.keep) {
        kept++;
        continue;
      }
      if (!(await trust.removableGeneration(gdir))) continue; // not provably ours: left alone
      debug('--keep %d: removing %s', this.keep, gdir);
      await rm(gdir, { recursive: true, force: true }).catch((e: unknown) => this.emitError(toAmberError(e, 'EPRUNE')));
    }
  }

  /** Fails the running generation (if not yet durable). */
  /** Forked: a participant's image content is fixed; the last one lets the processes run on. */
  private markCaptured(b: Barrier, a: Agent): void {
    if (b.captured === undefined || b.captured.has(a)) return;
    b.captured.add(a);
    if ([...b.agents].every((x) => b.captured!.has(x))) b.onCaptured?.();
  }

  /**
   * Forked: a writer that dies (killed, out of memory) says nothing; its process, which runs on,
   * holds the connection open. Each writer on this host is looked at (pid and start time, so a
   * reused pid is not taken for it); one gone without its `written` fails the generation with its
   * name. Gone at two looks in a row: its last line may still be on its way to us.
   */
  private watchWriters(b: Barrier): NodeJS.Timeout {
    const t = setInterval(() => {
      for (const [a, w] of b.writers ?? []) {
        const st = procStat(w.pid);
        const alive = st !== undefined && st.start === w.start && st.state !== 'Z' && st.state !== 'X';
        if (alive) {
          w.deadSeen = false;
          continue;
        }
        if (!w.deadSeen) {
          w.deadSeen = true;
          continue;
        }
        b.writers?.delete(a);
        this.failBarrier(
          new AmberError(
            'ECHECKPOINT',
            `generation ${b.gen} failed: the forked image writer (pid ${w.pid}) of ${describe(a)} died before its image was durable`,
            { pid: a.info.pid },
          ),
        );
        return;
      }
    }, 250);
    t.unref();
    return t;
  }

  private failBarrier(e: AmberError): void {
    const b = this.barrier;
    if (b === undefined || b.durable) {
      if (b?.phase !== undefined) b.phase.reject(e);
      return;
    }
    if (b.failure === undefined) b.failure = e;
    b.phase?.reject(e);
  }

  /**
   * A generation that failed only because a process left in the middle of it — it exited, or it
   * exec'd (a shell script does both all the time) — is taken again, a few times: the set of
   * processes is different the next time round, and nothing durable changed.
   */
  private async runCheckpointRetrying(opts: CheckpointOptions): Promise<CheckpointResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.runCheckpoint(opts);
      } catch (e) {
        if (!(e instanceof AmberError) || !TRANSIENT.has(e) || attempt >= 4 || this.closed) throw e;
        debug('generation failed because a process left mid-checkpoint (%s); again (attempt %d)', e.message, attempt + 1);
        await new Promise((r) => setTimeout(r, 20 * attempt));
      }
    }
  }

  private async runCheckpoint(opts: CheckpointOptions): Promise<CheckpointResult> {
    if (this.closed) throw new AmberError('ECHECKPOINT', 'the coordinator is closed');
    // A checkpoint asked for while a restart is still bringing the processes back (a job script's
    // `amber restart &` then `amber checkpoint`) waits for it to resume, as long as a phase may.
    const restarting = () => this.restartWait !== undefined || [...this.agents.values()].some((a) => a.parked || a.info.state === 'restarting');
    const busyUntil = Date.now() + (opts.timeout ?? this.timeout) * 1000;
    while (restarting() && !this.closed && Date.now() < busyUntil) await new Promise((r) => setTimeout(r, 50));
    if (this.closed) throw new AmberError('ECHECKPOINT', 'the coordinator is closed');
    if (restarting()) {
      throw new AmberError('EBUSY', 'a restart is in progress and has not resumed; checkpoint once it has');
    }
    // After a coordinator restart, a generation without the processes still reconnecting would
    // be a generation that cannot be restarted: wait for them (or fail).
    if (this.orphans.size > 0) await this.waitForOrphans();
    // A checkpoint asked for right after a launch (a JVM still loading its libraries): the program
    // runs but its agent has not said hello yet. Wait for it (bounded by the same grace a
    // starting process gets) rather than say there is nothing to checkpoint.
    const registered = () => [...this.agents.values()].some((a) => !a.superseded);
    while (!registered() && !this.closed && this.anyStarting()) await new Promise((r) => setTimeout(r, 50));
    if (!registered()) {
      throw new AmberError('ENOPROC', `no processes are registered with the coordinator at ${this.socketPath}`);
    }
    // Each phase's bound: the one asked for, else the coordinator's. The default one is raised
    // for a large computation, whose processes all write at once on a few cores (2000 processes
    // on 2 cores take about 100 s as root): a second per 10 processes. A bound the user gave is
    // kept as given.
    const count = [...this.agents.values()].filter((a) => !a.superseded).length;
    const timeoutSec = opts.timeout ?? (this.timeoutGiven ? this.timeout : Math.max(this.timeout, Math.ceil(count / 10)));
    const gen = await this.nextGeneration();
    const genDir = join(this.dir, genDirName(gen));
    // A new directory (EEXIST if anything has the name): the agents create their images in it.
    // Made before anything is suspended: on a busy filesystem a create can wait seconds on its
    // journal, and no program should be stopped meanwhile. And made before the barrier is set: a
    // hello arriving while it is set but not yet suspending is held to its end, and the suspend
    // phase then waits STARTING_GRACE_MS for that child (a fork loop's checkpoints took 10 s).
    await mkdir(genDir, { mode: 0o700 }).catch((e: unknown) => {
      const f = trust.fsFailure(e, 'create', genDir);
      throw new AmberError('ECHECKPOINT', `generation ${gen} failed: ${f.message}`, { cause: f });
    });
    // The participants are taken with the barrier set, in one turn of the event loop: an agent
    // that disconnects during an await before it (a short-lived child of a fork loop) would be
    // waited for by a barrier that never hears of its exit (agentGone only looks at this.barrier).
    const participants = [...this.agents.values()].filter((a) => !a.superseded && !a.sock.destroyed);
    if (participants.length === 0) {
      await rm(genDir, { recursive: true, force: true }).catch(() => undefined);
      throw new AmberError('ENOPROC', `no processes are registered with the coordinator at ${this.socketPath}`);
    }
    const t0 = process.hrtime.bigint();
    const id = randomBytes(16).toString('hex');
    const b: Barrier = { gen, id, agents: new Set(participants), phase: undefined, failure: undefined, durable: false, t0, bytes: 0, kill: opts.kill === true };
    // --kill ends the computation at the checkpoint: nothing runs on, so nothing to fork for.
    if (opts.forked === true && opts.kill !== true) {
      b.forked = true;
      b.captured = new Set();
      b.writers = new Map();
    }
    let writerWatch: NodeJS.Timeout | undefined;
    let shares: SharedDescriptor[][] | undefined;
    this.barrier = b;
    debug('generation %d: %d processes', gen, participants.length);
    try {
      let written: Map<Agent, AgentMsg>;
      // (the kernel's credentials of processes whose image file we made: the manifest binds them)
      let creds = new Map<Agent, string>();
      try {
        for (const a of b.agents) a.info.state = 'suspending';
        // `generation G ID` first: the id the agents write into their images' headers.
        for (const a of b.agents) this.send(a, `generation ${gen} ${id}`);
        // " end": the computation ends after this checkpoint, so agents may capture what the
        // program would otherwise still see (a listener's not-yet-accepted connections).
        await this.phase(b, 'suspended', () => `suspend ${gen}${opts.kill === true ? ' end' : ''}`, timeoutSec, true);
        this.emit('suspend', { generation: gen, processes: b.agents.size });

        for (const a of b.agents) a.info.state = 'writing';
        // Agents on this host leave durability to one syncfs of the generation's filesystem once
        // every image is written (`nosync`, PROTOCOL.md): thousands of per-image fsyncs are most
        // of a large checkpoint. Agents elsewhere (our syncfs does not reach their page cache)
        // fsync their own, as does everyone when the addon cannot syncfs.
        const syncFs = addonSyncFs();
        const here = hostname();
        const batched = (a: Agent): boolean => syncFs !== undefined && a.info.host === here;
        // A process that switched to another user after launch (setuid, issue 10) cannot create a
        // file in our directory: its image file is created here and passed with `write`.
        const made = await this.imageFilesFor(b, genDir);
        const handed = made.files;
        creds = made.creds;
        try {
          const capturedAll = b.forked === true ? new Promise<void>((res) => (b.onCaptured = res)) : undefined;
          const writing = this.phase(
            b,
            'written',
            (a) =>
              `${b.forked === true ? `forked ${gen}\n` : ''}${batched(a) ? `nosync ${gen}\n` : ''}write ${gen} ${join(genDir, imageName(a.info.vpid))}`,
            timeoutSec,
            true,
            (a, line) => this.sendImageFile(a, line, handed.get(a)),
          );
          if (capturedAll !== undefined) {
            writing.catch(() => undefined);  // (awaited below; a failure before capture ends the race)
            await Promise.race([capturedAll, writing]);
            // Every image's content is fixed: what is left is the forked writers'. Descriptor
            // sharing is read now, while the processes are still frozen; then they run on.
            // (their live descriptors: the images are not written yet, see addon/shares.cc)
            shares = await this.sharedDescriptors([...b.agents], undefined);
            if (b.failure !== undefined) throw b.failure;
            b.released = true;
            for (const a of b.agents) {
              a.info.state = 'resuming';
              this.send(a, `resume ${gen}`);
            }
            this.emit('resume', { generation: gen, processes: b.agents.size });
            const held = this.heldHellos;
            this.heldHellos = [];
            for (const h of held) h();
            writerWatch = this.watchWriters(b);
          }
          written = await writing;
        } finally {
          if (writerWatch !== undefined) clearInterval(writerWatch);
          for (const fh of handed.values()) await fh.close().catch(() => undefined);
        }
        // ... and named here, where that process may not rename.
        for (const a of handed.keys()) {
          const path = join(genDir, imageName(a.info.vpid));
          await rename(`${path}.tmp`, path).catch((e: unknown) => {
            throw trust.fsFailure(e, 'rename', `${path}.tmp`);
          });
        }
        if (syncFs !== undefined && ([...b.agents].some(batched) || handed.size > 0)) await syncFs(genDir);
        else if (handed.size > 0) await syncDir(genDir);
      } catch (e) {
        throw await this.abortGeneration(b, genDir, e);
      }

      // Every image is durable (the agents fsync'ed file and directory): now the manifest, then
      // the `latest` flip, each atomic, so a crash at any point leaves `latest` at a whole generation.
      let result: CheckpointResult;
      try {
        const procs: ManifestProcess[] = [];
        const images: string[] = [];
        const warnings: string[] = [];
        let total = 0;
        const sorted = [...written].sort(([x], [y]) => x.info.vpid - y.info.vpid);
        // What binds each image to this generation (issue 12): an agent that wrote the id into
        // the image's header says so (`written` carries it); its header (id, vpid, program) and
        // trailer (checksum, size) are then read, without following links, for the manifest.
        // Other images (a stand-in agent, or no addon) are only stat'ed, and the manifest stays
        // unbound, as before.
        const seal = bindingReader();
        const seals = sorted.map(([a, m]) => {
          if (m['id'] === undefined || seal === undefined) return undefined;
          if (m['id'] !== b.id) {
            throw new AmberError('ECHECKPOINT', `generation ${gen} failed: ${describe(a)} wrote its image for generation id ${str(m['id'])}, not ${b.id}`);
          }
          return this.sealOf(b, a, join(genDir, imageName(a.info.vpid)), seal);
        });
        const bound = seals.length > 0 && seals.every((x) => x !== undefined);
        // Stat the others in parallel (bounded): with thousands of processes, one at a time is
        // most of the barrier.
        const stats: Array<Stats | undefined> = [];
        for (let i = 0; i < sorted.length; i += 256) {
          const part = sorted
            .slice(i, i + 256)
            .map(([a], k) => (seals[i + k] !== undefined ? undefined : stat(join(genDir, imageName(a.info.vpid))).catch(() => undefined)));
          stats.push(...(await Promise.all(part)));
        }
        // A process whose first parent exited was adopted by a subreaper of the computation
        // (PR_SET_CHILD_SUBREAPER): its kernel parent, named in `written`, is the one it is
        // restored under.
        for (const [a, m] of sorted) {
          const ppid = m['ppid'];
          if (typeof ppid !== 'number' || ppid <= 0) continue;
          const adopter = sorted.find(([o]) => o !== a && o.info.pid === ppid && o.info.host === a.info.host);
          if (adopter !== undefined && adopter[0].info.vpid !== a.info.parent) {
            const [o] = adopter;
            const known = sorted.some(([x]) => x.info.vpid === a.info.parent);
            if (!known) a.info.parent = o.info.vpid;
          }
        }
        // Processes on several hosts (srun amber job across nodes): a connection between two of
        // them is one its agents call lost (a peer off their host), but the restart rebuilds it.
        // The images are all in genDir (a file system every node reaches: their seals were read).
        // Read only when some agent named such a connection (every image, at 1,000 nodes).
        let acrossHosts: Map<string, number> | undefined;
        const peerOff = (u: unknown) => typeof u === 'string' && /^fd \d+ socket:\[\d+\]: its peer is outside the computation/.test(u);
        if (sorted.some(([a]) => a.info.host !== hostname()) && sorted.some(([, m]) => Array.isArray(m['unrestorable']) && (m['unrestorable'] as unknown[]).some(peerOff))) {
          try {
            acrossHosts = pairedAcrossHosts(sorted.map(([a]) => ({ path: join(genDir, imageName(a.info.vpid)), host: a.info.host })));
          } catch (e) {
            debug('cannot pair connections between hosts: %s', (e as Error).message);
          }
        }
        for (const [i, [a, m]] of sorted.entries()) {
          const name = imageName(a.info.vpid);
          const path = join(genDir, name);
          if (typeof m['image'] === 'string' && resolve(m['image']) !== path) {
            debug('%s reports image %s, expected %s', describe(a), m['image'], path);
          }
          const sl = seals[i];
          const st = stats[i];
          if (sl === undefined && (st === undefined || !st.isFile())) {
            throw new AmberError('ECHECKPOINT', `generation ${gen} failed: ${describe(a)} reported written but ${path} does not exist`, {
              path,
            });
          }
          const bytes = sl !== undefined ? sl.fileSize : typeof m['bytes'] === 'number' ? m['bytes'] : (st?.size ?? 0);
          // Descriptors the restart cannot rebuild (a socket to a peer outside the computation...):
          // said now, at checkpoint, by name — they come back closed-like (/dev/null).
          if (Array.isArray(m['unrestorable'])) {
            // "fd N PATH" (becomes /dev/null), a whole sentence for state that is not a descriptor
            // ("SysV shared memory segment N: ..."), or, for sockets, "fd N socket:[INO]: what is lost
            // and what the descriptor is at restart" ("in flight socket:[INO]: ..." for one inside
            // another socket's queue).
            for (const u of m['unrestorable']) {
              if (typeof u !== 'string') continue;
              const remote = /^fd (\d+) socket:\[\d+\]: its peer is outside the computation/.exec(u);
              const sndq = remote !== null ? acrossHosts?.get(`${path}\0${remote[1]}`) : undefined;
              if (sndq !== undefined) {
                // Its other end drained what our send queue held only at a checkpoint that ends
                // the computation (fd/socket.cc); from a live one those bytes cannot be saved.
                if (b.kill !== true && sndq > 0) {
                  warnings.push(
                    `${describe(a)}: fd ${remote![1]}: ${sndq} bytes in its send queue to a process on another node cannot be saved without CAP_NET_ADMIN (TCP_REPAIR); a restart from this generation rebuilds the connection without them (a checkpoint that ends the computation, as at a requeue, keeps them)`,
                  );
                }
                continue;
              }
              // Whole sentences too: a socket's, and state that is not a descriptor (a SysV segment).
              if (/^(fd \d+|in flight) socket:\[\d+\]: /.test(u) || !/^fd \d+ /.test(u)) warnings.push(`${describe(a)}: ${u}`);
              else warnings.push(`${describe(a)}: ${u} will not be restored (it becomes /dev/null at restart)`);
            }
          }
          // What the restart rebuilds with a stated limit (queued inotify events, a lock on a
          // pipe...): each entry is a whole sentence naming the descriptor.
          if (Array.isArray(m['limits'])) {
            for (const u of m['limits']) if (typeof u === 'string') warnings.push(`${describe(a)}: ${u}`);
          }
          total += bytes;
          images.push(path);
          procs.push({
            vpid: a.info.vpid,
            pid: a.info.pid,
            parent: a.info.parent,
            host: a.info.host,
            cmd: a.info.cmd,
            image: name,
            bytes,
            ...(sl !== undefined ? { xxh: sl.imageXxh, ...(sl.programXxh !== undefined ? { program: sl.programXxh } : {}) } : {}),
            ...(creds.has(a) ? { creds: creds.get(a)! } : {}),
          });
        }
        if (b.failure !== undefined) throw b.failure;
        // Connections whose other end is in no image: said now (fd/socket.cc rebuilds them dead).
        // Only when every image is here to look at (a peer may be on another host's image).
        if (sorted.every(([a]) => a.info.host === hostname())) {
          try {
            warnings.push(...unpairedSocketWarnings(sorted.map(([a]) => ({ path: join(genDir, imageName(a.info.vpid)), label: describe(a) }))));
          } catch (e) {
            debug('cannot look for unpaired connections: %s', (e as Error).message);
          }
        }
        if (shares === undefined) shares = await this.sharedDescriptors(sorted.map(([a]) => a), genDir);
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        const manifest: Manifest = {
          amber: 1,
          generation: gen,
          time: new Date().toISOString(),
          dir: this.dir,
          ...(bound ? { id } : {}),
          processes: procs,
          bytes: total,
          seconds,
          ...(shares.length ? { shares } : {}),
        };
        const manifestPath = join(genDir, MANIFEST_NAME);
        await writeFileDurable(manifestPath, JSON.stringify(manifest, null, 2) + '\n', 0o600).catch((e: unknown) => {
          throw trust.fsFailure(e, 'write the manifest', manifestPath);
        });
        if (b.failure !== undefined) throw b.failure;
        await this.flipLatest(genDir).catch((e: unknown) => {
          throw trust.fsFailure(e, 'update', join(this.dir, 'latest'));
        });
        b.durable = true;
        this.durableGen = gen;
        result = { generation: gen, manifest: manifestPath, images, bytes: total, seconds, ...(warnings.length ? { warnings } : {}) };
      } catch (e) {
        if (!b.durable) throw await this.abortGeneration(b, genDir, e);
        throw e;
      }
      this.emit('checkpoint', result);

      if (b.released === true) {
        // Forked: the processes were resumed when their images' content was fixed.
      } else if (opts.kill === true) {
        // Pruning first: once the processes die, a launch that owns this coordinator closes it,
        // and the answer must not wait behind the deletions (it would be cut).
        await this.prune(gen);
        // No resume: the processes die parked, so nothing they do after the checkpoint is visible.
        for (const a of b.agents) this.killAgent(a);
      } else {
        for (const a of b.agents) a.info.state = 'resuming';
        try {
          await this.phase(b, 'resumed', () => `resume ${gen}`, timeoutSec, false);
        } catch (e) {
          // The generation is durable; a slow resume is reported but does not undo it.
          this.emitError(toAmberError(e, 'ERESUME'));
        }
        this.emit('resume', { generation: gen, processes: b.agents.size });
      }
      // Pruning after the resume: deleting old images must not lengthen the freeze.
      if (opts.kill !== true) await this.prune(gen);
      debug('generation %d durable: %d bytes in %s s', gen, result.bytes, result.seconds.toFixed(3));
      return result;
    } finally {
      if (b.settleTimer !== undefined) clearTimeout(b.settleTimer);
      this.barrier = undefined;
      const held = this.heldHellos;
      this.heldHellos = [];
      for (const h of held) h();
    }
  }

  /**
   * The binding values of an agent's image, checked: a regular file of ours (the agent created it
   * O_EXCL|O_NOFOLLOW), written for this generation (its id) by this process (its vpid).
   */
  private sealOf(b: Barrier, a: Agent, path: string, read: (p: string) => ImageSeal): ImageSeal {
    let sl: ImageSeal;
    try {
      sl = read(path);
      trust.checkOwned(path, sl, 'the image');
    } catch (e) {
      const ae = toAmberError(e);
      throw new AmberError('ECHECKPOINT', `generation ${b.gen} failed: ${describe(a)} reported written, but ${ae.message.startsWith(path) ? ae.message : `${path}: ${ae.message}`}`, { path, cause: e });
    }
    if (sl.vpid !== a.info.vpid || sl.generationId !== b.id) {
      throw new AmberError(
        'ECHECKPOINT',
        `generation ${b.gen} failed: ${path} is not the image ${describe(a)} was to write (vpid ${sl.vpid}, generation id ${sl.generationId ?? 'none'}; expected vpid ${a.info.vpid}, id ${b.id})`,
        { path },
      );
    }
    return sl;
  }

  private killAgent(a: Agent): void {
    if (a.info.host !== hostname()) {
      this.emitError(new AmberError('EKILL', `cannot kill ${describe(a)}: it runs on another host`, { pid: a.info.pid }));
      return;
    }
    try {
      process.kill(a.info.pid, 'SIGKILL');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') this.emitError(toAmberError(e, 'EKILL'));
    }
  }

  /** symlink latest.tmp → gen-NNNNNN, rename over `latest`, fsync DIR: readers see old or new. */
  private async flipLatest(genDir: string): Promise<void> {
    const tmp = join(this.dir, 'latest.tmp');
    await rm(tmp, { force: true });
    await symlink(genDirName(this.lastGenOf(genDir)), tmp);
    await rename(tmp, join(this.dir, 'latest'));
    await fsyncDir(this.dir);
  }

  private lastGenOf(genDir: string): number {
    const g = parseGenDirName(genDir.slice(genDir.lastIndexOf('/') + 1));
    if (g === undefined) throw new Error(`not a generation directory: ${genDir}`);
    return g;
  }

  /** Tells the survivors to carry on without writing, and removes the partial generation. */
  private async abortGeneration(b: Barrier, genDir: string, cause: unknown): Promise<AmberError> {
    const err =
      cause instanceof AmberError && (cause.code === 'ECHECKPOINT' || cause.code === 'ENOPROC')
        ? cause
        : new AmberError('ECHECKPOINT', `generation ${b.gen} failed: ${(cause as Error).message}`, { cause });
    if (b.failure === undefined) b.failure = err;
    debug('aborting generation %d: %s', b.gen, err.message);
    // Forked writers still at work would go on writing into the directory removed below.
    for (const w of b.writers?.values() ?? []) {
      if (procStat(w.pid)?.start !== w.start) continue;
      try {
        process.kill(w.pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    for (const a of b.agents) {
      this.send(a, `abort ${b.gen}`);
      a.info.state = 'running';
    }
    await removeStraggling(genDir);
    return err;
  }

  // ---------------------------------------------------------------------------------------------
  // restart

  private maybeReleaseRestart(): void {
    const w = this.restartWait;
    if (w === undefined || w.released) return;
    const parked = [...w.agents].filter((a) => a.parked);
    if (parked.length < w.count) return;
    w.released = true;
    debug('restart: releasing %d processes', parked.length);
    // Pid virtualization: every process keeps seeing the pids it knew. Each restored agent gets the
    // app-visible -> kernel pid map of the whole computation before it resumes.
    const map = this.pidMap();
    for (const a of parked) {
      a.info.state = 'resuming';
      if (map.length) this.send(a, `pidmap ${map.join(',')}`);
      this.send(a, 'resume 0');
    }
  }

  /** `APP:KERNEL` for every registered process whose kernel pid is not its app pid (restored ones). */
  private pidMap(): string[] {
    const live = [...this.agents.values()];
    return [
      ...live.filter((a) => a.appPid > 0 && a.info.pid > 0 && a.appPid !== a.info.pid).map((a) => `${a.appPid}:${a.info.pid}`),
      ...live.flatMap((a) => a.tids.map(([app, real]) => `${app}:${real}`)),
    ];
  }

  private onRestoredResumed(a: Agent): void {
    a.parked = false;
    a.info.state = 'running';
    const w = this.restartWait;
    if (w === undefined || !w.agents.has(a)) return;
    w.resumed.add(a);
    if (w.released && w.resumed.size >= w.count) {
      clearTimeout(w.timer);
      this.restartWait = undefined;
      const gen = w.manifest?.generation ?? this.durableGen;
      const result: RestartResult = {
        generation: gen,
        processes: [...w.agents].map((x) => ({ ...x.info })).sort((x, y) => x.vpid - y.vpid),
        ...(w.copy !== undefined ? { copy: w.copy } : {}),
      };
      this.emit('restart', result);
      w.resolve(result);
      this.checkDone();
    }
  }

  private failRestart(e: AmberError): void {
    const w = this.restartWait;
    if (w === undefined) return;
    clearTimeout(w.timer);
    this.restartWait = undefined;
    if (w.manifest !== undefined) for (const p of w.manifest.processes) this.reservedVpids.delete(p.vpid);
    this.emitError(e);
    w.reject(e);
    this.checkDone();
  }
}

/** The addon's readSeal, or undefined when the addon (a stand-in, or none) has none. */
/**
 * A process's credentials as the kernel shows them (/proc/PID/status): `text` is the manifest's
 * `creds` (ManifestProcess): uids real,effective,saved,fs, gids likewise, capabilities effective,
 * permitted, inheritable, bounding, ambient (decimal), then the supplementary groups.
 */
function kernelCreds(pid: number): { euid: number; fsuid: number; text: string } | undefined {
  let st: string;
  try {
    st = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (name: string): string[] | undefined => {
    const m = new RegExp(`^${name}:[ \\t]*(.*)$`, 'm').exec(st);
    return m === null ? undefined : m[1]!.trim().split(/\s+/).filter((x) => x !== '');
  };
  const uid = field('Uid');
  const gid = field('Gid');
  const groups = field('Groups') ?? [];
  const caps = ['CapEff', 'CapPrm', 'CapInh', 'CapBnd', 'CapAmb'].map((c) => field(c)?.[0]);
  if (uid?.length !== 4 || gid?.length !== 4 || caps.some((c) => c === undefined || !/^[0-9a-f]+$/i.test(c))) return undefined;
  const text = [...uid, ...gid, ...caps.map((c) => BigInt(`0x${c!}`).toString()), ...groups].join(',');
  if (!/^[0-9]+(,[0-9]+)*$/.test(text)) return undefined;
  return { euid: Number(uid[1]), fsuid: Number(uid[3]), text };
}

/** The descriptor of a Unix socket (libuv's), or undefined (TCP, closed, not known). */
function sockFd(sock: net.Socket): number | undefined {
  if (sock.remoteAddress !== undefined) return undefined;  // TCP
  const fd = (sock as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** fsync of a directory: the names in it are durable. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function bindingReader(): ((path: string) => ImageSeal) | undefined {
  try {
    const a = addon();
    return typeof a.readSeal === 'function' ? (p) => a.readSeal!(p) : undefined;
  } catch (e) {
    debug('no addon to bind images to their generation: %s', (e as Error).message);
    return undefined;
  }
}

/** The addon's syncFs, when this addon has it (a stand-in addon, or an older build, may not). */
function addonSyncFs(): ((dir: string) => Promise<void>) | undefined {
  try {
    const f = (addon() as unknown as { syncFs?: unknown }).syncFs;
    return typeof f === 'function' ? (f as (dir: string) => Promise<void>) : undefined;
  } catch {
    return undefined;
  }
}

function agent_state(msg: AgentMsg): ProcessInfo['state'] {
  return msg['restored'] === true ? 'restarting' : 'running';
}

/**
 * Removes a failed generation's directory. Agents told to abort may still be finishing the image
 * they were writing (an agent answers a command only after the current one), so a file can appear
 * while the directory is being removed: try again until it stays gone — briefly before returning,
 * then for a few seconds in the background.
 */
async function removeStraggling(genDir: string): Promise<void> {
  const once = () => rm(genDir, { recursive: true, force: true }).catch((e: unknown) => debug('rm %s: %s', genDir, (e as Error).message));
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
  await once();
  for (let i = 0; i < 10 && existsSync(genDir); i++) {
    await sleep(100);
    await once();
  }
  void (async () => {
    for (let i = 0; i < 20; i++) {
      await sleep(250);
      if (existsSync(genDir)) await once();
    }
  })();
}

/** Generation failures caused by a process leaving mid-checkpoint (retried by checkpoint()). */
const TRANSIENT = new WeakSet<AmberError>();
