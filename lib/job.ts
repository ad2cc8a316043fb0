/**
 * `amber job`: run a program under amber inside a Slurm job, so that the job survives its walltime.
 *
 *   first run (SLURM_RESTART_COUNT unset or 0, or no good checkpoint in DIR): launch CMD;
 *   requeued run (SLURM_RESTART_COUNT >= 1) with a good checkpoint: restart its newest generation;
 *   SIGUSR1 (Slurm's --signal=B:USR1@N, handed on by the job script): checkpoint, end the
 *     computation at once (its processes never run past the checkpoint), and only once the images
 *     and the manifest are durable run `scontrol requeue $SLURM_JOB_ID`; exit 75 (EX_TEMPFAIL);
 *   the program finishes by itself: exit with its status, no requeue.
 *
 * Several tasks (`srun amber job ...`): task 0 runs the coordinator and decides launch or restart;
 * the other tasks wait for it (DIR/.amber/job/step.json), then launch their copy of CMD, or
 * restore their own processes of the generation, under the same coordinator. One checkpoint covers
 * every task's processes; restart releases them all together. DIR must be reachable by every task.
 */
import { mkdir, readFile, readdir, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseAddress, parseAddressArg } from './address.js';
import { clientToken, isListening } from './client.js';
import { Coordinator } from './coordinator.js';
import { AmberError, UsageError, toAmberError } from './errors.js';
import { exitCodeOf, launch, makeJob, numericAddress, spawnChecked, type Job } from './launch.js';
import { MANIFEST_NAME, genDirName, manifestImages, parseGenDirName, readManifest, writeFileDurable } from './manifest.js';
import { restorerPath } from './native.js';
import { checkImages, restart } from './restart.js';
import { crossTaskSockets } from './sockets.js';
import { trustedJobDir } from './trust.js';
import { defaultJobDir, isRequeueable, jobSocketPath, nodeAddress, routeAddress, sbatchExample, requeue as scontrolRequeue, slurmContext, type SlurmContext } from './slurm.js';
import type { CheckpointResult, ExitStatus, Manifest } from './types.js';

/** Exit status of a run that checkpointed and requeued the job (sysexits EX_TEMPFAIL). */
export const EXIT_REQUEUED = 75;

export interface JobOptions {
  /** The program and its arguments. */
  command: string[];
  /** Checkpoint directory (default: $AMBER_DIR, else SUBMIT_DIR/amber-NAME-JOBID). */
  dir?: string;
  /** Seconds between periodic checkpoints (default none). */
  interval?: number;
  /** Restart from a good checkpoint in DIR even on a first run (a job submitted again by hand). */
  resume?: boolean;
  /** Plugins to preload with the agent (launch only; restored processes keep theirs). */
  plugins?: string[];
  /** Environment (default process.env): the Slurm variables are read from it, CMD gets it. */
  env?: NodeJS.ProcessEnv;
  /**
   * Multi-task: where task 0's coordinator listens for the other tasks, HOST:PORT (default
   * 0.0.0.0:0, advertised to the tasks as this node's address; lib/address.ts has the forms). Tasks present the job's token
   * (DIR/.amber/token, 0600).
   */
  listen?: string;
  /** Seconds a task waits for task 0 (its coordinator and decision). Default 120. */
  rendezvousTimeout?: number;
  /** Where messages go (default stderr, "amber: " prefixed). */
  log?: (message: string) => void;
  /** Requeues the job (default `scontrol requeue ID`); for tests and other batch systems. */
  requeue?: (jobId: string) => Promise<void>;
}

/** A generation judged restartable: its manifest parses and every image header checks. */
export interface GoodCheckpoint {
  generation: number;
  manifestPath: string;
  manifest: Manifest;
}

/** The step's shared state, written by task 0 (DIR/.amber/job/step.json). */
interface StepInfo {
  amber: 1;
  key: string;
  /** Where the other tasks reach the coordinator: a numeric `tcp:IP:PORT` (token in DIR/.amber/token). */
  coord: string;
  ntasks: number;
  mode: 'launch' | 'restart';
  manifest?: string;
  generation?: number;
  /** restart: vpid → task rank. */
  ranks?: Record<string, number>;
}

interface RankInfo {
  key: string;
  rank: number;
  host: string;
  pid: number;
}

interface RanksFile {
  generation: number;
  ntasks: number;
  ranks: Record<string, number>;
}

/**
 * The file `amber job --usr1` creates to ask task 0 of this run for what SIGUSR1 does. It is how a
 * job script reaches amber through srun: a signal sent to srun reaches the program too.
 */
export function usr1RequestPath(dir: string, ctx: SlurmContext): string {
  return join(dir, '.amber', 'job', `usr1.${ctx.jobId ?? 'nojob'}.${ctx.restartCount}`);
}

/** `amber job --usr1`: asks the running `amber job` of this job (task 0) to checkpoint and requeue. */
export async function requestUsr1(opts: { dir?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const ctx = slurmContext(env);
  const dir = resolve(opts.dir ?? defaultJobDir(ctx, env));
  const p = usr1RequestPath(dir, ctx);
  await mkdir(join(dir, '.amber', 'job'), { recursive: true, mode: 0o700 });
  await writeFile(p, `${process.pid}\n`, { mode: 0o600 });
  return p;
}

function defaultLog(m: string): void {
  process.stderr.write(`amber: ${m}\n`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Newest generation in DIR that can be restarted: a manifest (written only after every image was
 * durable) whose images all pass the header checks, and, with `accept`, whatever else the caller
 * needs (multi-task: a vpid → task map). Broken generations are reported and skipped.
 */
export async function findGoodCheckpoint(
  dir: string,
  opts: { log?: (m: string) => void; accept?: (g: GoodCheckpoint) => Promise<boolean> } = {},
): Promise<GoodCheckpoint | undefined> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return undefined;
  }
  const gens = names
    .map((n) => parseGenDirName(n))
    .filter((g): g is number => g !== undefined)
    .sort((a, b) => b - a);
  for (const g of gens) {
    const manifestPath = join(dir, genDirName(g), MANIFEST_NAME);
    try {
      const manifest = await readManifest(manifestPath);
      checkImages(manifest, manifestPath);
      const good = { generation: g, manifestPath, manifest };
      if (opts.accept !== undefined && !(await opts.accept(good))) continue;
      return good;
    } catch (e) {
      // A gen dir without a manifest is a checkpoint that never completed: not worth a message.
      if ((e as AmberError).code !== 'ENOENT') opts.log?.(`generation ${g} is not restartable, skipping it: ${(e as Error).message}`);
    }
  }
  return undefined;
}

/** One signal handler set for the life of a run; removed when the run ends. */
class Signals {
  private readonly handlers: Array<[NodeJS.Signals, () => void]> = [];
  on(sig: NodeJS.Signals, f: () => void): void {
    process.on(sig, f);
    this.handlers.push([sig, f]);
  }
  off(): void {
    for (const [s, f] of this.handlers.splice(0)) process.off(s, f);
  }
}

/** Runs `amber job`. Resolves to the exit status (the program's, or EXIT_REQUEUED). */
export async function runJob(opts: JobOptions): Promise<number> {
  if (opts.command.length === 0 || opts.command[0] === '') throw new AmberError('EINVAL', 'job: no command given');
  const env = opts.env ?? process.env;
  const ctx = slurmContext(env);
  const dir = resolve(opts.dir ?? defaultJobDir(ctx, env));
  const base = opts.log ?? defaultLog;
  const log = ctx.ntasks > 1 ? (m: string) => base(`job: task ${ctx.rank}: ${m}`) : (m: string) => base(`job: ${m}`);
  const run = new JobRun(opts, ctx, dir, env, log);
  return run.main();
}

class JobRun {
  private coord: Coordinator | undefined;
  private job: Job | undefined;
  /** This task's own processes (restart: one per image of the task). */
  private children: Job[] = [];
  private stopping: Promise<boolean> | undefined;
  private usr1Pending = false;
  private ready = false;
  private intervalTimer: NodeJS.Timeout | undefined;
  private requestTimer: NodeJS.Timeout | undefined;
  private readonly startedAt = Date.now();
  private readonly signals = new Signals();
  private readonly pendingSignals: NodeJS.Signals[] = [];
  private readonly key: string;
  private readonly jdir: string;
  private readonly socketPath: string;
  /** Ranks files being written, by generation (multi-task). */
  private readonly ranksWrites = new Map<number, Promise<void>>();

  constructor(
    private readonly opts: JobOptions,
    private readonly ctx: SlurmContext,
    private readonly dir: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly log: (m: string) => void,
  ) {
    // What identifies this run of this step: a requeue bumps the restart count.
    this.key = `${ctx.jobId ?? 'nojob'}.${ctx.restartCount}.${ctx.stepId ?? 'batch'}`;
    this.jdir = join(dir, '.amber', 'job');
    this.socketPath = jobSocketPath(dir, env);
  }

  private get multi(): boolean {
    return this.ctx.ntasks > 1;
  }

  async main(): Promise<number> {
    await trustedJobDir(this.dir); // DIR, DIR/.amber and DIR/.amber/job: ours (lib/trust.ts)
    this.signals.on('SIGUSR1', () => this.onUsr1());
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) this.signals.on(s, () => this.forward(s));
    try {
      return this.ctx.rank === 0 ? await this.mainLeader() : await this.mainFollower();
    } finally {
      this.signals.off();
      if (this.intervalTimer !== undefined) clearTimeout(this.intervalTimer);
      if (this.requestTimer !== undefined) clearInterval(this.requestTimer);
      await this.coord?.close();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // task 0: coordinator, launch or restart, checkpoint + requeue

  private async mainLeader(): Promise<number> {
    const { ctx } = this;
    // Everything of an earlier run of this job is dead (Slurm ended it before requeueing): a new
    // coordinator must not wait for those processes to reconnect.
    await rm(join(this.dir, '.amber', 'state.json'), { force: true });
    await rm(join(this.jdir, 'step.json'), { force: true });
    this.coord = await Coordinator.start({
      dir: this.dir,
      socketPath: this.socketPath,
      ...(this.multi ? { listen: this.opts.listen ?? 'tcp:0.0.0.0:0' } : {}),
    });
    this.watchRequests();
    this.coord.on('error', (e) => {
      // Another node's processes at a checkpoint that ends the computation: their own task ends
      // them once the job is requeued (mainFollower).
      if (this.multi && (e as AmberError).code === 'EKILL' && /runs on another host$/.test(e.message)) return;
      this.log(e.message);
    });
    this.coord.on('checkpoint', (r) => {
      this.log(`checkpoint ${r.generation} written: ${r.manifest}`);
      // What this checkpoint cannot restore, by name (as `amber checkpoint` says it).
      for (const w of r.warnings ?? []) this.log(`warning: ${w}`);
      if (this.multi) this.ranksWrites.set(r.generation, this.writeRanks(r));
    });

    let good: GoodCheckpoint | undefined;
    if (ctx.restartCount >= 1 || this.opts.resume === true) {
      good = await findGoodCheckpoint(this.dir, {
        log: this.log,
        ...(this.multi ? { accept: (g) => this.ranksFor(g).then((r) => r !== undefined) } : {}),
      });
      if (good === undefined) this.log(`no good checkpoint in ${this.dir}: starting from the beginning`);
    }
    const run = `run ${ctx.restartCount}${ctx.jobId !== undefined ? ` of job ${ctx.jobId}` : ''}`;

    if (!this.multi) {
      if (good !== undefined) {
        this.log(`${run}: restarting generation ${good.generation} from ${this.dir}`);
        const rj = await restart(good.manifestPath, { coordinator: this.coord, stdio: 'inherit', env: this.env });
        this.setJob(rj, rj.processes);
      } else {
        this.log(`${run}: launching ${this.opts.command.join(' ')} (checkpoints in ${this.dir})`);
        this.setJob(await launch(this.opts.command, this.launchOpts({ coordinator: this.coord })));
        await this.waitRegistered(1);
      }
      this.becomeReady();
      return this.finish(await this.job!.exited);
    }

    // multi-task
    const step: StepInfo = { amber: 1, key: this.key, coord: await this.advertised(), ntasks: ctx.ntasks, mode: 'launch' };
    let resumed: Promise<unknown> | undefined;
    if (good !== undefined) {
      const ranks = (await this.ranksFor(good))!;
      this.log(`${run}: restarting generation ${good.generation} (${good.manifest.processes.length} processes in ${ctx.ntasks} tasks) from ${this.dir}`);
      resumed = this.coord.expectRestart(good.manifest.processes.length, { manifest: good.manifest });
      resumed.catch(() => undefined);
      Object.assign(step, { mode: 'restart', manifest: good.manifestPath, generation: good.generation, ranks });
    } else {
      this.log(`${run}: launching ${this.opts.command.join(' ')} in ${ctx.ntasks} tasks (checkpoints in ${this.dir})`);
    }
    await writeFileDurable(join(this.jdir, 'step.json'), JSON.stringify(step) + '\n');
    await this.startOwn(step, good?.manifest);
    if (resumed !== undefined) {
      try {
        await resumed;
      } catch (e) {
        this.killOwn();
        throw e;
      }
    }
    await this.waitForTasks();
    this.becomeReady();
    return this.finish(await this.job!.exited);
  }

  /** Polls for `amber job --usr1` requests of this run (a file in the shared DIR). */
  private watchRequests(): void {
    const p = usr1RequestPath(this.dir, this.ctx);
    let busy = false;
    this.requestTimer = setInterval(() => {
      if (busy) return;
      busy = true;
      stat(p)
        .then(async (st) => {
          await unlink(p).catch(() => undefined);
          // A request left over from before this run started is not for us.
          if (st.mtimeMs >= this.startedAt - 2000) {
            this.log('checkpoint requested (amber job --usr1)');
            this.onUsr1();
          }
        }, () => undefined)
        .finally(() => {
          busy = false;
        });
    }, 250);
    this.requestTimer.unref();
  }

  /** The coordinator's TCP address as the other tasks should dial it (numeric, this node's IP for a wildcard). */
  private async advertised(): Promise<string> {
    const tcp = this.coord?.tcpAddress;
    if (tcp === undefined) return this.socketPath;
    const a = parseAddress(tcp);
    if (a.kind === 'tcp' && (a.host === '0.0.0.0' || a.host === '::' || a.host === '')) {
      // Not the host name's address as such: it may not resolve on a node, or be loopback.
      const ip = await nodeAddress();
      if (ip === undefined) this.log(`${hostname()} has no network address but loopback: other nodes cannot reach the coordinator; use --listen IP:0`);
      return `tcp:${ip ?? '127.0.0.1'}:${a.port}`;
    }
    return numericAddress(a);
  }

  private launchOpts<T extends object>(extra: T) {
    return { ...extra, stdio: 'inherit' as const, env: this.env, plugins: this.opts.plugins ?? [] };
  }

  private setJob(job: Job, all: Job[] = [job]): void {
    this.job = job;
    this.children = all;
    for (const s of this.pendingSignals.splice(0)) job.kill(s);
  }

  /** Waits until the coordinator knows `n` processes (a launched agent says hello soon after exec). */
  private async waitRegistered(n: number, timeoutSec = 60): Promise<void> {
    const end = Date.now() + timeoutSec * 1000;
    while (this.coord !== undefined && this.coord.processes().length < n) {
      if (this.job !== undefined && (await Promise.race([this.job.exited.then(() => true), sleep(50).then(() => false)]))) return;
      if (Date.now() > end) {
        this.log(`only ${this.coord.processes().length} of ${n} processes registered after ${timeoutSec} s`);
        return;
      }
    }
  }

  private becomeReady(): void {
    this.ready = true;
    this.scheduleInterval();
    if (this.usr1Pending) {
      this.usr1Pending = false;
      this.onUsr1();
    }
  }

  private scheduleInterval(): void {
    const sec = this.opts.interval;
    if (sec === undefined || !(sec > 0) || this.ctx.rank !== 0) return;
    this.intervalTimer = setTimeout(() => {
      if (this.stopping !== undefined || this.coord === undefined) return;
      this.coord.checkpoint().then(
        () => undefined,
        (e: unknown) => this.log(`periodic checkpoint failed: ${(e as Error).message}`),
      ).finally(() => {
        if (this.stopping === undefined) this.scheduleInterval();
      });
    }, sec * 1000);
    this.intervalTimer.unref();
  }

  private forward(sig: NodeJS.Signals): void {
    if (this.children.length === 0) this.pendingSignals.push(sig);
    for (const c of this.children) c.kill(sig);
  }

  private onUsr1(): void {
    if (this.ctx.rank !== 0) return; // srun hands the signal to every task; task 0 acts for all
    if (this.stopping !== undefined) return;
    if (!this.ready) {
      this.log('SIGUSR1 while starting: will checkpoint as soon as the computation runs');
      this.usr1Pending = true;
      return;
    }
    this.log('SIGUSR1: checkpointing');
    this.stopping = this.checkpointAndRequeue();
    this.stopping.then((requeued) => {
      if (!requeued) {
        this.stopping = undefined;
        this.scheduleInterval();
      }
    }, () => undefined);
  }

  /**
   * Checkpoint; when the job can be requeued, end the computation right at the checkpoint and
   * requeue once the generation is durable. Resolves true when the job was requeued.
   */
  private async checkpointAndRequeue(): Promise<boolean> {
    const coord = this.coord!;
    if (this.intervalTimer !== undefined) clearTimeout(this.intervalTimer);
    const jobId = this.ctx.jobId;
    const canRequeue = this.opts.requeue !== undefined ? jobId !== undefined : jobId !== undefined && (await isRequeueable(jobId)) !== false;
    if (!canRequeue) {
      this.log(jobId === undefined ? 'not in a Slurm job: checkpoint only, the computation continues' : `job ${jobId} cannot be requeued (--no-requeue?): checkpoint only, the computation continues`);
    }
    // One `amber job` restores its processes on its own node. A process of the computation that
    // runs on another node (an mpirun inside the allocation starts its daemons there through
    // srun, and they inherit amber) would be restored here, away from its node, its files and its
    // connections to Slurm: refused now, by name, so the job is not requeued into a restart that
    // cannot work; the computation continues.
    const away = this.multi ? [] : coord.processes().filter((p) => p.host !== hostname());
    if (away.length > 0) {
      const which = away.slice(0, 4).map((p) => `vpid ${p.vpid} (pid ${p.pid} ${p.cmd.split(' ')[0]}) on ${p.host}`).join(', ');
      this.log(
        `checkpoint refused, the job is NOT requeued: ${away.length} process(es) of the computation run on another node than this one (${which}${away.length > 4 ? ', ...' : ''}); ` +
          'amber job restores its processes on its own node: run one per node with `srun amber job`',
      );
      return false;
    }
    let r: CheckpointResult;
    try {
      r = await this.checkpointRetrying(coord, canRequeue);
    } catch (e) {
      this.log(`checkpoint failed, the job is NOT requeued: ${(e as Error).message}`);
      return false;
    }
    if (!canRequeue) return false;
    // The coordinator returns only once images, manifest and `latest` are fsync'ed; the processes
    // died parked at the checkpoint. Multi-task: the vpid → task map must be durable too.
    try {
      await this.ranksWrites.get(r.generation);
    } catch (e) {
      this.log(`cannot record which task owns which process: ${(e as Error).message}`);
    }
    try {
      await (this.opts.requeue ?? scontrolRequeue)(jobId!);
    } catch (e) {
      this.log(`${(e as Error).message}; generation ${r.generation} is durable: submit again with \`amber job --resume --dir ${this.dir}\``);
      throw e;
    }
    this.log(`generation ${r.generation} durable; job ${jobId} requeued`);
    await writeFile(join(this.jdir, `requeued.${this.key}`), `${r.generation}\n`).catch(() => undefined);
    return true;
  }

  /** A checkpoint, retried while processes are still registering or a restart is finishing. */
  private async checkpointRetrying(coord: Coordinator, kill: boolean): Promise<CheckpointResult> {
    const end = Date.now() + 30_000;
    for (;;) {
      try {
        return await coord.checkpoint({ kill });
      } catch (e) {
        const code = (e as AmberError).code;
        if ((code !== 'ENOPROC' && code !== 'EBUSY') || Date.now() > end) throw e;
        await sleep(200);
      }
    }
  }

  /** After the root process ended: the program's status, or EXIT_REQUEUED. */
  private async finish(st: ExitStatus): Promise<number> {
    if (this.stopping !== undefined) {
      let requeued = false;
      try {
        requeued = await this.stopping;
      } catch (e) {
        return toAmberError(e).exitCode;
      }
      if (requeued) {
        await this.waitAllGone(15);
        return EXIT_REQUEUED;
      }
    }
    if (this.multi) await this.waitAllGone(0);
    this.log(`the program ended (${st.signal !== null ? `signal ${st.signal}` : `status ${st.code}`})`);
    return exitCodeOf(st);
  }

  /** Task 0 keeps the coordinator until every process of every task has gone (0: no limit). */
  private async waitAllGone(timeoutSec: number): Promise<void> {
    const end = timeoutSec > 0 ? Date.now() + timeoutSec * 1000 : Infinity;
    while (this.coord !== undefined && this.coord.processes().some((p) => p.state !== 'exited' && p.state !== 'detached')) {
      if (Date.now() > end) return;
      await sleep(100);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // multi-task

  /** Starts this task's share: its copy of CMD, or its processes of the generation. */
  private async startOwn(step: StepInfo, manifest?: Manifest): Promise<void> {
    if (step.mode === 'launch') {
      const job = await launch(
        this.opts.command,
        this.launchOpts(this.coord !== undefined ? { coordinator: this.coord } : { coord: step.coord, dir: this.dir }),
      );
      this.setJob(job);
    } else {
      const m = manifest ?? (await readManifest(step.manifest!));
      const images = manifestImages(m, step.manifest!);
      const mine = m.processes.map((p, i) => ({ p, image: images[i]! })).filter(({ p }) => step.ranks?.[String(p.vpid)] === this.ctx.rank);
      if (mine.length === 0) throw new AmberError('ERESTART', `task ${this.ctx.rank} has no process in generation ${step.generation}`);
      const vpids = new Set(mine.map(({ p }) => p.vpid));
      const jobs: Job[] = [];
      const choice = { dir: this.dir, socketPath: this.coord?.socketPath ?? step.coord, coordinator: this.coord ?? null, owned: false };
      // Task 0's processes use the Unix socket; the other tasks' the TCP address with the token.
      const agentEnv: NodeJS.ProcessEnv = { ...this.env, AMBER_DIR: this.dir, AMBER_COORD: this.coord?.socketPath ?? step.coord };
      delete agentEnv['AMBER_TOKEN'];
      if (this.coord === undefined && parseAddress(step.coord).kind === 'tcp') {
        const token = clientToken({ dir: this.dir });
        if (token === undefined) throw new AmberError('EAUTH', `no token in ${join(this.dir, '.amber', 'token')} for the coordinator at ${step.coord}`);
        agentEnv['AMBER_TOKEN'] = token;
      }
      // Connections between processes restored by different restorers (another task, perhaps on
      // another node, or another process of this task) are made here and handed down.
      // This node's address for them: the one it reaches task 0's coordinator from (the network
      // the job's nodes share), task 0's the one it advertised.
      let address: string | undefined;
      if (this.ctx.ntasks > 1) {
        const ca = parseAddress(step.coord);
        const coordIp = ca.kind === 'tcp' ? ca.host : undefined;
        if (coordIp !== undefined) address = this.coord !== undefined ? coordIp : await routeAddress(coordIp);
        address ??= await nodeAddress();
      }
      const cross = await crossTaskSockets(
        m.processes.map((p, i) => ({ image: images[i]!, rank: step.ranks?.[String(p.vpid)] ?? -1 })),
        this.ctx.rank,
        { dir: this.jdir, key: this.key, address: address ?? '127.0.0.1', timeoutMs: (this.opts.rendezvousTimeout ?? 120) * 1000 },
      );
      let root: Job | undefined;
      let rootVpid = Infinity;
      try {
        for (const { p, image } of mine) {
          const socks = cross.perProc.get(m.processes.indexOf(p));
          const s = await spawnChecked(restorerPath(), [image, ...(socks?.args ?? [])], {
            env: agentEnv,
            stdio: socks !== undefined && socks.stdio.length > 0 ? ['inherit', 'inherit', 'inherit', ...socks.stdio] : 'inherit',
          });
          const j = makeJob(s.child, s.exited, choice);
          jobs.push(j);
          if (!vpids.has(p.parent) && p.vpid < rootVpid) {
            root = j;
            rootVpid = p.vpid;
          }
        }
      } finally {
        await cross.close();
      }
      this.setJob(root ?? jobs[0]!, jobs);
    }
    const me: RankInfo = { key: this.key, rank: this.ctx.rank, host: hostname(), pid: this.job!.pid };
    await writeFileDurable(join(this.jdir, `rank-${this.ctx.rank}.json`), JSON.stringify(me) + '\n');
  }

  private killOwn(): void {
    for (const c of this.children) c.kill('SIGKILL');
  }

  /** Task 0: until every task has started its share and its processes registered. */
  private async waitForTasks(): Promise<void> {
    const end = Date.now() + (this.opts.rendezvousTimeout ?? 120) * 1000;
    for (;;) {
      const ranks = await this.readRanks();
      const procs = this.coord!.processes();
      const missing: number[] = [];
      for (let r = 0; r < this.ctx.ntasks; r++) {
        const ri = ranks.get(r);
        if (ri === undefined || !procs.some((p) => p.pid === ri.pid && p.host === ri.host)) missing.push(r);
      }
      if (missing.length === 0) return;
      if (Date.now() > end) {
        this.log(`tasks ${missing.join(', ')} have not started within ${this.opts.rendezvousTimeout ?? 120} s; carrying on without them`);
        return;
      }
      if (await Promise.race([this.job!.exited.then(() => true), sleep(100).then(() => false)])) return;
    }
  }

  /** The rank files of this run: rank → its root process. */
  private async readRanks(): Promise<Map<number, RankInfo>> {
    const out = new Map<number, RankInfo>();
    for (let r = 0; r < this.ctx.ntasks; r++) {
      try {
        const ri = JSON.parse(await readFile(join(this.jdir, `rank-${r}.json`), 'utf8')) as RankInfo;
        if (ri.key === this.key && ri.rank === r) out.set(r, ri);
      } catch {
        // not there yet
      }
    }
    return out;
  }

  /** At every checkpoint (task 0): which task each process of the generation belongs to. */
  private async writeRanks(r: CheckpointResult): Promise<void> {
    const m = await readManifest(r.manifest);
    const ranks = await this.readRanks();
    const byVpid = new Map(m.processes.map((p) => [p.vpid, p]));
    const out: Record<string, number> = {};
    for (const p of m.processes) {
      // Walk up to a task's root process (the one each task started); default task 0.
      let cur: typeof p | undefined = p;
      let rank: number | undefined;
      for (let hops = 0; cur !== undefined && hops < 10_000 && rank === undefined; hops++) {
        for (const [rk, ri] of ranks) if (ri.pid === cur.pid && ri.host === cur.host) rank = rk;
        cur = byVpid.get(cur.parent);
      }
      if (rank === undefined) this.log(`generation ${r.generation}: vpid ${p.vpid} (${p.cmd}) belongs to no task; task 0 takes it`);
      out[String(p.vpid)] = rank ?? 0;
    }
    const f: RanksFile = { generation: r.generation, ntasks: this.ctx.ntasks, ranks: out };
    await writeFileDurable(join(this.jdir, `${genDirName(r.generation)}.ranks.json`), JSON.stringify(f) + '\n');
  }

  /** The vpid → task map of a generation, if it was taken with as many tasks as this step has. */
  private async ranksFor(g: GoodCheckpoint): Promise<Record<string, number> | undefined> {
    try {
      const f = JSON.parse(await readFile(join(this.jdir, `${genDirName(g.generation)}.ranks.json`), 'utf8')) as RanksFile;
      if (f.ntasks !== this.ctx.ntasks) {
        this.log(`generation ${g.generation} was taken with ${f.ntasks} tasks, this step has ${this.ctx.ntasks}: skipping it`);
        return undefined;
      }
      for (const p of g.manifest.processes) if (typeof f.ranks[String(p.vpid)] !== 'number') return undefined;
      const tasks = new Set(Object.values(f.ranks));
      for (let r = 0; r < this.ctx.ntasks; r++) if (!tasks.has(r)) return undefined;
      return f.ranks;
    } catch {
      this.log(`generation ${g.generation} has no task map: skipping it`);
      return undefined;
    }
  }

  /** Tasks other than 0: follow task 0's decision, under its coordinator. */
  private async mainFollower(): Promise<number> {
    const timeout = this.opts.rendezvousTimeout ?? 120;
    const end = Date.now() + timeout * 1000;
    let step: StepInfo | undefined;
    while (step === undefined) {
      try {
        const s = JSON.parse(await readFile(join(this.jdir, 'step.json'), 'utf8')) as StepInfo;
        if (s.key === this.key && (await isListening({ coord: s.coord, dir: this.dir, timeout: 5 }))) step = s;
      } catch {
        // not yet
      }
      if (step === undefined) {
        if (Date.now() > end) {
          throw new AmberError('ENOCOORD', `task 0 of this step has not started a coordinator in ${this.dir} within ${timeout} s`);
        }
        await sleep(100);
      }
    }
    this.log(step.mode === 'restart' ? `restoring my processes of generation ${step.generation}` : `launching ${this.opts.command.join(' ')}`);
    await this.startOwn(step);
    // Killed at a checkpoint: if task 0 requeues the job, say so (it writes a marker right after).
    const marker = join(this.jdir, `requeued.${this.key}`);
    // Task 0's coordinator kills the processes of its own node at a checkpoint that ends the
    // computation; those of another node stay parked (they never run past the checkpoint) and
    // are ended here, by their own task, once the job is requeued.
    let requeued = false;
    const exited = this.job!.exited.then(() => true);
    while (!(await Promise.race([exited, sleep(250).then(() => false)]))) {
      if (!requeued && (await readFile(marker).then(() => true, () => false))) {
        requeued = true;
        this.killOwn();
      }
    }
    const st = await this.job!.exited;
    const wait = st.signal === 'SIGKILL' ? 15_000 : 0;
    const until = Date.now() + wait;
    for (;;) {
      try {
        await readFile(marker);
        return EXIT_REQUEUED;
      } catch {
        // not (yet) requeued
      }
      if (Date.now() >= until) break;
      await sleep(100);
    }
    return exitCodeOf(st);
  }
}

// -------------------------------------------------------------------------------------------------
// CLI entry points (wired into lib/cli.ts as `amber job` and `amber sbatch-example`)

export const JOB_HELP = `usage: amber job [--dir DIR] [--interval SEC] [--resume] [--plugin PATH]... [--listen ADDR] -- CMD [ARGS...]
       amber job --usr1 [--dir DIR]

For a Slurm job script (or srun). The first run launches CMD under amber; a requeued run
(SLURM_RESTART_COUNT >= 1) restarts the newest good checkpoint in DIR instead. On SIGUSR1 (sent by
Slurm with --signal=B:USR1@SECONDS; the job script passes it on, see \`amber sbatch-example\`) it
checkpoints, ends the computation, and once the images are durable runs \`scontrol requeue\`.
Exits with CMD's status when CMD finishes, 75 after a checkpoint and requeue.
With several tasks (srun), task 0 runs the coordinator and all tasks checkpoint and restart together.

  --dir DIR        checkpoint directory (default $AMBER_DIR, else
                   $SLURM_SUBMIT_DIR/amber-<job name>-<job id>; must be shared by all nodes)
  --interval SEC   also checkpoint every SEC seconds
  --resume         restart from a good checkpoint in DIR even on a first run
  --plugin PATH    preload a plugin shared object (repeatable)
  --listen ADDR    several tasks: where task 0's coordinator listens for the others, HOST:PORT
                   (default 0.0.0.0:0, advertised as this node's address; the others
                   present the job's token, DIR/.amber/token)
  --usr1           from the job script's trap: ask the running \`amber job\` of this job to do
                   what SIGUSR1 does (use this with srun: a signal sent to srun reaches the
                   program itself as well)
`;

export const SBATCH_EXAMPLE_HELP = `usage: amber sbatch-example [--name NAME] [--time T] [--signal-lead SEC] [--ntasks N] [--interval SEC] [-- CMD [ARGS...]]

Prints a job script that runs CMD under \`amber job\`: SIGUSR1 SEC seconds (default 60) before the
walltime, checkpoint, requeue, restart on the next run.
`;

function posSeconds(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} wants a positive number of seconds, not ${JSON.stringify(v)}`);
  return n;
}

function splitAtDashes(argv: string[]): { opts: string[]; command: string[] } {
  const i = argv.indexOf('--');
  return i < 0 ? { opts: argv, command: [] } : { opts: argv.slice(0, i), command: argv.slice(i + 1) };
}

function parseOrUsage<T extends NonNullable<ParseArgsConfig['options']>>(cmd: string, args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${cmd}: ${(e as Error).message.replace(/\. To specify a positional.*$/s, '')}`);
  }
}

/** `amber job ...` (argv after the word "job"). */
export async function jobMain(argv: string[]): Promise<number> {
  const { opts, command } = splitAtDashes(argv);
  const { values, positionals } = parseOrUsage('job', opts, {
    dir: { type: 'string' },
    interval: { type: 'string' },
    resume: { type: 'boolean' },
    plugin: { type: 'string', multiple: true },
    listen: { type: 'string' },
    usr1: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help === true) {
    process.stdout.write(JOB_HELP);
    return 0;
  }
  const cmd = [...positionals, ...command];
  if (values.usr1 === true) {
    if (cmd.length > 0) throw new UsageError('job --usr1 takes no command');
    if (slurmContext().jobId === undefined) throw new UsageError('job --usr1: not inside a Slurm job (no SLURM_JOB_ID)');
    const p = await requestUsr1(values.dir !== undefined ? { dir: values.dir } : {});
    process.stderr.write(`amber: job: checkpoint and requeue requested (${p})\n`);
    return 0;
  }
  if (cmd.length === 0) throw new UsageError('job: no command given (amber job [options] -- CMD [ARGS...])');
  if (values.listen !== undefined) parseAddressArg('--listen', values.listen, { listen: true });
  const interval = posSeconds('interval', values.interval);
  return runJob({
    command: cmd,
    ...(values.dir !== undefined ? { dir: values.dir } : {}),
    ...(interval !== undefined ? { interval } : {}),
    resume: values.resume === true,
    plugins: values.plugin ?? [],
    ...(values.listen !== undefined ? { listen: values.listen } : {}),
  });
}

/** `amber sbatch-example ...` */
export async function sbatchExampleMain(argv: string[]): Promise<number> {
  const { opts, command } = splitAtDashes(argv);
  const { values, positionals } = parseOrUsage('sbatch-example', opts, {
    name: { type: 'string' },
    time: { type: 'string' },
    'signal-lead': { type: 'string' },
    ntasks: { type: 'string' },
    interval: { type: 'string' },
    amber: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help === true) {
    process.stdout.write(SBATCH_EXAMPLE_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`sbatch-example: unexpected argument ${JSON.stringify(positionals[0])} (the command goes after --)`);
  const lead = posSeconds('signal-lead', values['signal-lead']);
  const interval = posSeconds('interval', values.interval);
  let ntasks: number | undefined;
  if (values.ntasks !== undefined) {
    ntasks = Number(values.ntasks);
    if (!Number.isInteger(ntasks) || ntasks < 1) throw new UsageError(`--ntasks wants a positive integer, not ${JSON.stringify(values.ntasks)}`);
  }
  process.stdout.write(
    sbatchExample({
      ...(values.name !== undefined ? { name: values.name } : {}),
      ...(values.time !== undefined ? { time: values.time } : {}),
      ...(lead !== undefined ? { lead: Math.round(lead) } : {}),
      ...(ntasks !== undefined ? { ntasks } : {}),
      ...(interval !== undefined ? { interval } : {}),
      ...(values.amber !== undefined ? { amber: values.amber } : {}),
      ...(command.length > 0 ? { command } : {}),
    }),
  );
  return 0;
}
