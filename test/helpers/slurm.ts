// A real single-node Slurm for the tests: Debian's munged, slurmctld and slurmd, started by
// scripts/slurm/start-local-slurm.sh in a temp dir (no systemd, nothing in /etc touched), stopped by
// pid in t.teardown by scripts/slurm/stop-local-slurm.sh.
//
//   const why = ensureSlurm()                 // installs slurm-wlm + munge with apt if missing
//   if (why) return t.skip(why)
//   const s = await startSlurm(t)             // cluster up, node idle; teardown stops it
//   const id = await s.sbatch(script, { out, err, args: ['--time=1'] })
//   await s.waitState(id, 'RUNNING', 30_000)
//   await s.run('scancel', ['--signal=USR1', '--batch', id])
//   await s.waitDone(id, 120_000)             // -> scontrol show job fields
import { execFile, execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { repoRoot } from './fixtures.js'

const execFileP = promisify(execFile)

export interface TestLike {
  teardown(fn: () => unknown): void
  comment(...args: unknown[]): void
}

const scripts = join(repoRoot, 'scripts', 'slurm')
const PATH = `${process.env.PATH ?? '/usr/bin:/bin'}:/usr/sbin:/sbin`
const BINARIES = ['munged', 'mungekey', 'slurmctld', 'slurmd', 'sbatch', 'srun', 'scontrol', 'squeue', 'scancel', 'sinfo']
/** Temp dirs of clusters the tests start: a leftover one (a killed test run) is stopped first. */
const STATE_PREFIX = 'amber-slurm-'

function have(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`], { env: { ...process.env, PATH }, stdio: 'ignore' }).status === 0
}

/**
 * Makes sure Slurm and munge are installed (apt-get install slurm-wlm munge when a binary is
 * missing). Returns undefined when ready, else why the Slurm tests must be skipped.
 */
export function ensureSlurm(): string | undefined {
  if (process.getuid?.() !== 0) return 'the Slurm tests run munged, slurmctld and slurmd as root: run them as root'
  if (BINARIES.every(have)) return undefined
  if (!have('apt-get')) return `Slurm is not installed (missing ${BINARIES.filter((b) => !have(b)).join(', ')}) and there is no apt-get`
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', PATH }
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'slurm-wlm', 'munge'], { env, encoding: 'utf8', timeout: 600_000 })
  let r = install()
  if (r.status !== 0) {
    // Package lists may be missing (a fresh container): update once and try again.
    spawnSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore', timeout: 300_000 })
    r = install()
  }
  if (r.status !== 0 || !BINARIES.every(have)) {
    return `cannot install Slurm with apt-get (status ${r.status}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`
  }
  return undefined
}

/** A free TCP port on 127.0.0.1 (bind to 0, read, close). */
function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = net.createServer()
    s.once('error', rej)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      const port = typeof a === 'object' && a !== null ? a.port : 0
      s.close(() => res(port))
    })
  })
}

function alive(pid: number): boolean {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'latin1')
    const state = st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3)
    return state !== 'Z' && state !== 'X'
  } catch {
    return false
  }
}

function readPids(state: string): Array<{ name: string; pid: number }> {
  try {
    return readFileSync(join(state, 'pids'), 'utf8')
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length === 2)
      .map(([name, pid]) => ({ name: name!, pid: Number(pid) }))
  } catch {
    return []
  }
}

/**
 * Live processes whose environment names this cluster's slurm.conf: with jobsOnly, just job
 * processes (they also carry SLURM_JOB_ID), else the daemons and slurmstepd too.
 */
export function clusterProcesses(conf: string, jobsOnly = false): Array<{ pid: number; cmd: string }> {
  const out: Array<{ pid: number; cmd: string }> = []
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue
    const pid = Number(n)
    if (pid === process.pid) continue
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0')
      if (!env.includes(`SLURM_CONF=${conf}`) || !alive(pid)) continue
      if (jobsOnly && !env.some((e) => e.startsWith('SLURM_JOB_ID='))) continue
      out.push({ pid, cmd: readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim() })
    } catch {
      // gone or not readable
    }
  }
  return out
}

function read(p: string): string {
  try {
    return readFileSync(p, 'utf8')
  } catch {
    return ''
  }
}

function stopCluster(state: string): string {
  const r = spawnSync(join(scripts, 'stop-local-slurm.sh'), [state], { encoding: 'utf8', env: { ...process.env, PATH }, timeout: 120_000 })
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim()
}

/**
 * Stops clusters a killed earlier test run left behind: their temp dirs still list live daemons
 * but the test process that started them (its pid in `owner`) is gone. Another test run's live
 * cluster is left alone.
 */
function stopLeftovers(t: TestLike): void {
  const base = tmpdir()
  for (const n of readdirSync(base)) {
    if (!n.startsWith(STATE_PREFIX)) continue
    const state = join(base, n, 'state')
    const owner = Number(read(join(base, n, 'owner')).trim())
    if (owner > 0 && alive(owner)) continue
    if (readPids(state).some((p) => alive(p.pid))) {
      t.comment(`stopping a Slurm cluster left over in ${state}`)
      stopCluster(state)
    }
  }
}

export interface JobInfo {
  [key: string]: string
}

export class LocalSlurm {
  readonly env: NodeJS.ProcessEnv
  readonly conf: string
  constructor(
    readonly base: string,
    readonly state: string,
  ) {
    this.conf = join(state, 'etc', 'slurm.conf')
    this.env = { ...cleanEnv(), SLURM_CONF: this.conf, PATH }
  }

  /** Runs a Slurm client command; rejects on a non-zero exit with its output. */
  async run(cmd: string, args: string[], timeoutMs = 30_000): Promise<string> {
    try {
      const r = await execFileP(cmd, args, { env: this.env, cwd: this.base, timeout: timeoutMs, encoding: 'utf8' })
      return r.stdout
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string; message: string }
      throw new Error(`${cmd} ${args.join(' ')} failed: ${(err.stderr || err.stdout || err.message).trim()}`)
    }
  }

  /** sbatch --parsable; returns the job id. */
  async sbatch(script: string, args: string[] = []): Promise<string> {
    const out = await this.run('sbatch', ['--parsable', ...args, script])
    const id = out.trim().split(';')[0]!
    if (!/^\d+$/.test(id)) throw new Error(`sbatch printed no job id: ${out}`)
    return id
  }

  /** `scontrol show job -o ID` as key → value; undefined once the job is unknown. */
  async job(id: string): Promise<JobInfo | undefined> {
    let out: string
    try {
      out = await this.run('scontrol', ['show', 'job', '-o', id])
    } catch {
      return undefined
    }
    const info: JobInfo = {}
    for (const m of out.matchAll(/(?:^|\s)([A-Za-z][A-Za-z0-9_:/]*)=(\S*)/g)) if (!(m[1]! in info)) info[m[1]!] = m[2] ?? ''
    return info
  }

  /** Waits until pred(job) holds; returns the job's fields. */
  async waitJob(id: string, pred: (j: JobInfo) => boolean, timeoutMs: number, what: string): Promise<JobInfo> {
    const end = Date.now() + timeoutMs
    let last: JobInfo | undefined
    for (;;) {
      last = await this.job(id)
      if (last !== undefined && pred(last)) return last
      if (Date.now() > end) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for job ${id} to be ${what}; last: JobState=${last?.JobState} Restarts=${last?.Restarts} Reason=${last?.Reason}`)
      }
      await new Promise((r) => setTimeout(r, 200))
    }
  }

  waitState(id: string, state: string, timeoutMs: number): Promise<JobInfo> {
    return this.waitJob(id, (j) => j.JobState === state, timeoutMs, state)
  }

  /** Until the job has ended for good (COMPLETED, FAILED, CANCELLED, TIMEOUT, ...). */
  waitDone(id: string, timeoutMs: number): Promise<JobInfo> {
    const final = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'BOOT_FAIL', 'DEADLINE', 'PREEMPTED'])
    return this.waitJob(id, (j) => final.has(j.JobState ?? ''), timeoutMs, 'finished')
  }

  /**
   * Stops the cluster (jobs cancelled, daemons stopped by pid, leftover job processes killed) and
   * returns what is still alive afterwards: the daemons' pids and this cluster's job processes.
   */
  async stop(): Promise<{ output: string; alive: Array<{ pid: number; cmd: string }> }> {
    const pids = readPids(this.state)
    const output = pids.length > 0 ? stopCluster(this.state) : ''
    await new Promise((r) => setTimeout(r, 200))
    const left = [...pids.filter((p) => alive(p.pid)).map((p) => ({ pid: p.pid, cmd: p.name })), ...clusterProcesses(this.conf)]
    return { output, alive: left }
  }

  logs(): string {
    const tail = (p: string) => {
      try {
        return readFileSync(p, 'utf8').split('\n').slice(-15).join('\n')
      } catch {
        return '(none)'
      }
    }
    return `slurmctld.log:\n${tail(join(this.state, 'log', 'slurmctld.log'))}\nslurmd.log:\n${tail(join(this.state, 'log', 'slurmd.log'))}`
  }
}

/** The test's environment without tap's loaders (they must not reach node inside jobs). */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const k of Object.keys(env)) {
    if (k === 'NODE_OPTIONS' || k === 'NODE_V8_COVERAGE' || k.startsWith('TAP') || k.startsWith('_TAP') || k.startsWith('SLURM_') || k.startsWith('AMBER_')) delete env[k]
  }
  return env
}

/**
 * Starts a private cluster (free ports, temp state dir). t.teardown cancels jobs, stops the daemons
 * by pid, kills leftover job processes, and reports in a comment anything still alive.
 */
export async function startSlurm(t: TestLike): Promise<LocalSlurm> {
  stopLeftovers(t)
  const base = mkdtempSync(join(tmpdir(), STATE_PREFIX))
  // munged wants every directory above its socket searchable by all (mkdtemp makes 0700).
  chmodSync(base, 0o755)
  writeFileSync(join(base, 'owner'), `${process.pid}\n`)
  const state = join(base, 'state')
  const s = new LocalSlurm(base, state)
  const [ctld, d] = [await freePort(), await freePort()]
  t.teardown(() => {
    const pids = readPids(state)
    if (pids.length > 0) t.comment(stopCluster(state))
    const left = [...pids.filter((p) => alive(p.pid)).map((p) => ({ pid: p.pid, cmd: p.name })), ...clusterProcesses(s.conf)]
    for (const p of left) {
      try {
        process.kill(p.pid, 'SIGKILL')
      } catch {
        // gone
      }
    }
    if (left.length > 0) t.comment(`killed leftovers: ${JSON.stringify(left)}`)
    if (!process.env.AMBER_TEST_KEEP) rmSync(base, { recursive: true, force: true })
  })
  try {
    execFileSync(join(scripts, 'start-local-slurm.sh'), [state], {
      env: { ...s.env, SLURMCTLD_PORT: String(ctld), SLURMD_PORT: String(d), SLURM_CLEAN_STATE: '1' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
    })
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string }
    throw new Error(`start-local-slurm.sh failed: ${(err.stderr || err.stdout || err.message).trim()}\n${s.logs()}`)
  }
  t.comment(`local Slurm up in ${state} (slurmctld :${ctld}, slurmd :${d}): ${readPids(state).map((p) => `${p.name} ${p.pid}`).join(', ')}`)
  return s
}

/** The counter the Slurm tests run: prints 1, 2, ... every PERIOD ms, up to LIMIT, then exits 0. */
const COUNTER_C = `#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static void sleep_ms(long ms) {
  struct timespec req = {ms / 1000, (ms % 1000) * 1000000L}, rem;
  while (nanosleep(&req, &rem) != 0 && errno == EINTR) req = rem;
}
int main(int argc, char **argv) {
  long period = argc > 1 ? atol(argv[1]) : 100;
  unsigned long limit = argc > 2 ? strtoul(argv[2], NULL, 10) : 0;
  if (period <= 0) period = 100;
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (unsigned long n = 1; limit == 0 || n <= limit; n++) {
    printf("%lu\\n", n);
    fflush(stdout);
    sleep_ms(period);
  }
  return 0;
}
`

/**
 * Compiles the counter into dir: test/fixtures/counter.c's loop with a finishing count
 * (`counter PERIOD_MS LIMIT`), so a job ends by itself.
 */
export function buildCounter(dir: string): string {
  const src = join(dir, 'counter.c')
  const out = join(dir, 'counter')
  writeFileSync(src, COUNTER_C)
  execFileSync(process.env.CC ?? 'cc', ['-O1', '-g', '-Wall', '-o', out, src], { stdio: ['ignore', 'pipe', 'pipe'] })
  return out
}

/**
 * How a job script calls amber: `node dist/lib/cli.js job` once the CLI routes `job`, else the
 * stand-alone dist/lib/job-cli.js.
 */
export function amberJobCommand(): string {
  const cli = join(repoRoot, 'dist', 'lib', 'cli.js')
  const jobCli = join(repoRoot, 'dist', 'lib', 'job-cli.js')
  if (existsSync(cli)) {
    const r = spawnSync(process.execPath, [cli, 'job', '--help'], { encoding: 'utf8', env: cleanEnv(), timeout: 30_000 })
    if (r.status === 0 && r.stdout.includes('amber job')) return `${process.execPath} ${cli}`
  }
  return `${process.execPath} ${jobCli}`
}

const nodesScript = join(repoRoot, 'test', 'helpers', 'slurm-nodes.sh')
const NODES_PREFIX = 'amber-slurmn-'

function stopNodes(state: string): string {
  const r = spawnSync(nodesScript, ['stop', state], { encoding: 'utf8', env: { ...process.env, PATH }, timeout: 120_000 })
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim()
}

/** What the multi-node tests need besides Slurm: ip (iproute2, installed like Slurm when missing), nsenter, unshare. */
export function ensureNodes(): string | undefined {
  const why = ensureSlurm()
  if (why !== undefined) return why
  if (!have('ip')) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', PATH }
    const r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'iproute2'], { env, encoding: 'utf8', timeout: 600_000 })
    if (r.status !== 0) return `cannot install iproute2 with apt-get (status ${r.status}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`
  }
  const missing = ['ip', 'nsenter', 'unshare', 'hostname'].filter((b) => !have(b))
  return missing.length > 0 ? `missing ${missing.join(', ')}` : undefined
}

/** A cluster of several nodes (test/helpers/slurm-nodes.sh): nodes[k] = { name, ip, netns }. */
export class NodesSlurm extends LocalSlurm {
  constructor(
    base: string,
    state: string,
    readonly nodes: Array<{ name: string; ip: string; netns: string }>,
  ) {
    super(base, state)
  }

  override async stop(): Promise<{ output: string; alive: Array<{ pid: number; cmd: string }> }> {
    const pids = readPids(this.state)
    const output = stopNodes(this.state)
    await new Promise((r) => setTimeout(r, 200))
    const left = [...pids.filter((p) => alive(p.pid)).map((p) => ({ pid: p.pid, cmd: p.name })), ...clusterProcesses(this.conf)]
    return { output, alive: left }
  }

  /** Network namespaces and links of this cluster that still exist. */
  netLeft(): string[] {
    const ns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8', env: { ...process.env, PATH } }).stdout ?? ''
    const links = spawnSync('ip', ['-o', 'link'], { encoding: 'utf8', env: { ...process.env, PATH } }).stdout ?? ''
    const tag = this.nodes[0]!.netns.replace(/-n1$/, '')
    return [...ns.split('\n').filter((l) => l.startsWith(`${tag}-`)), ...links.split('\n').filter((l) => new RegExp(`: ${tag}(br|v\\d)`).test(l))]
  }

  override logs(): string {
    const tail = (p: string) => {
      try {
        return readFileSync(p, 'utf8').split('\n').slice(-15).join('\n')
      } catch {
        return '(none)'
      }
    }
    return [`slurmctld.log:\n${tail(join(this.state, 'log', 'slurmctld.log'))}`, ...this.nodes.map((n) => `slurmd-${n.name}.log:\n${tail(join(this.state, 'log', `slurmd-${n.name}.log`))}`)].join('\n')
  }
}

/**
 * Starts a cluster of `nodes` nodes, each slurmd in its own network and UTS namespace
 * (test/helpers/slurm-nodes.sh), on a free /24 of 10.213.0.0/16. t.teardown stops it (daemons and
 * job processes by pid, links and namespaces deleted); a cluster left by a killed run is stopped first.
 */
export async function startSlurmNodes(t: TestLike, nodes = 3): Promise<NodesSlurm> {
  const base0 = tmpdir()
  for (const n of readdirSync(base0)) {
    if (!n.startsWith(NODES_PREFIX)) continue
    const owner = Number(read(join(base0, n, 'owner')).trim())
    if (owner > 0 && alive(owner)) continue
    const state = join(base0, n, 'state')
    if (existsSync(join(state, 'pids')) || existsSync(join(state, 'net'))) {
      t.comment(`stopping a multi-node Slurm cluster left over in ${state}`)
      stopNodes(state)
    }
    rmSync(join(base0, n), { recursive: true, force: true })
  }
  const base = mkdtempSync(join(tmpdir(), NODES_PREFIX))
  chmodSync(base, 0o755)
  writeFileSync(join(base, 'owner'), `${process.pid}\n`)
  const state = join(base, 'state')
  // a /24 no interface here has yet, and a tag of our own for link, namespace and node names
  const used = spawnSync('ip', ['-4', '-o', 'addr'], { encoding: 'utf8', env: { ...process.env, PATH } }).stdout ?? ''
  let third = 20 + (process.pid % 200)
  while (used.includes(` 10.213.${third}.`)) third = 20 + ((third - 19) % 200)
  const subnet = `10.213.${third}`
  const tag = `am${process.pid % 100000}`
  const list = Array.from({ length: nodes }, (_, i) => ({ name: `${tag}n${i + 1}`, ip: `${subnet}.${11 + i}`, netns: `${tag}-n${i + 1}` }))
  const s = new NodesSlurm(base, state, list)
  const [ctld, d] = [await freePort(), await freePort()]
  t.teardown(() => {
    const pids = readPids(state)
    if (pids.length > 0 || existsSync(join(state, 'net'))) t.comment(stopNodes(state))
    const left = clusterProcesses(s.conf)
    for (const p of left) {
      try {
        process.kill(p.pid, 'SIGKILL')
      } catch {
        // gone
      }
    }
    if (left.length > 0) t.comment(`killed leftovers: ${JSON.stringify(left)}`)
    if (!process.env.AMBER_TEST_KEEP) rmSync(base, { recursive: true, force: true })
  })
  try {
    execFileSync(nodesScript, ['start', state], {
      env: { ...s.env, NODES: String(nodes), SUBNET: subnet, TAG: tag, SLURMCTLD_PORT: String(ctld), SLURMD_PORT: String(d) },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
    })
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string }
    throw new Error(`slurm-nodes.sh start failed: ${(err.stderr || err.stdout || err.message).trim()}\n${s.logs()}`)
  }
  t.comment(`local Slurm of ${nodes} nodes up in ${state}: ${list.map((n) => `${n.name} ${n.ip}`).join(', ')}; ${readPids(state).map((p) => `${p.name} ${p.pid}`).join(', ')}`)
  return s
}
