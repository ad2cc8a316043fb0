// The one-state corpus (test/corpus/): builds each program, runs it without amber (the sanity
// reference) and under amber (launch → live checkpoint → checkpoint --kill → restart), and says
// what happened. test/helpers/corpus-suite.ts turns the outcomes into tap tests.
//
// A corpus program prints READY once its state is set up, then waits for one line on stdin; on
// that line it verifies its state and prints PASS (exit 0), FAIL: <what differs> (exit 1), or —
// before READY, when the state cannot be set up here — SKIP: <why> (exit 0). See
// test/corpus/corpus.h.
//
//   const progs = listPrograms()                   // test/corpus/*.{c,sh,py}
//   const argv = await buildProgram(progs[0])      // compiled (cached) or [interpreter, script]
//   const plain = await runPlain(argv)             // { verdict: 'pass' | 'fail' | 'skip', detail, ... }
//   const under = await runUnderAmber(argv)
//
// Every process carries the AMBER_TEST_TAG of its own Amber world (test/helpers/amber.ts), and
// each run ends with that world's cleanup (SIGKILL to everything tagged, then the temp dir is
// removed): a hang costs its timeout, never the rest of the suite.
import { execFile, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs'
import { basename, extname, join } from 'node:path'
import { promisify } from 'node:util'
import { Amber, type Checkpoint, cliPath, Proc, runAs } from './amber.js'
import { cacheDir, python3, repoRoot } from './fixtures.js'

const run = promisify(execFile)

export const corpusDir = join(repoRoot, 'test', 'corpus')
const corpusCache = join(cacheDir, 'corpus')

export interface Program {
  name: string
  src: string
  kind: 'c' | 'sh' | 'py'
}

/** Every program in test/corpus/, sorted by name (CORPUS_ONLY=<regex> narrows it). */
export function listPrograms(): Program[] {
  const only = process.env.CORPUS_ONLY ? new RegExp(process.env.CORPUS_ONLY) : null
  const out: Program[] = []
  for (const f of readdirSync(corpusDir).sort()) {
    const ext = extname(f)
    const kind = ext === '.c' ? 'c' : ext === '.sh' ? 'sh' : ext === '.py' ? 'py' : null
    if (!kind) continue
    const name = basename(f, ext)
    if (only && !only.test(name)) continue
    out.push({ name, src: join(corpusDir, f), kind })
  }
  return out
}

function mtime(p: string): number {
  try {
    return statSync(p).mtimeMs
  } catch {
    return -1
  }
}

/**
 * The argv that runs a program: a compiled binary or an interpreter and its script. Binaries are
 * cached under a hash of the source, the corpus headers and the flags (other worktrees share the
 * cache directory, and an mtime says nothing about whose source a binary came from).
 */
export async function buildProgram(p: Program): Promise<string[]> {
  if (p.kind === 'sh') return ['/bin/bash', p.src]
  if (p.kind === 'py') return [python3, p.src]
  const cc = process.env.CC ?? 'cc'
  const flags = ['-std=gnu11', '-O1', '-g', '-Wall', '-Wextra', '-Werror', '-pthread', '-I', corpusDir]
  const h = createHash('sha256').update(cc).update(flags.join(' ')).update(readFileSync(p.src))
  for (const f of readdirSync(corpusDir).filter((f) => f.endsWith('.h')).sort()) h.update(f).update(readFileSync(join(corpusDir, f)))
  mkdirSync(corpusCache, { recursive: true, mode: 0o755 })
  try {
    chmodSync(cacheDir, 0o755)
    chmodSync(corpusCache, 0o755)
  } catch {
    // not ours: the compile below fails loudly if we cannot write
  }
  const out = join(corpusCache, `${p.name}-${h.digest('hex').slice(0, 12)}`)
  if (mtime(out) > 0) return [out]
  const tmp = `${out}.${process.pid}.tmp`
  try {
    await run(cc, [...flags, '-o', tmp, p.src, '-lrt'])
  } catch (e) {
    const err = e as { stderr?: string; message: string }
    throw new Error(`compiling ${p.src} failed: ${err.stderr ?? err.message}`)
  }
  chmodSync(tmp, 0o755)
  renameSync(tmp, out)
  return [out]
}

export type Verdict = 'pass' | 'fail' | 'skip'

export interface Outcome {
  verdict: Verdict
  /** For fail: the stage and what went wrong; for skip: the program's reason; for pass: ''. */
  detail: string
  /** Milliseconds from start to verdict. */
  ms: number
  /** Everything the program printed (stdout lines), for the report. */
  lines: string[]
  /** Seconds per stage (launch, live checkpoint, checkpoint --kill, restart to verdict, cleanup). */
  stages?: Record<string, number>
}

/** "launch 0.4, ck 0.3, ..." from a stage map. */
export function stageText(st: Record<string, number> | undefined): string {
  return st ? Object.entries(st).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ') : ''
}

export interface RunOptions {
  /** Per stage: READY after launch/restart, exit after the go line (ms). */
  timeoutMs?: number
}

const GO = 'go\n'
/** After `amber:` on stderr, how long a silent program may still take to give its verdict. */
const STUCK_AFTER_AMBER_ERROR_MS = 5_000

/** Start a command in the world's tag, stdin/stdout/stderr piped, as the test user if there is one. */
function spawnIn(a: Amber, argv: string[], label: string[]): Proc {
  const who = runAs()
  const full = who ? ['setpriv', `--reuid=${who.uid}`, `--regid=${who.gid}`, '--init-groups', '--', ...argv] : argv
  const child = spawn(full[0]!, full.slice(1), { cwd: a.base, env: a.env(), stdio: ['pipe', 'pipe', 'pipe'] })
  child.stdin!.on('error', () => {}) // EPIPE when the program is already gone: its exit tells us why
  const p = new Proc(child, label)
  a.procs.push(p)
  return p
}

/** The CLI's argv as amber.ts runs it (NODE_OPTIONS removed after tap's spawn hook put it back). */
function cli(args: string[]): string[] {
  return ['/usr/bin/env', '-u', 'NODE_OPTIONS', '-u', 'NODE_V8_COVERAGE', process.execPath, cliPath, ...args]
}

class Stage extends Error {}

function tail(lines: string[], n = 6): string {
  return JSON.stringify(lines.slice(-n))
}

/**
 * Live processes whose environment holds AMBER_TEST_TAG=<tag>[/...], looking only at pids from
 * `from` up: everything a run starts (and every process restored for it) gets a pid above the
 * first one it spawned, unless pids wrapped around (then from is 0 and every pid is read). Reading
 * thousands of /proc/<pid>/environ costs up to a second on a busy machine; this reads dozens.
 */
function taggedFrom(tag: string, from: number): number[] {
  const needle = `\0AMBER_TEST_TAG=${tag}`
  const out: number[] = []
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue
    const pid = Number(n)
    if (pid < from || pid === process.pid) continue
    let env: string
    try {
      env = '\0' + readFileSync(`/proc/${pid}/environ`, 'latin1') + '\0'
    } catch {
      continue
    }
    const at = env.indexOf(needle)
    if (at < 0) continue
    const next = env[at + needle.length]
    if (next !== '\0' && next !== '/') continue
    try {
      const st = readFileSync(`/proc/${pid}/stat`, 'latin1')
      const state = st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3)
      if (state !== 'Z' && state !== 'X') out.push(pid)
    } catch {
      // gone
    }
  }
  return out
}

/**
 * End a run: SIGKILL every process carrying the world's tag (the program, its peers, restored
 * copies, the coordinator) and every command still running, then remove the temp dir.
 */
async function cleanup(a: Amber): Promise<void> {
  const pids0 = a.procs.map((p) => p.pid).filter((p) => p > 0)
  // pids are handed out in order: a later spawn with a smaller pid, or a last pid (the 5th field
  // of /proc/loadavg) below our first, means they wrapped around during the run
  let last = 0
  try {
    last = Number(readFileSync('/proc/loadavg', 'latin1').trim().split(/\s+/)[4])
  } catch {
    // unknown: wrapped below
  }
  const wrapped = !last || last < (pids0[0] ?? 0) || pids0.some((p, i) => i > 0 && p < pids0[i - 1]!)
  const from = wrapped || !pids0.length ? 0 : pids0[0]!
  for (let round = 0; round < 5; round++) {
    const pids = new Set(taggedFrom(a.tag, from))
    for (const p of a.procs) if (p.exit === null && p.pid > 0) pids.add(p.pid)
    if (!pids.size) break
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // gone already
      }
    }
    await new Promise((res) => setTimeout(res, 50))
  }
  let timer: NodeJS.Timeout | undefined
  await Promise.race([Promise.all(a.procs.map((p) => p.exited)), new Promise((res) => (timer = setTimeout(res, 3_000)))])
  clearTimeout(timer)
  if (!process.env.AMBER_TEST_KEEP) rmSync(a.base, { recursive: true, force: true })
}

/** Wait for READY (→ 'ready'), a SKIP line (→ the line), or the end of output (→ throws). */
async function waitReady(p: Proc, timeoutMs: number, what: string): Promise<'ready' | string> {
  try {
    return await p.waitFor(
      (l) => {
        const s = l.find((x) => x === 'READY' || x.startsWith('SKIP') || x.startsWith('FAIL'))
        return s === undefined ? undefined : s === 'READY' ? 'ready' : s
      },
      timeoutMs,
      `READY from ${what}`,
    )
  } catch (e) {
    throw new Stage(`${what}: no READY: ${(e as Error).message}`)
  }
}

/**
 * After the go line: the program's verdict from its output and exit status. A FAIL line is the
 * verdict at once (a peer left behind may keep `amber restart` waiting); PASS needs exit 0 too.
 */
async function finish(p: Proc, timeoutMs: number, what: string): Promise<{ verdict: Verdict; detail: string }> {
  const verdictLine = (l: string[]) => l.find((x) => x === 'PASS' || x.startsWith('FAIL') || x.startsWith('SKIP'))
  const deadline = Date.now() + timeoutMs
  let line: string | undefined
  let amberSaid: number | null = null
  for (;;) {
    line = verdictLine(p.lines)
    if (line !== undefined || p.exit) break
    // amber reported a problem and the program has said nothing since: do not wait the whole timeout
    if (amberSaid === null && p.err.lines.some((l) => l.startsWith('amber:'))) amberSaid = Date.now()
    const stuck = amberSaid !== null && Date.now() - amberSaid > STUCK_AFTER_AMBER_ERROR_MS
    if (stuck || Date.now() > deadline) {
      p.kill()
      const why = stuck ? `amber reported an error and no verdict came within ${STUCK_AFTER_AMBER_ERROR_MS} ms` : `no verdict within ${timeoutMs} ms after the go line`
      return { verdict: 'fail', detail: `${what}: ${why} (killed); stdout ${tail(p.lines)}; stderr ${tail(p.err.lines)}` }
    }
    await new Promise((res) => setTimeout(res, 50))
  }
  if (line?.startsWith('FAIL')) return { verdict: 'fail', detail: `${what}: ${line}` }
  let ex
  try {
    ex = await p.wait(line ? 5_000 : timeoutMs)
  } catch {
    p.kill()
    return { verdict: 'fail', detail: `${what}: printed ${line} but did not exit within 5 s; stderr ${tail(p.err.lines)}` }
  }
  const how = ex.signal ? `killed by ${ex.signal}` : `exited ${ex.code}`
  if (line?.startsWith('SKIP') && ex.code === 0) return { verdict: 'skip', detail: line.replace(/^SKIP:?\s*/, '') }
  if (line === 'PASS' && ex.code === 0) return { verdict: 'pass', detail: '' }
  return { verdict: 'fail', detail: `${what}: ${how}${line ? ` after ${line}` : ' without PASS'}; stdout ${tail(p.lines)}; stderr ${tail(p.err.lines)}` }
}

/** The sanity reference: the program alone, the go line written right after READY. */
export async function runPlain(argv: string[], opts: RunOptions = {}): Promise<Outcome> {
  const timeoutMs = opts.timeoutMs ?? 20_000
  const t0 = Date.now()
  const a = new Amber()
  try {
    const p = spawnIn(a, argv, argv)
    const r = await waitReady(p, timeoutMs, 'the program')
    if (r !== 'ready') {
      const v = await finish(p, timeoutMs, 'the program')
      return { ...v, ms: Date.now() - t0, lines: p.lines.slice() }
    }
    p.child.stdin!.write(GO)
    const v = await finish(p, timeoutMs, 'the program')
    return { ...v, ms: Date.now() - t0, lines: p.lines.slice() }
  } catch (e) {
    return { verdict: 'fail', detail: (e as Error).message, ms: Date.now() - t0, lines: [] }
  } finally {
    await cleanup(a)
  }
}

async function checkpoint(a: Amber, kill: boolean, timeoutMs: number): Promise<Checkpoint> {
  const args = ['checkpoint', '--dir', a.dir, '--json', ...(kill ? ['--kill'] : [])]
  const p = spawnIn(a, cli(args), ['amber', ...args])
  p.child.stdin!.end()
  let ex
  try {
    ex = await p.wait(timeoutMs)
  } catch {
    p.kill()
    throw new Stage(`\`amber ${args.join(' ')}\` did not finish within ${timeoutMs} ms; stderr ${tail(p.err.lines)}`)
  }
  if (ex.code !== 0) throw new Stage(`\`amber ${args.join(' ')}\` exited ${ex.code ?? ex.signal}; stderr: ${p.err.text().trim()}`)
  try {
    return JSON.parse(p.out.text()) as Checkpoint
  } catch {
    throw new Stage(`\`amber ${args.join(' ')}\` printed no JSON: ${JSON.stringify(p.out.text())}`)
  }
}

/**
 * Under amber: launch (stdin a pipe), READY, one live checkpoint (the program must not notice:
 * it is still waiting and has printed nothing more), checkpoint --kill, restart (stdin a pipe),
 * the go line, the verdict. Each stage is bounded by timeoutMs.
 */
export async function runUnderAmber(argv: string[], opts: RunOptions = {}): Promise<Outcome> {
  const timeoutMs = opts.timeoutMs ?? 20_000
  const t0 = Date.now()
  const a = new Amber()
  let lines: string[] = []
  const stages: Record<string, number> = {}
  let mark = Date.now()
  const stage = (name: string) => {
    stages[name] = (Date.now() - mark) / 1000
    mark = Date.now()
  }
  try {
    const launchArgs = ['launch', '--dir', a.dir, '--', ...argv]
    const app = spawnIn(a, cli(launchArgs), ['amber', ...launchArgs])
    lines = app.lines
    const r = await waitReady(app, timeoutMs, '`amber launch`')
    stage('launch')
    if (r !== 'ready') {
      const v = await finish(app, timeoutMs, '`amber launch`')
      return { ...v, ms: Date.now() - t0, lines: app.lines.slice(), stages }
    }
    // a program that noticed the checkpoint (EINTR, a lost event) says so at once and exits
    // (sometimes before the checkpoint command has its answer: then both are told)
    const noticed = (also: string) => {
      if (!app.exit && app.lines.length <= 1) return
      throw new Stage(`live checkpoint: the program noticed: ${app.exit ? `exited ${JSON.stringify(app.exit)}, ` : ''}stdout ${tail(app.lines)}; stderr ${tail(app.err.lines)}${also}`)
    }
    try {
      await checkpoint(a, false, timeoutMs)
    } catch (e) {
      await new Promise((res) => setTimeout(res, 200))
      noticed(` (and the checkpoint: ${(e as Error).message})`)
      throw new Stage(`live checkpoint: ${(e as Error).message}`)
    }
    stage('checkpoint')
    await new Promise((res) => setTimeout(res, 100))
    noticed('')
    await checkpoint(a, true, timeoutMs).catch((e: Error) => {
      throw new Stage(`checkpoint --kill: ${e.message}`)
    })
    try {
      await app.wait(timeoutMs)
    } catch {
      throw new Stage(`\`amber launch\` still running ${timeoutMs} ms after checkpoint --kill`)
    }
    if (app.lines.length > 1) throw new Stage(`checkpoint --kill: the program printed ${tail(app.lines)} before it was killed`)
    stage('kill')
    const restartArgs = ['restart', '--dir', a.dir]
    const re = spawnIn(a, cli(restartArgs), ['amber', ...restartArgs])
    lines = re.lines
    re.child.stdin!.write(GO)
    const v = await finish(re, timeoutMs, 'after restart')
    stage('restart')
    return { ...v, ms: Date.now() - t0, lines: re.lines.slice(), stages }
  } catch (e) {
    const msg = e instanceof Stage ? e.message : `harness: ${(e as Error).stack ?? e}`
    return { verdict: 'fail', detail: msg, ms: Date.now() - t0, lines: lines.slice(), stages }
  } finally {
    mark = Date.now()
    await cleanup(a)
    stage('cleanup')
  }
}

/** test/corpus/expect.json: which programs amber is known to fail today, and why. */
export interface Expectation {
  /** Known to fail in every run. */
  todo?: string
  /** Known to fail only as root / only as the unprivileged user. */
  root?: string
  user?: string
}

export function knownFailure(expect: Record<string, string | Expectation>, name: string, unprivileged: boolean): string | undefined {
  const e = expect[name]
  if (e === undefined) return undefined
  if (typeof e === 'string') return e
  return e.todo ?? (unprivileged ? e.user : e.root)
}
