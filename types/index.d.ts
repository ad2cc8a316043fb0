// Public typed contract of `amber` (dist/lib/index.js). Hand-written; keep in step with lib/*.ts
// (lib/types.ts holds the same data shapes).
/// <reference types="node" />

import type { EventEmitter } from 'node:events';
import type { StdioOptions } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

// ---------------------------------------------------------------------------------------------
// images (the addon's readImage / verifyImage)

export interface ImageThread {
  tid: number;
  main: boolean;
  ckpt: boolean;
  /** hex, "0x..." */
  fsBase: string;
  rseq: boolean;
}

export interface ImageRegion {
  /** hex, "0x..." */
  start: string;
  /** hex, "0x..." */
  end: string;
  /** "rwxp"-style, as in /proc/PID/maps */
  prot: string;
  flags: string[];
  path: string;
  offset: string | number;
  chunks: number;
  storedBytes: number;
}

export interface ImageFd {
  fd: number;
  kind: string;
  path: string;
  flags: number | string;
  pos: number | string;
  /** Sockets (format 1.2): what the restart can rebuild. Addresses are raw sockaddr bytes, hex. */
  socket?: ImageSocket;
  /** Format 1.4: in no process's table — in flight inside a Unix socket's queue (SCM_RIGHTS), or a
   * connection waiting in a listener's accept queue; `fd` is then only an identity. */
  hidden?: boolean;
}

export interface ImageSocket {
  family: string;
  type: number;
  state: 'listen' | 'connected' | 'other';
  local: string;
  peer: string;
  /** bytes that were waiting to be read (saved) */
  inflightBytes: number;
  /** bytes still in the send queue (not saved) */
  sendQueueBytes: number;
  /** the socket's inode, and (Unix sockets, format 1.3) its peer's: 0 when unknown */
  inode: number | string;
  peerInode: number;
  /** IPPROTO_* (0 for Unix sockets) */
  protocol?: number;
  /** Format 1.4: the kernel's state (TCP_INFO state for TCP, sock_diag's for Unix sockets) */
  kernelState?: number;
  /** its peer's FIN arrived (or its receive side was shut) / it sent its own (shut its send side) */
  finReceived?: boolean;
  finSent?: boolean;
  /** the other end was closed (no descriptor held it) */
  peerGone?: boolean;
  /** a connection waiting in a listener's accept queue */
  pendingConnection?: boolean;
  /** options that differ from a new socket's, queued messages, a listener's saved pending connections */
  options?: number;
  messages?: number;
  pending?: number;
}

export interface ImageTimer {
  id: number;
  clockid: number;
  signo: number;
}

export interface ImageInfo {
  path: string;
  version: { major: number; minor: number };
  arch: string;
  pageSize: number;
  kernel: string;
  libc: string;
  hostname: string;
  vpid: number;
  parentVpid: number;
  pid: number;
  generation: number;
  /** ms since the epoch */
  time: number;
  fileSize: number;
  pagesTotal: number;
  pagesStored: number;
  cmdline: string[];
  cwd: string;
  exe: string;
  /** format 1.3: the pid the application knows this process by, its process group and session */
  appPid?: number;
  pgid?: number;
  sid?: number;
  threads: ImageThread[];
  regions: ImageRegion[];
  fds: ImageFd[];
  timers: ImageTimer[];
  chunks: number;
  storedBytes: number;
}

export interface VerifyResult {
  chunks: number;
  bytes: number;
}

/** The N-API addon's surface. */
export interface Addon {
  readImage(path: string): ImageInfo;
  verifyImage(path: string): Promise<VerifyResult>;
  formatVersion: { major: number; minor: number };
  /** SO_PEERCRED of a connected Unix socket's fd. */
  peerCred(fd: number): PeerCred;
  /** Which descriptors of frozen processes are one open file description (kcmp). */
  /** The bytes a saved socket had waiting to be read. */
  socketInflight(path: string, fd: number): Buffer;
  sharedFiles(procs: Array<{ pid: number; image: string }>): Promise<{ groups: Array<Array<{ index: number; fd: number }>>; uncompared: number }>;
}

export interface PeerCred {
  pid: number;
  uid: number;
  gid: number;
}

// ---------------------------------------------------------------------------------------------
// processes, generations, manifests

export type ProcessState =
  | 'running'
  | 'suspending'
  | 'suspended'
  | 'writing'
  | 'written'
  | 'resuming'
  | 'restarting'
  /** known from a previous coordinator on this DIR; its agent has not reconnected yet */
  | 'detached'
  | 'exited';

export interface ProcessInfo {
  vpid: number;
  pid: number;
  /** parent's vpid; 0 when the parent is not under amber */
  parent: number;
  host: string;
  cmd: string;
  state: ProcessState;
}

export interface ManifestProcess {
  vpid: number;
  pid: number;
  parent: number;
  host: string;
  cmd: string;
  /** image file name, relative to the manifest's directory */
  image: string;
  bytes: number;
}

export interface Manifest {
  amber: 1;
  generation: number;
  /** ISO 8601 */
  time: string;
  dir: string;
  processes: ManifestProcess[];
  bytes: number;
  seconds: number;
  /**
   * Open file descriptions shared by several descriptors (dup, or inherited over fork): each
   * group keeps one shared offset at restart. Absent when there were none.
   */
  shares?: SharedDescriptor[][];
}

/** One descriptor of a shared open file description: the process (by vpid) and its fd. */
export interface SharedDescriptor {
  vpid: number;
  fd: number;
}

export interface CheckpointResult {
  generation: number;
  /** absolute path of the generation's manifest.json */
  manifest: string;
  /** absolute image paths, in vpid order */
  images: string[];
  bytes: number;
  seconds: number;
  /** Descriptors that will not survive a restart, by process and name (absent when none). */
  warnings?: string[];
}

export interface StatusResult {
  ok: true;
  /** listen: the TCP address when there is one, else the Unix socket; socket: the Unix socket */
  coordinator: { pid: number; dir: string; listen: string; socket?: string; tcp?: string };
  /** latest durable generation in DIR (0 = none) */
  generation: number;
  processes: ProcessInfo[];
}

export interface RestartResult {
  generation: number;
  processes: ProcessInfo[];
}

/** A plugin loaded in a process. */
export interface PluginInfo {
  name: string;
  path: string;
  /** symbols the plugin wraps */
  wraps: string[];
}

export interface ProcessPlugins {
  vpid: number;
  pid: number;
  cmd: string;
  plugins: PluginInfo[];
}

export interface PluginsResult {
  processes: ProcessPlugins[];
}

/** A plugin's event (amber_event() in a plugin), re-emitted by the coordinator. */
export interface PluginEvent {
  vpid: number;
  pid: number;
  plugin: string;
  name: string;
  data: string;
}

/** Barrier progress, emitted as processes answer each phase. */
export interface ProgressEvent {
  generation: number;
  phase: 'suspend' | 'write' | 'resume';
  done: number;
  total: number;
  /** image bytes written so far in this generation */
  bytes: number;
  /** seconds since the generation started */
  seconds: number;
}

export interface ExitStatus {
  /** exit code, or null when killed by a signal */
  code: number | null;
  signal: NodeJS.Signals | null;
}

// ---------------------------------------------------------------------------------------------
// errors

export interface AmberErrorOptions {
  errno?: number;
  path?: string;
  pid?: number;
  offset?: number;
  exitCode?: number;
  cause?: unknown;
}

/**
 * Every failure amber reports. `code` is stable: EUSAGE, ENOBUILD, ENOCOORD, EBUSY, ECHECKPOINT,
 * ENOPROC, ERESTART, EMANIFEST, image codes (ENOTIMAGE, ETRUNCATED, EVERSION, EBADIMAGE,
 * ECHECKSUM) or an errno code (ENOENT, ...).
 */
export class AmberError extends Error {
  constructor(code: string, message: string, opts?: AmberErrorOptions);
  readonly code: string;
  errno?: number;
  path?: string;
  pid?: number;
  offset?: number;
  /** true when a child process (the restorer) already told the user on the shared stderr */
  reported?: boolean;
  /** the `amber` CLI's exit status for this error */
  readonly exitCode: number;
}

/** A command-line usage mistake (code 'EUSAGE', exit 2). */
export class UsageError extends AmberError {
  constructor(message: string);
}

// ---------------------------------------------------------------------------------------------
// coordinator

export interface CoordinatorOptions {
  /** checkpoint directory; default $AMBER_DIR, else the current directory */
  dir?: string;
  /** seconds between automatic checkpoints */
  interval?: number;
  /** default DIR/.amber/coord.sock */
  socketPath?: string;
  /** seconds each barrier phase may take (default 120) */
  timeout?: number;
  /** also listen on `tcp:HOST:PORT` (port 0 picks one); TCP peers need DIR/.amber/token */
  listen?: string;
  /** keep only the last K generations */
  keep?: number;
  /** seconds a checkpoint waits for processes of a previous coordinator to reconnect (default 10) */
  adoptTimeout?: number;
}

export interface CheckpointOptions {
  /** SIGKILL every process once the generation is durable, instead of resuming */
  kill?: boolean;
  /** per-phase timeout, seconds */
  timeout?: number;
}

export interface ExpectRestartOptions {
  timeout?: number;
  manifest?: Manifest;
}

export interface SuspendEvent {
  generation: number;
  processes: number;
}

export interface ResumeEvent {
  generation: number;
  processes: number;
}

/** Event name → listener arguments. 'error' is only emitted when a listener is attached. */
export interface CoordinatorEvents {
  register: [ProcessInfo];
  exit: [ProcessInfo];
  suspend: [SuspendEvent];
  checkpoint: [CheckpointResult];
  resume: [ResumeEvent];
  restart: [RestartResult];
  error: [AmberError];
  plugin: [PluginEvent];
  progress: [ProgressEvent];
}

export class Coordinator extends EventEmitter<CoordinatorEvents> {
  private constructor();
  /** Listens on DIR/.amber/coord.sock (0600). Rejects 'EBUSY' when a coordinator answers there. */
  static start(opts?: CoordinatorOptions): Promise<Coordinator>;
  readonly dir: string;
  readonly socketPath: string;
  /** `tcp:HOST:PORT` actually bound, when listening on TCP */
  readonly tcpAddress: string | undefined;
  /** DIR/.amber/token */
  readonly tokenPath: string;
  readonly timeout: number;
  readonly keep: number;
  /** latest durable generation (0 = none) */
  readonly generation: number;
  processes(): ProcessInfo[];
  status(): StatusResult;
  /** per process, the plugins loaded and the symbols they wrap */
  plugins(): PluginsResult;
  /** publishes key → value in the computation's key/value space (what plugins look up) */
  publish(key: string, value: string | Buffer): void;
  lookup(key: string): Buffer | undefined;
  /** One generation; concurrent calls are serialized. Rejects 'ECHECKPOINT' or 'ENOPROC'. */
  checkpoint(opts?: CheckpointOptions): Promise<CheckpointResult>;
  /** Holds `count` restored processes until all have restarted, then resumes them together. */
  expectRestart(count: number, opts?: ExpectRestartOptions): Promise<RestartResult>;
  cancelRestart(message?: string): void;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// launch / restart / control

export interface LaunchOptions {
  dir?: string;
  coordinator?: Coordinator;
  socketPath?: string;
  /** a running coordinator: socket path or tcp:HOST:PORT (token: $AMBER_TOKEN or DIR/.amber/token) */
  coord?: string;
  token?: string;
  /** for a coordinator started here: also listen on tcp:HOST:PORT */
  listen?: string;
  /** for a coordinator started here: keep only the last K generations */
  keep?: number;
  /** plugin shared objects to preload with the agent */
  plugins?: string[];
  /** seconds between checkpoints, for a coordinator started by this launch */
  interval?: number;
  stdio?: StdioOptions;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  signal?: AbortSignal;
}

export interface Job {
  readonly pid: number;
  /** resolves when the process exits; never rejects */
  readonly exited: Promise<ExitStatus>;
  kill(signal?: NodeJS.Signals | number): boolean;
  checkpoint(opts?: { kill?: boolean }): Promise<CheckpointResult>;
  readonly dir: string;
  readonly socketPath: string;
  /** AMBER_COORD given to the agents */
  readonly address: string;
  /** the in-process coordinator, or null when one in another process is used */
  readonly coordinator: Coordinator | null;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
}

export interface RestartOptions {
  dir?: string;
  coordinator?: Coordinator;
  socketPath?: string;
  coord?: string;
  token?: string;
  listen?: string;
  keep?: number;
  interval?: number;
  stdio?: StdioOptions;
  env?: NodeJS.ProcessEnv;
  /** seconds to wait for every process to be restored and resumed (default 120) */
  timeout?: number;
  signal?: AbortSignal;
}

export interface RestartJob extends Job {
  generation: number;
  manifest: string;
  /** one job per restored process, manifest order; the RestartJob itself is the root process */
  processes: Job[];
  result: RestartResult;
}

export interface ClientOptions {
  dir?: string;
  socketPath?: string;
  /** socket path or tcp:HOST:PORT */
  coord?: string;
  /** token for TCP; default $AMBER_TOKEN, else DIR/.amber/token */
  token?: string;
  timeout?: number;
}

/** Runs argv under amber (agent preloaded); resolves once it has started. */
export function launch(argv: string[], opts?: LaunchOptions): Promise<Job>;
/** Restarts a checkpoint: a DIR (its latest), a gen dir or a manifest.json. */
export function restart(target?: string, opts?: RestartOptions): Promise<RestartJob>;
/** Asks the coordinator at DIR to checkpoint; rejects 'ENOCOORD' when none listens. */
export function checkpoint(
  opts?: ClientOptions & { kill?: boolean; onProgress?: (p: ProgressEvent) => void },
): Promise<CheckpointResult>;
/** Per process, the plugins loaded and the symbols they wrap. */
export function plugins(opts?: ClientOptions): Promise<PluginsResult>;
/** Status of the coordinator at DIR; rejects 'ENOCOORD' when none listens. */
export function status(opts?: ClientOptions): Promise<StatusResult>;
/** Shell-style status: the exit code, or 128+N for death by signal N. */
export function exitCodeOf(s: ExitStatus): number;

export function readImage(path: string): ImageInfo;
export function verifyImage(path: string): Promise<VerifyResult>;
export function readManifest(path: string): Promise<Manifest>;

/** Absolute path of libamber.so (AMBER_AGENT overrides). Throws 'ENOBUILD' when missing. */
export function agentPath(): string;
/** Absolute path of amber-restart (AMBER_RESTORER overrides). Throws 'ENOBUILD' when missing. */
export function restorerPath(): string;
