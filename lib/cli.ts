#!/usr/bin/env node
/**
 * The `amber` command. Results go to stdout, messages to stderr prefixed "amber: "; the
 * application's own output is never touched. Exit codes (DESIGN.md, contract): launch/restart exit
 * with the application's status (signal N → 128+N); 2 usage; 3 bad image/manifest; 4 no
 * coordinator; 5 checkpoint failed; 6 other amber failures.
 */
import { constants as fsConstants, openSync, readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  checkpoint as clientCheckpoint,
  defaultDir,
  plugins as clientPlugins,
  status as clientStatus,
  type ClientOptions,
} from './client.js';
import { parseAddressArg } from './address.js';
import { Coordinator } from './coordinator.js';
import { UsageError, toAmberError } from './errors.js';
import { exitCodeOf, launch, type Job } from './launch.js';
import { readManifest, resolveManifestPath } from './manifest.js';
import { inspectImage, looksLikeManifest, verifyGeneration } from './verify.js';
import { packageRoot } from './native.js';
import { MAX_COPIES, restart } from './restart.js';
import type { ImageInfo, Manifest, PluginsResult, ProgressEvent, StatusResult } from './types.js';

/** What every --coord/--listen help says about ADDR. */
const ADDR_HELP = `ADDR is HOST:PORT or [IPv6]:PORT for TCP (tcp:HOST:PORT also works), or a Unix socket path:
one with a "/", or starting with "." or "/", or ending in ".sock" (./coord.sock, not coord).`;

const HELP: Record<string, string> = {
  launch: `usage: amber launch [--dir DIR] [--interval SEC] [--coord ADDR] [--listen ADDR] [--keep K] [--plugin PATH]... -- CMD [ARGS...]

Runs CMD under amber: every process it starts is checkpointable. Uses the coordinator listening at
DIR (default $AMBER_DIR or the current directory), or starts one in the background that lives as
long as any process of the computation does, and then exits by itself (its messages go to
DIR/.amber/coordinator.log). Exits with CMD's status when CMD exits: a daemon CMD started lives
on, checkpointable. SIGINT/SIGTERM/SIGHUP are passed to CMD; SIGUSR1 takes a checkpoint.

  --dir DIR        checkpoint directory (images, manifests, coordinator socket)
  --interval SEC   checkpoint every SEC seconds (coordinator started here only)
  --coord ADDR     coordinator: a socket path (default DIR/.amber/coord.sock; one is started there
                   if none listens) or the HOST:PORT of a running one (token from $AMBER_TOKEN or
                   DIR/.amber/token)
  --listen ADDR    coordinator started here also listens on TCP at HOST:PORT (port 0: any; token in
                   DIR/.amber/token)
  --keep K         keep only the last K generations (coordinator started here only)
  --plugin PATH    preload a plugin shared object (repeatable)

${ADDR_HELP}
`,
  checkpoint: `usage: amber checkpoint [--dir DIR | --coord ADDR] [--kill | --forked] [--json] [--no-progress]

Checkpoints the computation whose coordinator listens at DIR. Blocks until the generation is
durable, then prints its manifest path (a JSON summary with --json). While a long checkpoint runs,
a progress line is shown on stderr if stderr is a terminal.

  --kill           end the computation after a good checkpoint
  --forked         let the program run on while its memory is written (copy-on-write); the
                   checkpoint is reported once every image is durable, as always
  --json           print { generation, manifest, images, bytes, seconds }
  --timeout SEC    per-phase timeout (default 120, or 1 s per 10 processes when more)
  --no-progress    no progress line
`,
  restart: `usage: amber restart [--dir DIR | --coord ADDR] [--copies N [--copies-dir D] [--copy-output]] [DIR|GENDIR|MANIFEST]

Restarts a checkpoint (default: the latest generation in DIR) in the foreground. The application's
stdin/stdout/stderr are this command's; exits with the application's status. A generation whose
launched process had already exited (a daemon, living on after \`amber launch\` returned) has
nothing in the foreground: restart returns (status 0) once its processes run again, in a session
of their own. A coordinator started here lives on in the background as long as they do.

  --coord ADDR     coordinator: a socket path or the HOST:PORT of a running one (see launch --help)
  --interval SEC   checkpoint every SEC seconds after the restart
  --timeout SEC    how long restoring may take (default 120)
  --copies N       start N independent computations from the generation (1 to 256), each with a
                   coordinator of its own in its own checkpoint directory, DIR.copy-<i> beside
                   DIR (the generation's own is only read); prints one line per copy,
                   "copy I pid PID dir COPYDIR" (or "copy I failed dir COPYDIR", the reason on
                   stderr), then waits for every copy: exits 0 when all exited 0, else with the
                   status of the first copy that failed or exited non-zero. Their stdin is
                   /dev/null; stdout and stderr are this command's unless --copy-output.
                   The copies' coordinators run inside this command (a generation of daemons
                   only: in the background, as without --copies)
  --copies-dir D   with --copies: copy I's directory is D/copy-<I> instead
  --copy-output    with --copies: copy I's stdout and stderr go to the files stdout and stderr
                   in its directory
`,
  status: `usage: amber status [--dir DIR | --coord ADDR] [--json]

Shows the coordinator at DIR (or at ADDR: a socket path, or HOST:PORT) and the processes
registered with it.
`,
  plugins: `usage: amber plugins [--dir DIR | --coord ADDR] [--json]

Lists, per process, the plugins it loaded and the symbols they wrap.
`,
  inspect: `usage: amber inspect IMAGE|MANIFEST|DIR [--json] [--verify]

Summarizes a checkpoint image (regions, threads, fds, sizes) or a generation manifest.

  --json           machine-readable output
  --verify         also check every chunk checksum, and that each image is the one its
                   manifest recorded (same generation, program, checksum and size)
`,
  coordinator: `usage: amber coordinator [--dir DIR] [--listen ADDR]... [--interval SEC] [--keep K] [--exit-when-done] [--json]

Runs a coordinator in the foreground until SIGINT/SIGTERM; SIGUSR1 takes a checkpoint. Started
again on the same DIR after a crash, it re-adopts the processes still running (their agents
reconnect every second).

  --listen ADDR    HOST:PORT or [IPv6]:PORT: also listen on TCP (port 0: any; token in
                   DIR/.amber/token, 0600); a socket path: the Unix socket to use instead of
                   DIR/.amber/coord.sock. Give it twice for both.
  --interval SEC   checkpoint every SEC seconds
  --keep K         keep only the last K generations
  --exit-when-done exit once the computation has ended: no process of it left, no checkpoint or
                   restart under way, no launch or restart using it (what launch starts); after
                   a minute if nothing ever used it
  --json           print events (register, exit, checkpoint, ...) as JSON lines on stdout

${ADDR_HELP}
`,
};

const GLOBAL_HELP = `usage: amber <command> [options]

commands:
  launch        run a program under amber
  checkpoint    checkpoint a running computation
  restart       restart a checkpoint
  status        show a coordinator and its processes
  inspect       describe an image or manifest
  plugins       list the plugins loaded in each process
  coordinator   run a coordinator in the foreground
  job           inside a Slurm job: launch or restart, checkpoint + requeue on SIGUSR1
  sbatch-example  print a ready Slurm job script

amber <command> --help for details; amber --version.
`;

/** CLI option sets; `coord` and `listen` are the contract's ADDR (lib/address.ts parses them). */
const OPTS = {
  launch: {
    dir: { type: 'string' },
    interval: { type: 'string' },
    coord: { type: 'string' },
    listen: { type: 'string' },
    keep: { type: 'string' },
    plugin: { type: 'string', multiple: true },
    help: { type: 'boolean', short: 'h' },
  },
  checkpoint: {
    dir: { type: 'string' },
    coord: { type: 'string' },
    kill: { type: 'boolean' },
    forked: { type: 'boolean' },
    json: { type: 'boolean' },
    timeout: { type: 'string' },
    'no-progress': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
  restart: {
    dir: { type: 'string' },
    coord: { type: 'string' },
    interval: { type: 'string' },
    timeout: { type: 'string' },
    copies: { type: 'string' },
    'copies-dir': { type: 'string' },
    'copy-output': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
  status: {
    dir: { type: 'string' },
    coord: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
  inspect: {
    json: { type: 'boolean' },
    verify: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
  coordinator: {
    dir: { type: 'string' },
    listen: { type: 'string', multiple: true },
    interval: { type: 'string' },
    keep: { type: 'string' },
    'exit-when-done': { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
  plugins: {
    dir: { type: 'string' },
    coord: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
} as const satisfies Record<string, NonNullable<ParseArgsConfig['options']>>;

type Command = keyof typeof OPTS;

function isCommand(s: string): s is Command {
  return Object.prototype.hasOwnProperty.call(OPTS, s);
}

/** Colour only on a terminal, never with NO_COLOR (https://no-color.org) or TERM=dumb. */
function useColor(stream: NodeJS.WriteStream): boolean {
  const nc = process.env['NO_COLOR'];
  return stream.isTTY === true && (nc === undefined || nc === '') && process.env['TERM'] !== 'dumb';
}

function paint(code: string, text: string): string {
  return useColor(process.stderr) ? `\x1b[${code}m${text}\x1b[0m` : text;
}

function msg(text: string): void {
  process.stderr.write(`${paint('1', 'amber:')} ${text}\n`);
}

function errMsg(text: string): void {
  process.stderr.write(`${paint('1;31', 'amber:')} ${text}\n`);
}

function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

function parse<C extends Command>(cmd: C, args: string[]) {
  try {
    return parseArgs({ args, options: OPTS[cmd], allowPositionals: true, strict: true });
  } catch (e) {
    // (node's messages may span lines: ours are one line)
    throw new UsageError(`${cmd}: ${(e as Error).message.replace(/\. To specify a positional.*$/s, '').replace(/\s*\n\s*/g, ' ')}`);
  }
}

function seconds(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} wants a positive number of seconds, not ${JSON.stringify(v)}`);
  return n;
}

function noPositionals(cmd: string, p: string[]): void {
  if (p.length > 0) throw new UsageError(`${cmd}: unexpected argument ${JSON.stringify(p[0])}`);
}

function exclusive(cmd: string, v: { dir?: string | undefined; coord?: string | undefined }): void {
  if (v.dir !== undefined && v.coord !== undefined) throw new UsageError(`${cmd}: give --dir or --coord, not both`);
  if (v.coord !== undefined) parseAddressArg('--coord', v.coord);
}

function where(v: { dir?: string | undefined; coord?: string | undefined }): ClientOptions {
  return {
    ...(v.dir !== undefined ? { dir: v.dir } : {}),
    ...(v.coord !== undefined ? { coord: v.coord } : {}),
  };
}

function count(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} wants a positive integer, not ${JSON.stringify(v)}`);
  return n;
}

/**
 * Splits `launch` arguments into amber options and the command. `--` is the documented separator;
 * without it the first word that is not an option (or an option's value) starts the command, so
 * `amber launch ./app -v` does not try to parse the app's -v.
 */
function splitCommand(args: string[]): { opts: string[]; command: string[] } {
  const dd = args.indexOf('--');
  if (dd >= 0) return { opts: args.slice(0, dd), command: args.slice(dd + 1) };
  const takesValue = new Set(['--dir', '--interval', '--coord', '--plugin', '--listen', '--keep']);
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (takesValue.has(a)) {
      i++;
      continue;
    }
    if (!a.startsWith('-')) return { opts: args.slice(0, i), command: args.slice(i) };
  }
  return { opts: args, command: [] };
}

function version(): string {
  try {
    const pj = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: string };
    return pj.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

// -------------------------------------------------------------------------------------------------

/**
 * Passes terminating signals on to the application. Until the job exists (restart is restoring)
 * they are remembered and delivered once it does. Returns a setter for the job.
 */
function forwardSignals(onUsr1?: () => void): (job: { kill(sig: NodeJS.Signals): unknown }) => void {
  let job: { kill(sig: NodeJS.Signals): unknown } | undefined;
  const pending: NodeJS.Signals[] = [];
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      if (job !== undefined) job.kill(sig);
      else pending.push(sig);
    });
  }
  if (onUsr1 !== undefined) process.on('SIGUSR1', onUsr1);
  return (j) => {
    job = j;
    for (const s of pending.splice(0)) j.kill(s);
  };
}

async function cmdLaunch(args: string[]): Promise<number> {
  const { opts, command } = splitCommand(args);
  const { values, positionals } = parse('launch', opts);
  if (values.help === true) return help('launch');
  noPositionals('launch', positionals);
  if (command.length === 0) throw new UsageError('launch: no command given (amber launch [options] -- CMD [ARGS...])');
  const interval = seconds('interval', values.interval);
  const keep = count('keep', values.keep);
  if (values.coord !== undefined) parseAddressArg('--coord', values.coord);
  if (values.listen !== undefined) parseAddressArg('--listen', values.listen, { listen: true });
  let job: Job | undefined;
  let checkpointing = false;
  // The coordinator's errors once CMD runs (a failure to start is reported once, by the throw).
  let started = false;
  const setJob = forwardSignals(() => {
    // SIGUSR1 (what Slurm's --signal sends): checkpoint without stopping.
    if (job === undefined || checkpointing) return;
    checkpointing = true;
    job.checkpoint().then(
      (r) => msg(`checkpoint ${r.generation} written: ${r.manifest}`),
      (e: unknown) => errMsg(`checkpoint failed: ${(e as Error).message}`),
    ).finally(() => {
      checkpointing = false;
    });
  });
  job = await launch(command, {
    ...(values.dir !== undefined ? { dir: values.dir } : {}),
    ...(values.coord !== undefined ? { coord: values.coord } : {}),
    ...(values.listen !== undefined ? { listen: values.listen } : {}),
    ...(keep !== undefined ? { keep } : {}),
    ...(interval !== undefined ? { interval } : {}),
    plugins: values.plugin ?? [],
    stdio: 'inherit',
    // The coordinator outlives this command: a daemon CMD leaves behind stays checkpointable.
    detached: true,
    onCoordinatorError: (e) => started && errMsg(e.message),
  });
  started = true;
  if ((interval !== undefined || keep !== undefined || values.listen !== undefined) && !job.coordinatorStarted) {
    msg(`--interval/--keep/--listen ignored: using the running coordinator at ${job.socketPath}`);
  }
  setJob(job);
  return exitCodeOf(await job.exited);
}

async function cmdCheckpoint(args: string[]): Promise<number> {
  const { values, positionals } = parse('checkpoint', args);
  if (values.help === true) return help('checkpoint');
  noPositionals('checkpoint', positionals);
  exclusive('checkpoint', values);
  const timeout = seconds('timeout', values.timeout);
  const progress = values['no-progress'] !== true && process.stderr.isTTY === true ? progressLine() : undefined;
  let r;
  try {
    r = await clientCheckpoint({
      ...where(values),
      kill: values.kill === true,
      forked: values.forked === true,
      ...(timeout !== undefined ? { timeout: timeout * 4 } : {}),
      ...(progress !== undefined ? { onProgress: progress.update } : {}),
    });
  } finally {
    progress?.done();
  }
  for (const w of r.warnings ?? []) errMsg(`warning: ${w}`);
  out(values.json === true ? JSON.stringify(r) : r.manifest);
  return 0;
}

/** Shown only once a checkpoint has taken PROGRESS_AFTER seconds; rewritten in place. */
const PROGRESS_AFTER = 0.5;

function progressLine(): { update: (p: ProgressEvent) => void; done: () => void } {
  let shown = false;
  let last: ProgressEvent | undefined;
  let origin = 0; // Date.now() at the generation's start
  const render = (): void => {
    if (last === undefined) return;
    const secs = (Date.now() - origin) / 1000;
    if (secs < PROGRESS_AFTER) return;
    shown = true;
    const verb = last.phase === 'suspend' ? 'suspending' : last.phase === 'write' ? 'writing' : 'resuming';
    process.stderr.write(
      `\r\x1b[K${paint('1', 'amber:')} checkpoint ${last.generation}: ${verb} ${last.done}/${last.total} processes, ${size(last.bytes)}, ${secs.toFixed(1)} s`,
    );
  };
  // Redrawn while nothing arrives too: a slow write is exactly when the line matters.
  const timer = setInterval(render, 250);
  timer.unref();
  return {
    update: (p) => {
      if (last === undefined || p.generation !== last.generation) origin = Date.now() - p.seconds * 1000;
      last = p;
      if (shown) render();
    },
    done: () => {
      clearInterval(timer);
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}

async function cmdRestart(args: string[]): Promise<number> {
  const { values, positionals } = parse('restart', args);
  if (values.help === true) return help('restart');
  exclusive('restart', values);
  if (positionals.length > 1) throw new UsageError(`restart: one checkpoint at a time (got ${positionals.length})`);
  const interval = seconds('interval', values.interval);
  const timeout = seconds('timeout', values.timeout);
  if (values.copies !== undefined) return restartCopiesCli(positionals[0], values, interval, timeout);
  if (values['copies-dir'] !== undefined || values['copy-output'] === true) throw new UsageError('restart: --copies-dir and --copy-output go with --copies');
  const setJob = forwardSignals();
  // The coordinator's errors once the processes run (a failed restart is reported once, by the throw).
  let started = false;
  const job = await restart(positionals[0], {
    ...where(values),
    ...(interval !== undefined ? { interval } : {}),
    ...(timeout !== undefined ? { timeout } : {}),
    stdio: 'inherit',
    detached: true,
    onCoordinatorError: (e) => started && errMsg(e.message),
  });
  started = true;
  if (!job.launched) {
    // Daemons only: nothing of the computation is in the foreground any more (see --help).
    const n = job.processes.length;
    msg(`restarted generation ${job.generation}: ${n} process${n === 1 ? '' : 'es'} running in the background (the launched process had exited before the checkpoint)`);
    return 0;
  }
  setJob(job);
  return exitCodeOf(await job.exited);
}

/** `amber restart --copies N`: one line per copy on stdout, then waits for all of them. */
async function restartCopiesCli(
  target: string | undefined,
  values: { dir?: string | undefined; coord?: string | undefined; copies?: string | undefined; 'copies-dir'?: string | undefined; 'copy-output'?: boolean | undefined },
  interval: number | undefined,
  timeout: number | undefined,
): Promise<number> {
  const n = count('copies', values.copies)!;
  if (n > MAX_COPIES) throw new UsageError(`--copies wants at most ${MAX_COPIES}, not ${n}`);
  if (values.coord !== undefined) throw new UsageError('restart: --copies starts a coordinator per copy; --coord cannot go with it');
  const setJob = forwardSignals();
  const files = values['copy-output'] === true;
  const F = fsConstants;
  const outFile = (dir: string, name: string): number => openSync(join(dir, name), F.O_WRONLY | F.O_CREAT | F.O_TRUNC | F.O_NOFOLLOW, 0o600);
  let started = false;
  // The copies' coordinators run in this command, which waits for every copy anyway: one node
  // process instead of one background coordinator per copy (what a harness starting many copies
  // pays for). Daemons only (no launched process in the generation): restart returns at once,
  // so their coordinators must live on without it, in the background.
  const manifest = await readManifest(await resolveManifestPath(target ?? defaultDir(values.dir)));
  const daemons = !manifest.processes.some((p) => p.parent === 0);
  const r = await restart(target, {
    ...(values.dir !== undefined ? { dir: values.dir } : {}),
    ...(values['copies-dir'] !== undefined ? { copiesDir: values['copies-dir'] } : {}),
    ...(interval !== undefined ? { interval } : {}),
    ...(timeout !== undefined ? { timeout } : {}),
    copies: n,
    // N programs cannot share one terminal's input.
    stdio: ['ignore', 'inherit', 'inherit'],
    ...(files ? { copyStdio: (_copy: number, dir: string) => ['ignore', outFile(dir, 'stdout'), outFile(dir, 'stderr')] } : {}),
    detached: daemons,
    onCoordinatorError: (e) => started && errMsg(e.message),
  });
  started = true;
  setJob(r);
  for (const c of r.copies) {
    if (c.job !== undefined) out(`copy ${c.copy} pid ${c.job.pid} dir ${c.dir}`);
    else {
      out(`copy ${c.copy} failed dir ${c.dir}`);
      errMsg(c.error!.message);
    }
  }
  if (r.copies.every((c) => c.job === undefined || !c.job.launched)) return r.copies.find((c) => c.error !== undefined)?.error?.exitCode ?? 0;
  const statuses = await r.exited;
  let code = 0;
  for (const [i, c] of r.copies.entries()) {
    const st = statuses[i];
    const k = c.error !== undefined ? c.error.exitCode : st !== null && st !== undefined && c.job?.launched === true ? exitCodeOf(st) : 0;
    if (k !== 0 && st !== null && st !== undefined) msg(`copy ${c.copy} exited with status ${k}`);
    if (k !== 0 && code === 0) code = k;
  }
  return code;
}

function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')).join('\n') + '\n';
}

function fmtStatus(s: StatusResult): string {
  let t = `coordinator  pid ${s.coordinator.pid}  ${s.coordinator.listen}\n`;
  t += `dir          ${s.coordinator.dir}\n`;
  t += `generation   ${s.generation === 0 ? 'none yet' : s.generation}\n`;
  t += `processes    ${s.processes.length}\n`;
  if (s.processes.length > 0) {
    t += table([['VPID', 'PID', 'PARENT', 'HOST', 'STATE', 'COMMAND'], ...s.processes.map((p) => [String(p.vpid), String(p.pid), String(p.parent), p.host, p.state, p.cmd])]);
  }
  return t;
}

async function cmdStatus(args: string[]): Promise<number> {
  const { values, positionals } = parse('status', args);
  if (values.help === true) return help('status');
  noPositionals('status', positionals);
  exclusive('status', values);
  const s = await clientStatus({ ...where(values), timeout: 30 });
  out(values.json === true ? JSON.stringify(s) : fmtStatus(s));
  return 0;
}

function size(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

function hexSpan(start: string, end: string): number {
  try {
    return Number(BigInt(end) - BigInt(start));
  } catch {
    return 0;
  }
}

function fmtImage(i: ImageInfo): string {
  let t = '';
  t += `image       ${i.path}\n`;
  t += `format      ${i.version.major}.${i.version.minor}  ${i.arch}  page ${i.pageSize}\n`;
  t += `process     vpid ${i.vpid}  parent ${i.parentVpid}  pid ${i.pid}  generation ${i.generation}\n`;
  t += `taken       ${new Date(i.time).toISOString()} on ${i.hostname}\n`;
  t += `system      kernel ${i.kernel}  libc ${i.libc}\n`;
  t += `command     ${i.cmdline.join(' ')}\n`;
  t += `cwd         ${i.cwd}\n`;
  t += `exe         ${i.exe}\n`;
  t += `size        file ${size(i.fileSize)}; ${i.pagesStored} of ${i.pagesTotal} pages stored in ${i.chunks} chunks (${size(i.storedBytes)})\n`;
  t += `\nthreads (${i.threads.length})\n`;
  t += table([['TID', 'ROLE', 'FS_BASE', 'RSEQ'], ...i.threads.map((th) => [String(th.tid), th.ckpt ? 'checkpoint' : th.main ? 'main' : 'thread', th.fsBase, th.rseq ? 'yes' : 'no'])]);
  t += `\nregions (${i.regions.length})\n`;
  t += table([
    ['START', 'END', 'PROT', 'SIZE', 'STORED', 'CHUNKS', 'FLAGS', 'PATH'],
    ...i.regions.map((r) => [r.start, r.end, r.prot, size(hexSpan(r.start, r.end)), size(r.storedBytes), String(r.chunks), r.flags.join(',') || '-', r.path]),
  ]);
  t += `\nfile descriptors (${i.fds.length})\n`;
  if (i.fds.length > 0) t += table([['FD', 'KIND', 'FLAGS', 'POS', 'PATH'], ...i.fds.map((f) => [String(f.fd), f.kind, String(f.flags), String(f.pos), f.path])]);
  if (i.timers.length > 0) {
    t += `\ntimers (${i.timers.length})\n`;
    t += table([['ID', 'CLOCK', 'SIGNAL'], ...i.timers.map((x) => [String(x.id), String(x.clockid), String(x.signo)])]);
  }
  return t;
}

function fmtManifest(m: Manifest, path: string): string {
  let t = `manifest    ${path}\n`;
  t += `generation  ${m.generation}\n`;
  t += `time        ${m.time}\n`;
  t += `dir         ${m.dir}\n`;
  t += `size        ${size(m.bytes)} in ${m.processes.length} image(s), written in ${m.seconds.toFixed(3)} s\n\n`;
  t += table([['VPID', 'PID', 'PARENT', 'HOST', 'SIZE', 'IMAGE', 'COMMAND'], ...m.processes.map((p) => [String(p.vpid), String(p.pid), String(p.parent), p.host, size(p.bytes), p.image, p.cmd])]);
  return t;
}

function fmtPlugins(r: PluginsResult): string {
  const rows = [['VPID', 'PID', 'PLUGIN', 'WRAPS', 'PATH']];
  for (const p of r.processes) {
    if (p.plugins.length === 0) rows.push([String(p.vpid), String(p.pid), '-', '-', '']);
    for (const pl of p.plugins) rows.push([String(p.vpid), String(p.pid), pl.name, pl.wraps.join(',') || '-', pl.path]);
  }
  return r.processes.length === 0 ? 'no processes\n' : table(rows);
}

async function cmdPlugins(args: string[]): Promise<number> {
  const { values, positionals } = parse('plugins', args);
  if (values.help === true) return help('plugins');
  noPositionals('plugins', positionals);
  exclusive('plugins', values);
  const r = await clientPlugins({ ...where(values), timeout: 30 });
  out(values.json === true ? JSON.stringify(r) : fmtPlugins(r));
  return 0;
}

async function cmdInspect(args: string[]): Promise<number> {
  const { values, positionals } = parse('inspect', args);
  if (values.help === true) return help('inspect');
  if (positionals.length !== 1) throw new UsageError('inspect: give exactly one IMAGE or MANIFEST');
  const target = positionals[0] as string;
  if (await looksLikeManifest(target)) {
    const mpath = await resolveManifestPath(target);
    const m = await readManifest(mpath);
    let verified: Array<{ image: string; chunks: number; bytes: number }> | undefined;
    // checked and bound to the manifest first (lib/verify.ts)
    if (values.verify === true) verified = await verifyGeneration(m, mpath);
    if (values.json === true) out(JSON.stringify(verified === undefined ? m : { ...m, verified }));
    else {
      let t = fmtManifest(m, mpath);
      for (const v of verified ?? []) t += `verified    ${v.image}: ${v.chunks} chunks, ${size(v.bytes)}\n`;
      out(t);
    }
    return 0;
  }
  const { info, verified } = await inspectImage(target, values.verify === true);
  if (values.json === true) out(JSON.stringify(verified === undefined ? info : { ...info, verified }));
  else out(fmtImage(info) + (verified !== undefined ? `\nverified    ${verified.chunks} chunks, ${size(verified.bytes)}\n` : ''));
  return 0;
}

async function cmdCoordinator(args: string[]): Promise<number> {
  const { values, positionals } = parse('coordinator', args);
  if (values.help === true) return help('coordinator');
  noPositionals('coordinator', positionals);
  const interval = seconds('interval', values.interval);
  const keep = count('keep', values.keep);
  // --listen twice: a socket path and a TCP address, at most one of each.
  let socketPath: string | undefined;
  let tcp: string | undefined;
  for (const l of values.listen ?? []) {
    const a = parseAddressArg('--listen', l, { listen: true });
    if (a.kind === 'unix' ? socketPath !== undefined : tcp !== undefined) {
      throw new UsageError(`coordinator: one --listen socket path and one TCP address at most`);
    }
    if (a.kind === 'unix') socketPath = a.path;
    else tcp = l;
  }
  const c = await Coordinator.start({
    dir: defaultDir(values.dir),
    ...(socketPath !== undefined ? { socketPath } : {}),
    ...(tcp !== undefined ? { listen: tcp } : {}),
    ...(interval !== undefined ? { interval } : {}),
    ...(keep !== undefined ? { keep } : {}),
    autoClose: values['exit-when-done'] === true,
  });
  const json = values.json === true;
  const ev = (event: string, data: object): void => {
    if (json) out(JSON.stringify({ event, ...data }));
  };
  msg(`coordinator ${process.pid} listening at ${c.socketPath}${c.tcpAddress !== undefined ? ` and ${c.tcpAddress} (token in ${c.tokenPath})` : ''}`);
  ev('listen', { pid: process.pid, dir: c.dir, socket: c.socketPath, ...(c.tcpAddress !== undefined ? { tcp: c.tcpAddress } : {}) });
  const detached = c.processes().filter((p) => p.state === 'detached').length;
  if (detached > 0) msg(`waiting for ${detached} process(es) of the previous coordinator to reconnect`);
  c.on('register', (p) => ev('register', p));
  c.on('exit', (p) => ev('exit', p));
  c.on('suspend', (e) => ev('suspend', e));
  c.on('resume', (e) => ev('resume', e));
  c.on('plugin', (e) => ev('plugin', e));
  c.on('checkpoint', (r) => {
    msg(`checkpoint ${r.generation} written: ${r.manifest}`);
    ev('checkpoint', r);
  });
  c.on('restart', (r) => {
    msg(`restarted generation ${r.generation}${r.copy !== undefined ? ` as copy ${r.copy}` : ''} (${r.processes.length} processes)`);
    ev('restart', r);
  });
  c.on('error', (e) => {
    errMsg(e.message);
    ev('error', { code: e.code, message: e.message });
  });
  // SIGUSR1 (what Slurm's --signal delivers): a checkpoint, the coordinator keeps running.
  process.on('SIGUSR1', () => {
    c.checkpoint().catch((e: unknown) => {
      const ae = toAmberError(e);
      errMsg(`checkpoint failed: ${ae.message}`);
      ev('error', { code: ae.code, message: ae.message });
    });
  });
  const ended = await new Promise<boolean>((res) => {
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, () => res(false));
    c.once('close', () => res(true));
  });
  if (ended) msg(`the computation has ended; coordinator ${process.pid} exits`);
  await c.close();
  ev('close', { pid: process.pid, ended });
  return 0;
}

function help(cmd?: Command): number {
  out(cmd === undefined ? GLOBAL_HELP : (HELP[cmd] ?? GLOBAL_HELP));
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    process.stderr.write(GLOBAL_HELP);
    return 2;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    const topic = rest[0];
    if (topic === 'job') return (out((await import('./job.js')).JOB_HELP), 0);
    if (topic === 'sbatch-example') return (out((await import('./job.js')).SBATCH_EXAMPLE_HELP), 0);
    if (topic !== undefined && isCommand(topic)) return help(topic);
    return help();
  }
  if (first === '--version' || first === '-V' || first === 'version') {
    out(version());
    return 0;
  }
  // Slurm commands parse their own options (lib/job.ts), loaded only for them: every other command
  // (restart, and the background coordinator restart and launch start) is one node start-up that
  // would otherwise compile the Slurm module for nothing (~15 ms of each on the CI VM).
  if (first === 'job') return (await import('./job.js')).jobMain(rest);
  if (first === 'sbatch-example') return (await import('./job.js')).sbatchExampleMain(rest);
  if (!isCommand(first)) throw new UsageError(`unknown command ${JSON.stringify(first)} (see amber --help)`);
  switch (first) {
    case 'launch':
      return cmdLaunch(rest);
    case 'checkpoint':
      return cmdCheckpoint(rest);
    case 'restart':
      return cmdRestart(rest);
    case 'status':
      return cmdStatus(rest);
    case 'inspect':
      return cmdInspect(rest);
    case 'coordinator':
      return cmdCoordinator(rest);
    case 'plugins':
      return cmdPlugins(rest);
  }
}

/** Reports an error the CLI way and returns its exit code. */
export function report(e: unknown): number {
  const ae = toAmberError(e);
  if (!ae.reported) errMsg(ae instanceof UsageError ? `${ae.message} (see amber --help)` : ae.message);
  return ae.exitCode;
}

// Only run when executed (bin, `node dist/lib/cli.js`), not when imported by tests.
function isMain(): boolean {
  const self = process.argv[1];
  if (self === undefined) return false;
  try {
    return realpathSync(self) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}
if (isMain()) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => process.exit(report(e)),
  );
}
