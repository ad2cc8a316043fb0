/**
 * restart(): turns a generation's images back into running processes. Each image is handed to the
 * restorer (amber-restart), which becomes the process; the coordinator holds every restored process
 * until all have arrived, then releases them together.
 */
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { debuglog } from 'node:util';
import { expectRestart as clientExpectRestart, defaultDir } from './client.js';
import type { Coordinator } from './coordinator.js';
import { AmberError } from './errors.js';
import { imageError } from './image.js';
import { chooseCoordinator, makeJob, spawnChecked, type Job } from './launch.js';
import { manifestImages, parseGenDirName, readManifest, resolveManifestPath } from './manifest.js';
import { addon, restorerPath } from './native.js';
import { crossTreeSockets, type CrossTree } from './sockets.js';
import { checkBinding, checkFileSync } from './trust.js';
import type { ExitStatus, ImageInfo, Manifest, RestartResult } from './types.js';

const debug = debuglog('amber');

/** The most processes one restart takes: the agent's pid map (src-native/pid/pid.cc, kMax). */
export const MAX_PROCESSES = 8192;
/** Restorer arguments longer than this (bytes) go through a pipe instead of argv. */
const ARGS_INLINE = 64 * 1024;
/**
 * The most copies one restart starts (`copies`): each is a whole computation with its own
 * coordinator and restorers, so a typo (`--copies 10000`) must not fork-bomb the host.
 */
export const MAX_COPIES = 256;

export interface RestartOptions {
  /** Checkpoint directory for the new computation. Default: the one holding the generation. */
  dir?: string;
  /** Use this in-process coordinator (else one listening at DIR, else one is started: see LaunchOptions). */
  coordinator?: Coordinator;
  socketPath?: string;
  /** Coordinator address: a socket path, or HOST:PORT / [IPv6]:PORT of a running one (see LaunchOptions.coord). */
  coord?: string;
  token?: string;
  /** For a coordinator started here: also listen on TCP, HOST:PORT (see LaunchOptions.listen). */
  listen?: string;
  /** For a coordinator started here: keep only the last K generations. */
  keep?: number;
  /** Seconds between automatic checkpoints, for a coordinator started by this restart. */
  interval?: number;
  /** stdio of the restored processes (default 'inherit': the app's stdio become the caller's). */
  stdio?: StdioOptions;
  env?: NodeJS.ProcessEnv;
  /** Seconds to wait for all processes to be restored and resumed (default 120). */
  timeout?: number;
  signal?: AbortSignal;
  /** Start a needed coordinator as a background process (see LaunchOptions.detached). What `amber restart` does. */
  detached?: boolean;
  /** Called with the coordinator's errors for as long as this restart uses it (see LaunchOptions). */
  onCoordinatorError?: (e: AmberError) => void;
}

/**
 * restart() options that start copies: RestartOptions and `copies` (RestartCopiesOptions given,
 * restart() resolves to a RestartCopies; without `copies` it is the one computation's RestartJob).
 */
export interface RestartCopiesOptions extends RestartOptions {
  /**
   * Start this many independent computations from the one generation (1 to MAX_COPIES). Given
   * (even as 1), restart() resolves to a RestartCopies instead of a RestartJob. Copy i runs
   * with a coordinator of its own in its own checkpoint directory — `DIR.copy-<i>` beside the
   * restart's DIR (`dir`, else the one holding the generation), or `copiesDir/copy-<i>` — where
   * its later checkpoints go (numbered from gen-000001 there); the generation restarted from is
   * only read, never written, and is shared by every copy. Each copy has its own virtual pid
   * space (the same pids the program knew, in every copy). One copy's checkpoint, failure or
   * exit does not touch another. Not with `coordinator`, `coord`, `socketPath` or `listen`
   * (each copy needs its own coordinator): 'EINVAL'.
   */
  copies: number;
  /** With `copies`: the directory holding the copies' checkpoint directories (`copy-<i>`). */
  copiesDir?: string;
  /**
   * With `copies`: stdio for copy i (1-based) whose checkpoint directory is `dir` (created,
   * checked and held by this copy's new coordinator when this is called: never for a copy whose
   * directory another computation uses), instead of `stdio` for every copy.
   */
  copyStdio?: (copy: number, dir: string) => StdioOptions | Promise<StdioOptions>;
}

/** One copy of a `copies` restart: it runs (`job`) or it failed to start (`error`), alone. */
export interface RestartCopy {
  /** 1..N */
  copy: number;
  /** Its checkpoint directory (its coordinator's DIR). */
  dir: string;
  job?: RestartJob;
  /** Why this copy did not start; its message begins with `copy <i>`. */
  error?: AmberError;
}

/** What restart() resolves to when `copies` was given. */
export interface RestartCopies {
  generation: number;
  /** Absolute path of the manifest every copy restarted from. */
  manifest: string;
  /** Every copy, in order: `copies[i - 1].copy === i`. */
  copies: RestartCopy[];
  /** Resolves once every copy that started has exited: each one's status, null for a copy that did not start. Never rejects. */
  exited: Promise<Array<ExitStatus | null>>;
  /** Sends a signal (default SIGTERM) to the root process of every running copy. */
  kill(signal?: NodeJS.Signals | number): void;
}

export interface RestartJob extends Job {
  generation: number;
  /** Absolute path of the manifest restarted from. */
  manifest: string;
  /** One job per restored process, in manifest order; the job itself is the root process. */
  processes: Job[];
  result: RestartResult;
  /**
   * Whether the generation holds a process that amber launched (parent 0). False when every one
   * of them had outlived its launcher by the checkpoint — a daemon: nothing of the computation is
   * in the foreground any more, so `amber restart` returns once they run (their restorers get a
   * session of their own, as the daemon had), where it otherwise waits for the root to exit.
   */
  launched: boolean;
  /** Started by a `copies` restart (RestartCopiesOptions): which copy this is (1-based). */
  copy?: number;
}

/**
 * Reads every image header (checksums of header, metadata, trailer) before anything starts, and
 * refuses an image that is not one amber may read (lib/trust.ts: a link, a FIFO, another user's
 * file) or not the one the manifest recorded (another program, generation, checksum or size).
 */
export function checkImages(manifest: Manifest, manifestPath: string): ImageInfo[] {
  const a = addon();
  return manifestImages(manifest, manifestPath).map((path, i) => {
    let info: ImageInfo;
    try {
      checkFileSync(path, 'the image');
      info = a.readImage(path);
    } catch (e) {
      throw imageError(e, path);
    }
    const mp = manifest.processes[i];
    if (mp !== undefined) checkBinding(manifest, mp, info, path, manifestPath);
    return info;
  });
}

/** The coordinator DIR for a restart: the directory holding the gen-NNNNNN dir, if it is one. */
function restartDir(manifest: Manifest, manifestPath: string): string {
  const gdir = dirname(resolve(manifestPath));
  if (parseGenDirName(basename(gdir)) !== undefined) return dirname(gdir);
  return manifest.dir;
}

/**
 * Restarts a generation: target = a checkpoint DIR (its `latest`), a gen directory or a manifest.
 * Resolves once every process is restored and running again. With `copies`: starts that many
 * independent computations from it and resolves once each runs or has failed (RestartCopies);
 * rejects only when none started.
 */
export function restart(target: string | undefined, opts: RestartCopiesOptions): Promise<RestartCopies>;
export function restart(target?: string, opts?: RestartOptions): Promise<RestartJob>;
export async function restart(target?: string, opts: RestartOptions | RestartCopiesOptions = {}): Promise<RestartJob | RestartCopies> {
  if ('copies' in opts && opts.copies !== undefined) {
    checkCopies(opts);
    return restartCopies(target, opts);
  }
  const { manifestPath, manifest } = await loadGeneration(target, opts);
  return restartOne(manifestPath, manifest, opts, opts.dir ?? restartDir(manifest, manifestPath));
}

/** The manifest to restart, its size checked and every image read and bound to it. */
async function loadGeneration(target: string | undefined, opts: RestartOptions): Promise<{ manifestPath: string; manifest: Manifest }> {
  const manifestPath = await resolveManifestPath(target ?? defaultDir(opts.dir));
  const manifest = await readManifest(manifestPath);
  if (manifest.processes.length > MAX_PROCESSES) {
    // Refused before anything starts: each restored agent keeps the pid map of the whole
    // computation in a table of this size (src-native/pid/pid.cc); past it pids would be wrong.
    throw new AmberError(
      'ERESTART',
      `${manifestPath}: ${manifest.processes.length} processes; a computation restarts with at most ${MAX_PROCESSES} (the agent's pid map)`,
      { path: manifestPath },
    );
  }
  checkImages(manifest, manifestPath);
  return { manifestPath, manifest };
}

/** `copies` and what cannot go with it: 'EINVAL' before anything is read or started. */
function checkCopies(opts: RestartCopiesOptions): void {
  const n = opts.copies;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_COPIES) {
    throw new AmberError('EINVAL', `copies must be an integer from 1 to ${MAX_COPIES}, not ${typeof n === 'number' ? String(n) : JSON.stringify(n)}`);
  }
  // Each copy is a computation of its own: one coordinator cannot hold two sets of the same vpids.
  for (const k of ['coordinator', 'coord', 'socketPath', 'listen'] as const) {
    if (opts[k] !== undefined) throw new AmberError('EINVAL', `copies: each copy starts a coordinator of its own in its directory; \`${k}\` cannot be given with copies`);
  }
}

/** Copy i's checkpoint directory (see RestartCopiesOptions.copies). */
export function copyDir(base: string, copy: number, copiesDir?: string): string {
  return copiesDir !== undefined ? join(resolve(copiesDir), `copy-${copy}`) : `${resolve(base)}.copy-${copy}`;
}

async function restartCopies(target: string | undefined, opts: RestartCopiesOptions): Promise<RestartCopies> {
  const { manifestPath, manifest } = await loadGeneration(target, opts);
  const base = opts.dir ?? restartDir(manifest, manifestPath);
  if (opts.copiesDir !== undefined) await mkdir(resolve(opts.copiesDir), { recursive: true, mode: 0o700 });
  const n = opts.copies;
  const dirs = Array.from({ length: n }, (_, i) => copyDir(base, i + 1, opts.copiesDir));
  // All at once: the copies are independent, and a harness wants them up together.
  const settled = await Promise.allSettled(
    dirs.map(async (dir, i) => {
      const { copyStdio, copies: _n, copiesDir: _d, ...rest } = opts;
      // Asked for only once this copy has its own coordinator: a copy that cannot start (its
      // directory busy with another computation) must not touch what lives there (its output).
      const late = copyStdio === undefined ? undefined : (real: string) => copyStdio(i + 1, real);
      return restartOne(manifestPath, manifest, rest, dir, i + 1, late);
    }),
  );
  const copies: RestartCopy[] = settled.map((r, i) => {
    const copy = i + 1;
    if (r.status === 'fulfilled') return { copy, dir: dirs[i]!, job: r.value };
    const e = toCopyError(r.reason, copy);
    return { copy, dir: dirs[i]!, error: e };
  });
  if (copies.every((c) => c.error !== undefined)) {
    const first = copies[0]!.error!;
    throw new AmberError(first.code, n === 1 ? first.message : `no copy started: ${copies.map((c) => c.error!.message).join('; ')}`, {
      ...(first.path !== undefined ? { path: first.path } : {}),
      exitCode: first.exitCode,
      cause: first,
    });
  }
  return {
    generation: manifest.generation,
    manifest: manifestPath,
    copies,
    exited: Promise.all(copies.map((c) => (c.job === undefined ? null : c.job.exited))),
    kill: (sig: NodeJS.Signals | number = 'SIGTERM') => {
      for (const c of copies) c.job?.kill(sig);
    },
  };
}

/** A copy's failure, said with its number (the restorer's own line on a shared stderr does not say which copy). */
function toCopyError(e: unknown, copy: number): AmberError {
  const ae = e instanceof AmberError ? e : new AmberError('ERESTART', String((e as Error)?.message ?? e), { cause: e });
  const out = new AmberError(ae.code, `copy ${copy}: ${ae.message}`, {
    ...(ae.path !== undefined ? { path: ae.path } : {}),
    exitCode: ae.exitCode,
    cause: ae,
  });
  return out;
}

/** Restarts the checked generation as one computation with its coordinator at `dir`. */
async function restartOne(
  manifestPath: string,
  manifest: Manifest,
  opts: RestartOptions,
  dir: string,
  copy?: number,
  lateStdio?: (dir: string) => StdioOptions | Promise<StdioOptions>,
): Promise<RestartJob> {
  const restorer = restorerPath();
  const images = manifestImages(manifest, manifestPath);
  const n = manifest.processes.length;
  const choice = await chooseCoordinator({
    dir,
    // A copy is a computation of its own: never one joined to what already runs at its DIR.
    ...(copy !== undefined ? { fresh: true } : {}),
    ...(opts.coordinator !== undefined ? { coordinator: opts.coordinator } : {}),
    ...(opts.socketPath !== undefined ? { socketPath: opts.socketPath } : {}),
    ...(opts.coord !== undefined ? { coord: opts.coord } : {}),
    ...(opts.token !== undefined ? { token: opts.token } : {}),
    ...(opts.listen !== undefined ? { listen: opts.listen } : {}),
    ...(opts.keep !== undefined ? { keep: opts.keep } : {}),
    ...(opts.interval !== undefined ? { interval: opts.interval } : {}),
    ...(opts.detached !== undefined ? { detached: opts.detached } : {}),
    ...(opts.onCoordinatorError !== undefined ? { onCoordinatorError: opts.onCoordinatorError } : {}),
  });
  const launched = manifest.processes.some((p) => p.parent === 0);
  let stdioBase: StdioOptions = opts.stdio ?? 'inherit';
  if (lateStdio !== undefined) {
    try {
      stdioBase = await lateStdio(choice.dir);
    } catch (e) {
      await choice.release();
      throw e;
    }
  }

  // Announce the restart before any restorer runs, so no restored process is released early.
  let resumed: Promise<RestartResult>;
  // Closing the announcement's connection cancels it at a coordinator in another process.
  const abandon = new AbortController();
  if (choice.coordinator !== null) {
    resumed = choice.coordinator.expectRestart(n, { manifest, ...(copy !== undefined ? { copy } : {}), ...(opts.timeout !== undefined ? { timeout: opts.timeout } : {}) });
  } else {
    let sent!: () => void;
    const announced = new Promise<void>((r) => (sent = r));
    resumed = clientExpectRestart(n, { ...choice.client, onSent: sent, signal: abandon.signal, ...(copy !== undefined ? { copy } : {}) });
    try {
      await Promise.race([announced, resumed]);
    } catch (e) {
      await choice.release();
      throw e;
    }
  }
  resumed.catch(() => undefined); // handled below; avoid an unhandled rejection meanwhile

  const children: Array<{ child: ChildProcess; exited: Promise<ExitStatus>; image: string }> = [];
  let cross: CrossTree | undefined;
  const killAll = (): void => {
    for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  };
  try {
    // One restorer per tree: it forks the saved process tree (children become the kernel children
    // of their restored parent, pipes between them are shared) before each process restores itself.
    const trees = processTrees(manifest);
    // Connections between trees are made here and handed down (lib/sockets.ts).
    cross = await crossTreeSockets(trees.map((g) => g.map((m) => images[m.index]!)));
    for (const [ti, group] of trees.entries()) {
      const image = images[group[0]!.index]!;
      const args: string[] = [image];
      for (const m of group.slice(1)) args.push(m.orphan === true ? '--orphan' : '--parent', String(m.parentPos), images[m.index]!);
      // What binds an image written by a process of another user to what the kernel showed.
      for (const [pos, m] of group.entries()) {
        const c = manifest.processes[m.index]!.creds;
        if (c !== undefined) args.push('--creds', `${pos}:${c}`);
      }
      args.push(...shareArgs(manifest, group));
      const sockets = cross.perTree[ti]!;
      args.push(...sockets.args);
      const env: NodeJS.ProcessEnv = { ...(opts.env ?? process.env), AMBER_COORD: choice.agentCoord, AMBER_DIR: choice.dir };
      if (choice.token !== undefined) env['AMBER_TOKEN'] = choice.token;
      const base = stdioBase;
      const std = Array.isArray(base) ? base.slice(0, 3) : [base, base, base];
      // A large tree's arguments (thousands of images, --share groups of thousands of
      // descriptors) would not fit an argv (E2BIG): past ARGS_INLINE bytes all but the first
      // image go through a pipe (`--args-fd N`, NUL-separated words) after the socket descriptors.
      const viaFd = args.reduce((n, a) => n + Buffer.byteLength(a) + 1, 0) > ARGS_INLINE;
      const argsFd = 3 + sockets.stdio.length;
      const stdio: StdioOptions = viaFd
        ? [...std, ...sockets.stdio, 'pipe']
        : sockets.stdio.length
          ? [...std, ...sockets.stdio]
          : base;
      const argv = viaFd ? [args[0]!, '--args-fd', String(argsFd)] : args;
      const s = await spawnChecked(restorer, argv, {
        env,
        stdio,
        // Daemons (no launched process left): out of the restart's terminal session, as they were.
        ...(launched ? {} : { detached: true }),
        ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
      });
      if (viaFd) {
        const w = s.child.stdio[argsFd] as NodeJS.WritableStream | null;
        if (w === null) throw new AmberError('ERESTART', 'no pipe for the restorer\'s arguments');
        (w as NodeJS.WritableStream & { on(e: 'error', f: (e: Error) => void): void }).on('error', (e) => debug('restorer arguments: %s', e.message));
        w.end(Buffer.from(args.slice(1).map((a) => `${a}\0`).join('')));
      }
      s.child.on('error', (e) => debug('restorer error: %s', e.message));
      children.push({ ...s, image });
      debug('restorer pid %d for %s', s.child.pid, image);
    }
    await cross.close();
    // A restorer that exits before its process resumed failed (bad image, mapping conflict...);
    // it printed its own `amber: ...` line on its stderr.
    const settledOk = resumed.then(
      () => true,
      () => false,
    );
    const early = children.map(
      (c) =>
        c.exited.then(async (st) => {
          // The exit may be processed before the coordinator has seen the released process's
          // `resumed`/disconnect: give that a moment before calling the restore failed.
          const ok = await Promise.race([settledOk, new Promise<boolean>((r) => setTimeout(() => r(false), 2000).unref())]);
          if (ok) return new Promise<never>(() => undefined);
          const code = st.code ?? 128;
          const err = new AmberError(
            'ERESTART',
            `restore of ${c.image} failed: the restorer ${st.signal !== null ? `was killed by ${st.signal}` : `exited with status ${st.code}`}`,
            { path: c.image, exitCode: code >= 3 ? code : 3 },
          );
          // Status 3-5 is the restorer's own refusal: it already printed the one `amber:` line
          // that names the file and what is wrong, on the stderr it shares with us.
          if (st.signal === null && code >= 3 && code <= 5) err.reported = true;
          throw err;
        }) as Promise<never>,
    );
    const result = await Promise.race([resumed, ...early]);
    const jobs = children.map((c) => makeJob(c.child, c.exited, choice));
    const rootProc = rootIndex(manifest);
    const rootChild = children[Math.max(0, trees.findIndex((g) => g[0]!.index === rootProc))];
    if (rootChild === undefined) throw new AmberError('ERESTART', 'no root process');
    const rootJob = makeJob(
      rootChild.child,
      rootChild.exited.then(async (s) => {
        await choice.release();
        return s;
      }),
      choice,
    );
    return { ...rootJob, generation: manifest.generation, manifest: manifestPath, processes: jobs, result, launched, ...(copy !== undefined ? { copy } : {}) };
  } catch (e) {
    killAll();
    await cross?.close();
    choice.coordinator?.cancelRestart(`restart failed: ${(e as Error).message}`);
    abandon.abort();
    await choice.release();
    throw e;
  }
}

/**
 * The generation's processes as trees, each listed parents first: for every member its index in
 * the manifest and the position of its parent within the same list (-1 for the tree's root).
 * A process whose parent died before the checkpoint (its parent vpid names no process of the
 * generation and is not 0, amber's launcher: it was adopted by init or a subreaper outside the
 * computation) joins the tree of the first process amber launched as an `orphan` of its root: the
 * restorer forks it through a go-between that exits, so it is adopted again as it was, and it
 * shares what that tree makes before the fork (pipes, shared memory) with the rest. In a tree of
 * its own a pipe it shared with its old family came back as two pipes.
 */
export function processTrees(m: Manifest): Array<Array<{ index: number; parentPos: number; orphan?: boolean }>> {
  const byVpid = new Map(m.processes.map((p, i) => [p.vpid, i]));
  const kids = new Map<number, number[]>();
  const roots: number[] = [];
  m.processes.forEach((p, i) => {
    const parent = byVpid.get(p.parent);
    if (parent === undefined || parent === i) roots.push(i);
    else {
      const list = kids.get(parent);
      if (list === undefined) kids.set(parent, [i]);
      else list.push(i);
    }
  });
  const launched = roots.find((r) => m.processes[r]!.parent === 0);
  const orphans = launched === undefined ? [] : roots.filter((r) => r !== launched && m.processes[r]!.parent !== 0);
  // The descendants of the last member of out, appended parents first.
  const descend = (out: Array<{ index: number; parentPos: number; orphan?: boolean }>): void => {
    for (let k = out.length - 1; k < out.length; k++) {
      for (const c of kids.get(out[k]!.index) ?? []) out.push({ index: c, parentPos: k });
    }
  };
  return roots
    .filter((r) => !orphans.includes(r))
    .map((r) => {
      const out: Array<{ index: number; parentPos: number; orphan?: boolean }> = [{ index: r, parentPos: -1 }];
      descend(out);
      if (r === launched) {
        for (const o of orphans) {
          out.push({ index: o, parentPos: 0, orphan: true });
          descend(out);
        }
      }
      return out;
    });
}

/**
 * `--share P:FD,P:FD...` for every open file description shared inside one tree (P: position in
 * the tree's image list): the restorer opens it once and gives it to each, so they keep one offset.
 */
export function shareArgs(m: Manifest, tree: Array<{ index: number }>): string[] {
  const pos = new Map(tree.map((t, k) => [m.processes[t.index]!.vpid, k]));
  const out: string[] = [];
  for (const g of m.shares ?? []) {
    const here = g.filter((d) => pos.has(d.vpid)).map((d) => `${pos.get(d.vpid)}:${d.fd}`);
    if (here.length >= 2) out.push('--share', here.join(','));
  }
  return out;
}

/** The process whose parent is outside the generation (the one amber launched), lowest vpid first. */
function rootIndex(m: Manifest): number {
  const vpids = new Set(m.processes.map((p) => p.vpid));
  let best = -1;
  m.processes.forEach((p, i) => {
    const cur = m.processes[best];
    if (!vpids.has(p.parent) && (cur === undefined || p.vpid < cur.vpid)) best = i;
  });
  return best < 0 ? 0 : best;
}
