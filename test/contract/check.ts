// The public API as a consumer relies on it, checked at compile time against the declarations
// amber publishes (generated from lib/ by tsc; package.json "types"/"exports"). It never runs:
// test/types-contract.ts copies it into a scratch project where `amber` is a package holding just
// those declarations, and compiles it with `tsc --noEmit` (strict, skipLibCheck off).
//
// Each line fails to compile when the API changes incompatibly: an export, option, member or
// field removed or renamed; a parameter narrowed; a result widened; an optional option made
// required; an event's payload changed. Compatible growth (a new option, field, export or event)
// still compiles. Enumerations (process states, event names) are checked exhaustively both ways:
// consumers switch over them.
import {
  AmberError,
  Coordinator,
  UsageError,
  agentPath,
  checkpoint,
  exitCodeOf,
  launch,
  plugins,
  readImage,
  readManifest,
  restart,
  restorerPath,
  MAX_COPIES,
  status,
  verifyImage,
  type Addon,
  type AmberErrorOptions,
  type CheckpointOptions,
  type CheckpointResult,
  type ClientOptions,
  type CoordinatorEvents,
  type CoordinatorOptions,
  type ExitStatus,
  type ExpectRestartOptions,
  type ImageFd,
  type ImageInfo,
  type ImageRegion,
  type ImageSocket,
  type ImageThread,
  type ImageTimer,
  type Job,
  type LaunchOptions,
  type Manifest,
  type ManifestProcess,
  type PeerCred,
  type PluginEvent,
  type PluginInfo,
  type PluginsResult,
  type ProcessInfo,
  type ProcessPlugins,
  type ProcessState,
  type ProgressEvent,
  type RestartCopies,
  type RestartCopiesOptions,
  type RestartCopy,
  type RestartJob,
  type RestartOptions,
  type RestartResult,
  type ResumeEvent,
  type SharedDescriptor,
  type StatusResult,
  type SuspendEvent,
  type VerifyResult,
} from 'amber';
import type { StdioOptions } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

declare function use(...xs: unknown[]): void;
/** A value of type T, for checking what a consumer may do with one (never evaluated). */
declare function some<T>(): T;

// ---------------------------------------------------------------------------------------------
// options: every documented option accepted with its type, and none of them required

const coordinatorOptions: CoordinatorOptions = {
  dir: '/ck',
  interval: 60,
  socketPath: '/ck/.amber/coord.sock',
  timeout: 120,
  listen: '127.0.0.1:0',
  keep: 3,
  adoptTimeout: 10,
  autoClose: true,
};
const checkpointOptions: CheckpointOptions = { kill: true, timeout: 30 };
const expectRestartOptions: ExpectRestartOptions = { timeout: 30, manifest: some<Manifest>(), copy: 2 };
const clientOptions: ClientOptions = { dir: '/ck', socketPath: '/ck/.amber/coord.sock', coord: 'node1:7779', token: 'f'.repeat(32), timeout: 5 };
const stdio: StdioOptions = ['ignore', 'pipe', 'inherit'];
const launchOptions: LaunchOptions = {
  dir: '/ck',
  coordinator: some<Coordinator>(),
  socketPath: '/ck/.amber/coord.sock',
  coord: '[::1]:7779',
  token: 't',
  listen: 'tcp:0.0.0.0:0',
  keep: 2,
  plugins: ['./plugin.so'],
  interval: 30,
  stdio,
  env: { PATH: '/bin' },
  cwd: '/',
  signal: new AbortController().signal,
  detached: true,
  onCoordinatorError: (e: AmberError) => use(e.code, e.message),
};
const restartOptions: RestartOptions = {
  dir: '/ck',
  coordinator: some<Coordinator>(),
  socketPath: '/ck/.amber/coord.sock',
  coord: './coord.sock',
  token: 't',
  listen: 'localhost:0',
  keep: 2,
  interval: 30,
  stdio: 'inherit',
  env: {},
  timeout: 60,
  signal: new AbortController().signal,
  detached: true,
  onCoordinatorError: (e: AmberError) => use(e.code, e.message),
};
const restartCopiesOptions: RestartCopiesOptions = {
  dir: '/ck',
  copies: 4,
  copiesDir: '/ck-copies',
  copyStdio: (copy: number, dir: string) => (copy === 1 && dir !== '' ? 'inherit' : ['ignore', 'pipe', 'pipe']),
  keep: 2,
  interval: 30,
  stdio: 'inherit',
  timeout: 60,
  detached: true,
};
const errorOptions: AmberErrorOptions = { errno: 2, path: '/x', pid: 1, offset: 0, exitCode: 3, cause: new Error('x') };
const none: [CoordinatorOptions, CheckpointOptions, ExpectRestartOptions, ClientOptions, LaunchOptions, RestartOptions, AmberErrorOptions] = [{}, {}, {}, {}, {}, {}, {}];
use(coordinatorOptions, checkpointOptions, expectRestartOptions, clientOptions, launchOptions, restartOptions, restartCopiesOptions, errorOptions, none);

// ---------------------------------------------------------------------------------------------
// results: every field a consumer reads, with its type

function readExit(s: ExitStatus): void {
  const code: number | null = s.code;
  const signal: NodeJS.Signals | null = s.signal;
  use(code, signal);
}

function readProcess(p: ProcessInfo): void {
  const vpid: number = p.vpid;
  const pid: number = p.pid;
  const parent: number = p.parent;
  const host: string = p.host;
  const cmd: string = p.cmd;
  const state: ProcessState = p.state;
  use(vpid, pid, parent, host, cmd, state);
}

// exhaustive, both ways: a state added or removed is a change consumers see
const processStates: Record<ProcessState, true> = {
  running: true,
  suspending: true,
  suspended: true,
  writing: true,
  written: true,
  resuming: true,
  restarting: true,
  detached: true,
  exited: true,
};

function readCheckpoint(r: CheckpointResult): void {
  const generation: number = r.generation;
  const manifest: string = r.manifest;
  const images: string[] = r.images;
  const bytes: number = r.bytes;
  const seconds: number = r.seconds;
  const warnings: string[] | undefined = r.warnings;
  use(generation, manifest, images, bytes, seconds, warnings);
}

function readStatus(s: StatusResult): void {
  const ok: true = s.ok;
  const pid: number = s.coordinator.pid;
  const dir: string = s.coordinator.dir;
  const listen: string = s.coordinator.listen;
  const socket: string | undefined = s.coordinator.socket;
  const tcp: string | undefined = s.coordinator.tcp;
  const generation: number = s.generation;
  s.processes.forEach(readProcess);
  use(ok, pid, dir, listen, socket, tcp, generation);
}

function readRestart(r: RestartResult): void {
  const generation: number = r.generation;
  r.processes.forEach(readProcess);
  use(generation);
}

function readPlugins(r: PluginsResult): void {
  r.processes.forEach((p: ProcessPlugins) => {
    const vpid: number = p.vpid;
    const pid: number = p.pid;
    const cmd: string = p.cmd;
    p.plugins.forEach((pl: PluginInfo) => {
      const name: string = pl.name;
      const path: string = pl.path;
      const wraps: string[] = pl.wraps;
      use(name, path, wraps);
    });
    use(vpid, pid, cmd);
  });
}

function readPluginEvent(e: PluginEvent): void {
  const vpid: number = e.vpid;
  const pid: number = e.pid;
  const plugin: string = e.plugin;
  const name: string = e.name;
  const data: string = e.data;
  use(vpid, pid, plugin, name, data);
}

function readProgress(p: ProgressEvent): void {
  const generation: number = p.generation;
  const phase: 'suspend' | 'write' | 'resume' = p.phase;
  const done: number = p.done;
  const total: number = p.total;
  const bytes: number = p.bytes;
  const seconds: number = p.seconds;
  use(generation, phase, done, total, bytes, seconds);
}

function readManifestShape(m: Manifest): void {
  const amber: 1 = m.amber;
  const generation: number = m.generation;
  const time: string = m.time;
  const dir: string = m.dir;
  const bytes: number = m.bytes;
  const seconds: number = m.seconds;
  m.processes.forEach((p: ManifestProcess) => {
    const image: string = p.image;
    const size: number = p.bytes;
    const ids: number[] = [p.vpid, p.pid, p.parent];
    const about: string[] = [p.host, p.cmd];
    use(image, size, ids, about);
  });
  const shares: SharedDescriptor[][] | undefined = m.shares;
  for (const g of shares ?? []) for (const d of g) use(d.vpid satisfies number, d.fd satisfies number);
  use(amber, generation, time, dir, bytes, seconds);
}

function readImageInfo(i: ImageInfo): void {
  const path: string = i.path;
  const version: { major: number; minor: number } = i.version;
  const strings: string[] = [i.arch, i.kernel, i.libc, i.hostname, i.cwd, i.exe];
  const numbers: number[] = [i.pageSize, i.vpid, i.parentVpid, i.pid, i.generation, i.time, i.fileSize, i.pagesTotal, i.pagesStored, i.chunks, i.storedBytes];
  const cmdline: string[] = i.cmdline;
  const ids: Array<number | undefined> = [i.appPid, i.pgid, i.sid];
  i.threads.forEach((th: ImageThread) => use(th.tid satisfies number, th.main satisfies boolean, th.ckpt satisfies boolean, th.fsBase satisfies string, th.rseq satisfies boolean));
  i.regions.forEach((r: ImageRegion) => {
    const span: string[] = [r.start, r.end, r.prot, r.path];
    const flags: string[] = r.flags;
    const offset: string | number = r.offset;
    use(span, flags, offset, r.chunks satisfies number, r.storedBytes satisfies number);
  });
  i.fds.forEach((f: ImageFd) => {
    const fd: number = f.fd;
    const kind: string = f.kind;
    const fpath: string = f.path;
    const flags: number | string = f.flags;
    const pos: number | string = f.pos;
    const s: ImageSocket | undefined = f.socket;
    if (s !== undefined) {
      const state: 'listen' | 'connected' | 'other' = s.state;
      const addrs: string[] = [s.family, s.local, s.peer];
      const counts: number[] = [s.type, s.inflightBytes, s.sendQueueBytes, s.peerInode];
      const inode: number | string = s.inode;
      use(state, addrs, counts, inode);
    }
    use(fd, kind, fpath, flags, pos);
  });
  i.timers.forEach((x: ImageTimer) => use(x.id satisfies number, x.clockid satisfies number, x.signo satisfies number));
  use(path, version, strings, numbers, cmdline, ids);
}

function readVerify(v: VerifyResult): void {
  use(v.chunks satisfies number, v.bytes satisfies number);
}

function readAddon(a: Addon): void {
  const info: ImageInfo = a.readImage('/x.img');
  const verified: Promise<VerifyResult> = a.verifyImage('/x.img');
  const version: { major: number; minor: number } = a.formatVersion;
  const cred: PeerCred | undefined = a.peerCred?.(3);
  use(info, verified, version, cred?.pid, cred?.uid, cred?.gid);
}

// ---------------------------------------------------------------------------------------------
// functions: callable as documented, results as documented

async function functions(): Promise<void> {
  const job: Job = await launch(['./app', '-v'], launchOptions);
  await launch(['./app']);
  const again: RestartJob = await restart('/ck/gen-000001/manifest.json', restartOptions);
  await restart();
  const copies: RestartCopies = await restart('/ck', restartCopiesOptions);
  readRestartCopies(await restart(undefined, { copies: 2 }));
  const most: number = MAX_COPIES;
  use(copies, most);
  readCheckpoint(await checkpoint({ ...clientOptions, kill: true, onProgress: readProgress }));
  await checkpoint();
  readStatus(await status(clientOptions));
  await status();
  readPlugins(await plugins(clientOptions));
  await plugins();
  const code: number = exitCodeOf(await job.exited);
  readImageInfo(readImage('/ck/gen-000001/p1.img'));
  readVerify(await verifyImage('/ck/gen-000001/p1.img'));
  readManifestShape(await readManifest('/ck/gen-000001/manifest.json'));
  const paths: string[] = [agentPath(), restorerPath()];
  use(again, code, paths);
}

function readJob(j: Job): void {
  const pid: number = j.pid;
  j.exited.then(readExit);
  const sent: boolean = j.kill() || j.kill('SIGKILL') || j.kill(9);
  const ck: Promise<CheckpointResult> = j.checkpoint({ kill: true });
  j.checkpoint().then(readCheckpoint);
  const where: string[] = [j.dir, j.socketPath, j.address];
  const coord: Coordinator | null = j.coordinator;
  const started: boolean = j.coordinatorStarted;
  const stdin: Writable | null = j.stdin;
  const out: Array<Readable | null> = [j.stdout, j.stderr];
  use(pid, sent, ck, where, coord, started, stdin, out);
}

function readRestartCopies(r: RestartCopies): void {
  const generation: number = r.generation;
  const manifest: string = r.manifest;
  r.copies.forEach((c: RestartCopy) => {
    const n: number = c.copy;
    const dir: string = c.dir;
    if (c.job !== undefined) readRestartJob(c.job);
    const code: string | undefined = c.error?.code;
    use(n, dir, code);
  });
  r.exited.then((xs: Array<ExitStatus | null>) => xs.forEach((x) => x !== null && readExit(x)));
  r.kill();
  r.kill('SIGKILL');
  use(generation, manifest);
}

function readRestartJob(r: RestartJob): void {
  readJob(r);
  const generation: number = r.generation;
  const manifest: string = r.manifest;
  r.processes.forEach(readJob);
  readRestart(r.result);
  const launched: boolean = r.launched;
  const copy: number | undefined = r.copy;
  const asCopy: number | undefined = r.result.copy;
  use(generation, manifest, launched, copy, asCopy);
}

// ---------------------------------------------------------------------------------------------
// the coordinator: static start, members, typed events

async function coordinator(): Promise<void> {
  const c: Coordinator = await Coordinator.start(coordinatorOptions);
  await Coordinator.start();
  const strings: string[] = [c.dir, c.socketPath, c.tokenPath];
  const tcp: string | undefined = c.tcpAddress;
  const numbers: number[] = [c.timeout, c.keep, c.generation];
  c.processes().forEach(readProcess);
  readStatus(c.status());
  readPlugins(c.plugins());
  c.publish('key', 'value');
  c.publish('key', Buffer.from('value'));
  const v: Buffer | undefined = c.lookup('key');
  readCheckpoint(await c.checkpoint(checkpointOptions));
  await c.checkpoint();
  readRestart(await c.expectRestart(2, expectRestartOptions));
  await c.expectRestart(1);
  c.cancelRestart();
  c.cancelRestart('why');
  const release: () => Promise<boolean> = c.hold();
  const closedByItself: boolean = await release();
  const closed: Promise<void> = c.close();

  c.on('register', readProcess);
  c.on('exit', readProcess);
  c.on('suspend', (e: SuspendEvent) => use(e.generation satisfies number, e.processes satisfies number));
  c.on('checkpoint', readCheckpoint);
  c.on('resume', (e: ResumeEvent) => use(e.generation satisfies number, e.processes satisfies number));
  c.on('restart', readRestart);
  c.on('error', (e: AmberError) => use(e.code));
  c.on('plugin', readPluginEvent);
  c.on('progress', readProgress);
  c.on('close', () => use('closed'));
  c.once('checkpoint', readCheckpoint);
  c.off('exit', readProcess);
  use(strings, tcp, numbers, v, closedByItself, closed);
}

// exhaustive, both ways: the events a coordinator emits
const coordinatorEvents: Record<keyof CoordinatorEvents, true> = {
  register: true,
  exit: true,
  suspend: true,
  checkpoint: true,
  resume: true,
  restart: true,
  error: true,
  plugin: true,
  progress: true,
  close: true,
};

// ---------------------------------------------------------------------------------------------
// errors

function errors(e: unknown): void {
  const a = new AmberError('ENOCOORD', 'no coordinator', errorOptions);
  const b = new AmberError('EINVAL', 'bad');
  const u: AmberError = new UsageError('bad option');
  const asError: Error = a;
  if (e instanceof AmberError) {
    const code: string = e.code;
    const exitCode: number = e.exitCode;
    const details: Array<number | string | boolean | undefined> = [e.errno, e.path, e.pid, e.offset, e.reported];
    use(code, exitCode, details);
  }
  use(b, u, asError);
}

use(readExit, processStates, readCheckpoint, readStatus, readRestart, readPlugins, readPluginEvent, readProgress);
use(readManifestShape, readImageInfo, readVerify, readAddon, functions, readJob, readRestartJob, coordinator, coordinatorEvents, errors);
