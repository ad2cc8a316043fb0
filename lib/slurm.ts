/**
 * Slurm glue for `amber job`: what the job's environment says (job id, requeue count, task rank),
 * the per-job checkpoint directory, `scontrol requeue`, and the sbatch script `amber
 * sbatch-example` prints. Nothing here talks to the coordinator.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { hostname, networkInterfaces, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AmberError } from './errors.js';

/** What a process learns about its Slurm job from its environment. */
export interface SlurmContext {
  /** SLURM_JOB_ID; unchanged across requeues. Undefined outside Slurm. */
  jobId: string | undefined;
  jobName: string | undefined;
  /** SLURM_RESTART_COUNT: 0 on the first run, N after N requeues. */
  restartCount: number;
  /** Inside a job step started by srun (SLURM_STEP_ID is set), not the batch script itself. */
  inStep: boolean;
  stepId: string | undefined;
  /** This task's rank in the step (SLURM_PROCID); 0 in a batch script. */
  rank: number;
  /** Tasks in the step (SLURM_STEP_NUM_TASKS); 1 in a batch script, whatever --ntasks says. */
  ntasks: number;
  /** This node's name (SLURMD_NODENAME, else the host name). */
  node: string;
  /** Where sbatch was run (SLURM_SUBMIT_DIR). */
  submitDir: string | undefined;
}

function int(v: string | undefined, dflt: number): number {
  if (v === undefined || v.trim() === '') return dflt;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : dflt;
}

export function slurmContext(env: NodeJS.ProcessEnv = process.env): SlurmContext {
  const stepId = env['SLURM_STEP_ID'] ?? env['SLURM_STEPID'];
  const inStep = stepId !== undefined && stepId !== '';
  return {
    jobId: env['SLURM_JOB_ID'] || env['SLURM_JOBID'] || undefined,
    jobName: env['SLURM_JOB_NAME'] || undefined,
    restartCount: int(env['SLURM_RESTART_COUNT'], 0),
    inStep,
    stepId: inStep ? stepId : undefined,
    rank: inStep ? int(env['SLURM_PROCID'], 0) : 0,
    ntasks: inStep ? Math.max(1, int(env['SLURM_STEP_NUM_TASKS'] ?? env['SLURM_NTASKS'], 1)) : 1,
    node: env['SLURMD_NODENAME'] || hostname(),
    submitDir: env['SLURM_SUBMIT_DIR'] || undefined,
  };
}

/** A job name made safe for a directory name. */
export function safeName(name: string): string {
  const s = name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[.]+/, '_').slice(0, 64);
  return s === '' ? 'job' : s;
}

/**
 * The checkpoint directory of a job when --dir is not given: $AMBER_DIR, else
 * SUBMIT_DIR/amber-NAME-JOBID (stable across requeues: the job id does not change), else the
 * current directory outside Slurm.
 */
export function defaultJobDir(ctx: SlurmContext, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  const fromEnv = env['AMBER_DIR'];
  if (fromEnv !== undefined && fromEnv !== '') return resolve(cwd, fromEnv);
  if (ctx.jobId === undefined) return resolve(cwd);
  const base = ctx.submitDir ?? cwd;
  return resolve(base, `amber-${safeName(ctx.jobName ?? 'job')}-${ctx.jobId}`);
}

/** sun_path holds 107 bytes plus the NUL. */
const MAX_SOCKET_PATH = 107;

/**
 * The coordinator's Unix socket for a job directory: DIR/.amber/coord.sock, or, when that is too
 * long for a Unix socket, a name in $TMPDIR derived from DIR (every task computes the same one).
 */
export function jobSocketPath(dir: string, env: NodeJS.ProcessEnv = process.env): string {
  const p = join(dir, '.amber', 'coord.sock');
  if (Buffer.byteLength(p) <= MAX_SOCKET_PATH) return p;
  const h = createHash('sha256').update(dir).digest('hex').slice(0, 16);
  const uid = process.getuid?.() ?? 0;
  return join(env['TMPDIR'] || tmpdir(), `amber-${uid}-${h}.sock`);
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a Slurm command (no shell); never rejects for a non-zero exit, only if it cannot start. */
export function runSlurm(cmd: string, args: string[], timeoutSec = 60): Promise<RunResult> {
  return new Promise((res, rej) => {
    execFile(cmd, args, { timeout: timeoutSec * 1000, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err !== null && typeof (err as NodeJS.ErrnoException).code === 'string') {
        const code = (err as NodeJS.ErrnoException).code;
        rej(new AmberError('ESLURM', `${cmd}: ${code === 'ENOENT' ? 'not found (is Slurm installed and on PATH?)' : err.message}`));
        return;
      }
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null;
      res({ code, stdout, stderr });
    });
  });
}

/** `scontrol show job -o ID` as key → value (the first line; keys as Slurm spells them). */
export async function showJob(jobId: string): Promise<Record<string, string>> {
  const r = await runSlurm('scontrol', ['show', 'job', '-o', jobId]);
  if (r.code !== 0) throw new AmberError('ESLURM', `scontrol show job ${jobId} failed: ${(r.stderr || r.stdout).trim()}`);
  return parseScontrol(r.stdout.split('\n')[0] ?? '');
}

/** Parses scontrol's `Key=Value Key=Value ...` (values without spaces, as with -o). */
export function parseScontrol(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of line.matchAll(/(?:^|\s)([A-Za-z][A-Za-z0-9_:/]*)=(\S*)/g)) {
    const k = m[1];
    if (k !== undefined && !(k in out)) out[k] = m[2] ?? '';
  }
  return out;
}

/**
 * Whether the job may be requeued (`Requeue=1` in scontrol's view: --requeue, or the cluster's
 * JobRequeue=1 default). Undefined when it cannot be told.
 */
export async function isRequeueable(jobId: string): Promise<boolean | undefined> {
  try {
    const j = await showJob(jobId);
    if (j['Requeue'] === undefined) return undefined;
    return j['Requeue'] === '1';
  } catch {
    return undefined;
  }
}

/** `scontrol requeue ID`; throws AmberError 'EREQUEUE' with scontrol's message on failure. */
export async function requeue(jobId: string): Promise<void> {
  const r = await runSlurm('scontrol', ['requeue', jobId]);
  if (r.code !== 0) {
    throw new AmberError('EREQUEUE', `scontrol requeue ${jobId} failed: ${(r.stderr || r.stdout).trim() || `exit ${r.code}`}`);
  }
}

export interface SbatchExampleOptions {
  /** Job name (default amber-job). */
  name?: string;
  /** Walltime, Slurm syntax (default 01:00:00). */
  time?: string;
  /** Seconds before the walltime that Slurm sends SIGUSR1 (default 60). */
  lead?: number;
  /** Tasks (default 1); more than one runs `srun amber job`. */
  ntasks?: number;
  /** Periodic checkpoints every SEC seconds (default none). */
  interval?: number;
  /** The command to run (default ./my-program). */
  command?: string[];
  /** How to call amber (default "amber"). */
  amber?: string;
}

function shq(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The job script `amber sbatch-example` prints. */
export function sbatchExample(o: SbatchExampleOptions = {}): string {
  const name = o.name ?? 'amber-job';
  const ntasks = o.ntasks ?? 1;
  const lead = o.lead ?? 60;
  const amber = o.amber ?? 'amber';
  const cmd = (o.command ?? ['./my-program']).map(shq).join(' ');
  const interval = o.interval !== undefined ? ` --interval ${o.interval}` : '';
  const trap =
    ntasks > 1
      ? [
          '# Do not signal srun: it would pass the signal to the program itself. `amber job --usr1` asks',
          "# amber's task 0 (through a file in the checkpoint directory) instead.",
          `trap '${amber} job --usr1' USR1`,
        ].join('\n')
      : ['# The trap hands SIGUSR1 on to amber.', `trap '[ -n "$pid" ] && kill -USR1 $pid 2>/dev/null' USR1`].join('\n');
  const run = ntasks > 1 ? `srun ${amber} job${interval} -- ${cmd}` : `${amber} job${interval} -- ${cmd}`;
  return `#!/bin/bash
#SBATCH --job-name=${name}
#SBATCH --time=${o.time ?? '01:00:00'}
#SBATCH --ntasks=${ntasks}
# SIGUSR1 to this script (B:) ${lead} s before the walltime: amber checkpoints, then requeues the job.
#SBATCH --signal=B:USR1@${lead}
# Requeued runs start this script again from the top; amber restarts from the checkpoint.
#SBATCH --requeue
# Keep the output of every run in the same files (a requeue must not truncate them).
#SBATCH --open-mode=append
#SBATCH --output=%x-%j.out

# Checkpoints go to $AMBER_DIR, default $SLURM_SUBMIT_DIR/amber-<job name>-<job id>
# (the job id does not change across requeues). Use a file system every node can reach.
# export AMBER_DIR=/scratch/$USER/$SLURM_JOB_ID

# bash runs a trap only between commands, so amber runs in the background and the script waits.
# Set the trap first: an untrapped SIGUSR1 would end the script, and the job with it.
${trap}
${run} &
pid=$!
# \`wait\` returns early (status > 128) each time a trapped signal arrives: wait again while
# amber still runs.
while wait $pid; rc=$?; [ $rc -gt 128 ] && kill -0 $pid 2>/dev/null; do :; done
# rc: the program's own exit status when it finished, 75 when amber checkpointed and requeued
# the job (this run ends here; the next one restarts from the checkpoint).
exit $rc
`;
}

/**
 * This node's IPv4 address as the job's other nodes reach it: the host name's address when it is
 * an address of one of this machine's interfaces and not loopback, else the first IPv4 address of
 * an interface that is not loopback. A node's host name need not resolve (a cluster's own naming,
 * a container, a network namespace), and on Debian it resolves to 127.0.1.1: neither can be handed
 * to another node. Undefined when this machine has no such address.
 */
export async function nodeAddress(): Promise<string | undefined> {
  const mine: string[] = [];
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) mine.push(a.address);
  try {
    const named = (await lookup(hostname(), { family: 4, all: true })).map((r) => r.address);
    const hit = named.find((ip) => mine.includes(ip));
    if (hit !== undefined) return hit;
  } catch {
    // no name for this host: its interfaces say
  }
  return mine[0];
}

/**
 * The address this node sends from to reach `ip` (the kernel's route choice, read from a UDP
 * socket connected there: nothing is sent). On a node with several interfaces (a management
 * network, a container bridge), the one the other nodes of the job are reached by. Undefined if
 * there is no route.
 */
export async function routeAddress(ip: string): Promise<string | undefined> {
  const s = createSocket(ip.includes(':') ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((res, rej) => {
      s.once('error', rej);
      s.connect(9, ip, () => res());
    });
    return s.address().address;
  } catch {
    return undefined;
  } finally {
    s.close();
  }
}
