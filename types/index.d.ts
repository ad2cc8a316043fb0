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
}

export interface CheckpointResult {
  generation: number;
  /** absolute path of the generation's manifest.json */
  manifest: string;
  /** absolute image paths, in vpid order */
  images: string[];
  bytes: number;
  seconds: number;
}

export interface StatusResult {
  ok: true;
  coordinator: { pid: number; dir: string; listen: string };
  /** latest durable generation in DIR (0 = none) */
  generation: number;
  processes: ProcessInfo[];
}

export interface RestartResult {
  generation: number;
  processes: ProcessInfo[];
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
}

export class Coordinator extends EventEmitter<CoordinatorEvents> {
  private constructor();
  /** Listens on DIR/.amber/coord.sock (0600). Rejects 'EBUSY' when a coordinator answers there. */
  static start(opts?: CoordinatorOptions): Promise<Coordinator>;
  readonly dir: string;
  readonly socketPath: string;
  readonly timeout: number;
  /** latest durable generation (0 = none) */
  readonly generation: number;
  processes(): ProcessInfo[];
  status(): StatusResult;
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
  timeout?: number;
}

/** Runs argv under amber (agent preloaded); resolves once it has started. */
export function launch(argv: string[], opts?: LaunchOptions): Promise<Job>;
/** Restarts a checkpoint: a DIR (its latest), a gen dir or a manifest.json. */
export function restart(target?: string, opts?: RestartOptions): Promise<RestartJob>;
/** Asks the coordinator at DIR to checkpoint; rejects 'ENOCOORD' when none listens. */
export function checkpoint(opts?: ClientOptions & { kill?: boolean }): Promise<CheckpointResult>;
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
