// Drives the real CLI (`node dist/lib/cli.js`) for the core tests.
//
//   const a = await setup(t)                          // temp dir + cleanup in t.teardown
//   const app = a.launch([await build('counter')])    // `amber launch --dir DIR -- counter`
//   await app.waitLines(5)
//   const ck = await a.checkpoint({ kill: true })     // `amber checkpoint --dir DIR --kill --json`
//   const r = a.restart()                             // `amber restart --dir DIR` in the background
//   await r.waitLines(3)
//
// Every process this starts carries AMBER_TEST_TAG=<unique> in its environment; teardown SIGKILLs
// every process on the machine whose environment holds the tag (a restored process keeps its
// original environment block), plus every descendant of what we spawned.
//
// Unprivileged runs: when the tests run as root and AMBER_TEST_AS names a user, every CLI command
// runs as that user through `setpriv --reuid --regid --init-groups`, and the temp dirs are
// chowned to that user. The test process itself stays root (it only reads output and files).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { repoRoot } from './fixtures.js'

export const cliPath = process.env.AMBER_CLI ?? join(repoRoot, 'dist', 'lib', 'cli.js')

/** Minimal slice of tap's Test that the helper needs (keeps this file free of tap internals). */
export interface TestLike {
  teardown(fn: () => unknown): void
  comment(...args: unknown[]): void
}

export interface RunAs {
  name: string
  uid: number
  gid: number
}

let runAsCache: RunAs | null | undefined
/** The user CLI commands run as, or null to run them as ourselves. */
export function runAs(): RunAs | null {
  if (runAsCache !== undefined) return runAsCache
  const name = process.env.AMBER_TEST_AS
  if (!name || process.getuid?.() !== 0) return (runAsCache = null)
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim())
  const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim())
  return (runAsCache = { name, uid, gid })
}

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

/** Collects a stream's lines and lets a test wait for them. */
export class Lines {
  readonly lines: string[] = []
  ended = false
  private partial = ''
  private waiters = new Set<() => void>()

  constructor(stream: NodeJS.ReadableStream | null) {
    if (!stream) {
      this.ended = true
      return
    }
    stream.setEncoding('utf8')
    stream.on('data', (chunk: string) => {
      const parts = (this.partial + chunk).split('\n')
      this.partial = parts.pop() ?? ''
      if (parts.length) {
        this.lines.push(...parts)
        this.wake()
      }
    })
    stream.on('end', () => {
      if (this.partial) this.lines.push(this.partial)
      this.partial = ''
      this.ended = true
      this.wake()
    })
  }

  private wake() {
    for (const w of [...this.waiters]) w()
  }

  /** Resolves once pred(lines) returns a value other than undefined/false; rejects on timeout/EOF. */
  until<T>(pred: (lines: string[]) => T | undefined | false, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = (): boolean => {
        const v = pred(this.lines)
        if (v !== undefined && v !== false) {
          done()
          resolve(v as T)
          return true
        }
        if (this.ended) {
          done()
          reject(new Error(`stream ended before ${what}; last lines: ${JSON.stringify(this.lines.slice(-8))}`))
          return true
        }
        return false
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last lines: ${JSON.stringify(this.lines.slice(-8))}`))
      }, timeoutMs)
      const waiter = () => void check()
      const done = () => {
        clearTimeout(timer)
        this.waiters.delete(waiter)
      }
      this.waiters.add(waiter)
      check()
    })
  }

  text(): string {
    return this.lines.join('\n') + (this.partial ? `\n${this.partial}` : '')
  }
}

/** A CLI command running in the background. */
export class Proc {
  readonly out: Lines
  readonly err: Lines
  readonly exited: Promise<Exit>
  exit: Exit | null = null
  constructor(
    readonly child: ChildProcess,
    readonly argv: string[],
  ) {
    this.out = new Lines(child.stdout)
    this.err = new Lines(child.stderr)
    this.exited = new Promise<Exit>((resolve) => {
      child.on('error', (e) => {
        this.err.lines.push(`spawn error: ${e.message}`)
        this.exit = { code: -1, signal: null }
        resolve(this.exit)
      })
      child.on('close', (code, signal) => {
        this.exit = { code, signal }
        resolve(this.exit)
      })
    })
  }

  get pid(): number {
    return this.child.pid ?? -1
  }

  get lines(): string[] {
    return this.out.lines
  }

  private describe(): string {
    const st = this.exit ? ` (exited ${JSON.stringify(this.exit)})` : ''
    return `\`${this.argv.join(' ')}\`${st}; stderr: ${JSON.stringify(this.err.lines.slice(-10))}`
  }

  /** Wait until stdout has at least n lines; returns them all. */
  async waitLines(n: number, timeoutMs = 30_000): Promise<string[]> {
    return this.waitFor((l) => (l.length >= n ? l : undefined), timeoutMs, `${n} lines`)
  }

  /** Wait until pred over stdout lines gives a value. */
  async waitFor<T>(pred: (lines: string[]) => T | undefined | false, timeoutMs = 30_000, what = 'output'): Promise<T> {
    try {
      return await this.out.until(pred, timeoutMs, what)
    } catch (e) {
      throw new Error(`${(e as Error).message}; from ${this.describe()}; its processes then:\n${processReport(this.child.pid)}`)
    }
  }

  /** Wait for exit (and for stdout/stderr to be fully read). */
  async wait(timeoutMs = 30_000): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined
    const to = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`timed out after ${timeoutMs} ms waiting for exit of ${this.describe()}; its processes then:\n${processReport(this.child.pid)}`)),
        timeoutMs,
      )
    })
    try {
      return await Promise.race([this.exited, to])
    } finally {
      clearTimeout(timer)
    }
  }

  kill(sig: NodeJS.Signals = 'SIGKILL') {
    try {
      this.child.kill(sig)
    } catch {
      // already gone
    }
  }
}

/**
 * The processes below `pid` with their state, kernel wait channel and current system call (what a
 * hang is waiting on), one a line: said when a wait times out, so a rare hang in CI is diagnosable.
 */
export function processReport(pid: number | undefined): string {
  if (pid === undefined) return '  (not started)'
  const out: string[] = []
  for (const p of [pid, ...descendants([pid])]) {
    const f = statFields(p)
    if (!f) continue
    const sc = (readProc(p, 'syscall') ?? '').trim().split(' ').slice(0, 3).join(' ')
    const args = (readProc(p, 'cmdline') ?? '').split('\0').join(' ').trim().slice(0, 160)
    let fd1 = '?'
    try {
      fd1 = readlinkSync(`/proc/${p}/fd/1`)
    } catch {
      // closed, or not ours to read
    }
    out.push(`  ${p} ppid ${f[1]} ${f[0]} wchan ${(readProc(p, 'wchan') ?? '?').trim()} syscall ${sc || '?'} fd1 ${fd1}: ${args}`)
    // (each thread too: a process that runs but never answers may have one thread stuck)
    let tids: string[] = []
    try {
      tids = readdirSync(`/proc/${p}/task`).filter((x) => Number(x) !== p)
    } catch {
      // gone meanwhile
    }
    for (const tid of tids) {
      const tf = statFields(p, Number(tid))
      if (!tf) continue
      const tsc = (readProc(p, `task/${tid}/syscall`) ?? '').trim().split(' ').slice(0, 3).join(' ')
      out.push(`    thread ${tid} ${tf[0]} wchan ${(readProc(p, `task/${tid}/wchan`) ?? '?').trim()} syscall ${tsc || '?'} utime ${tf[11]}`)
    }
  }
  return out.join('\n') || '  (none)'
}

export interface RunResult extends Exit {
  stdout: string
  stderr: string
  argv: string[]
}

export interface Checkpoint {
  generation: number
  manifest: string
  images: string[]
  bytes: number
  seconds: number
}

export interface SetupOptions {
  /** Extra environment for every CLI command. */
  env?: Record<string, string>
}

export async function setup(t: TestLike, opts: SetupOptions = {}): Promise<Amber> {
  const a = new Amber(opts)
  t.teardown(() => a.cleanup())
  const who = runAs()
  t.comment(`amber: ${cliPath}; temp ${a.base}; running as ${who ? `${who.name} (uid ${who.uid})` : `uid ${process.getuid?.()}`}`)
  return a
}

/** One test's world: a temp base dir, the default amber dir inside it, and every process spawned. */
export class Amber {
  readonly tag = `amber-test-${process.pid}-${randomBytes(6).toString('hex')}`
  readonly base: string
  readonly dir: string
  readonly procs: Proc[] = []
  private extraEnv: Record<string, string>

  constructor(opts: SetupOptions = {}) {
    this.extraEnv = opts.env ?? {}
    const root = process.env.AMBER_TEST_TMP ?? tmpdir()
    this.base = mkdtempSync(join(root, 'amber-t-'))
    this.own(this.base)
    this.dir = this.mkdir('amber')
  }

  /** chown a path we created to the test user (no-op when running as ourselves). */
  own(path: string) {
    const who = runAs()
    if (who) chownSync(path, who.uid, who.gid)
  }

  /** A new directory under the test's base, owned by the test user. */
  mkdir(name: string): string {
    const p = join(this.base, name)
    mkdirSync(p, { recursive: true, mode: 0o755 })
    this.own(p)
    return p
  }

  /** Write a file the test user can read. */
  writeFile(path: string, data: string | Uint8Array) {
    writeFileSync(path, data, { mode: 0o600 })
    this.own(path)
  }

  env(subtag?: string): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env }
    // tap's loaders and coverage must not leak into the CLI (they would slow it down, write
    // coverage as another user, and could print warnings on the stderr we assert on).
    for (const k of Object.keys(env)) {
      if (k === 'NODE_OPTIONS' || k === 'NODE_V8_COVERAGE' || k.startsWith('TAP') || k.startsWith('_TAP')) delete env[k]
    }
    delete env.AMBER_DIR
    const who = runAs()
    if (who) {
      env.HOME = this.base
      env.USER = who.name
      env.LOGNAME = who.name
    }
    env.AMBER_TEST_TAG = subtag ? `${this.tag}/${subtag}` : this.tag
    return { ...env, ...this.extraEnv }
  }

  private argv(args: string[]): string[] {
    // tap's processinfo hooks every spawn of this process and puts its own --import loader back
    // into NODE_OPTIONS, whatever env we pass; `env -u` takes it out again after that hook ran.
    const node = ['/usr/bin/env', '-u', 'NODE_OPTIONS', '-u', 'NODE_V8_COVERAGE', process.execPath, cliPath, ...args]
    const who = runAs()
    if (!who) return node
    return ['setpriv', `--reuid=${who.uid}`, `--regid=${who.gid}`, '--init-groups', '--', ...node]
  }

  /**
   * Start `amber <args>` in the background, stdout and stderr piped, stdin /dev/null. A subtag
   * marks everything this command starts as `<tag>/<subtag>`, so `tagged(subtag)` finds just that.
   */
  spawn(args: string[], opts: { subtag?: string; prefix?: string[]; stdio?: [number | 'ignore' | 'pipe', number | 'ignore' | 'pipe'] } = {}): Proc {
    // prefix: a command the CLI runs under (e.g. a new network namespace); root only.
    const argv = [...(opts.prefix ?? []), ...this.argv(args)]
    // stdio: where stdout and stderr go instead of pipes (say, files: a command that leaves a
    // process holding them, like a restart of daemons, then still counts as exited when it exits)
    const [out, err] = opts.stdio ?? ['pipe', 'pipe']
    const child = spawn(argv[0]!, argv.slice(1), { cwd: this.base, env: this.env(opts.subtag), stdio: ['ignore', out, err] })
    const p = new Proc(child, ['amber', ...args])
    this.procs.push(p)
    return p
  }

  /** Run `amber <args>` to completion. */
  async run(args: string[], timeoutMs = 60_000, opts: { subtag?: string } = {}): Promise<RunResult> {
    const p = this.spawn(args, opts)
    let ex: Exit
    try {
      ex = await p.wait(timeoutMs)
    } catch (e) {
      p.kill()
      throw e
    }
    return { ...ex, stdout: p.out.text(), stderr: p.err.text(), argv: ['amber', ...args] }
  }

  /** `amber launch --dir DIR -- cmd...` in the background. */
  launch(cmd: string[], opts: { dir?: string; args?: string[]; prefix?: string[] } = {}): Proc {
    return this.spawn(['launch', '--dir', opts.dir ?? this.dir, ...(opts.args ?? []), '--', ...cmd], { prefix: opts.prefix })
  }

  /** `amber checkpoint --dir DIR --json [--kill]`; throws unless it exits 0 with the JSON. */
  async checkpoint(opts: { dir?: string; kill?: boolean; forked?: boolean } = {}): Promise<Checkpoint> {
    const args = ['checkpoint', '--dir', opts.dir ?? this.dir, '--json']
    if (opts.kill) args.push('--kill')
    if (opts.forked) args.push('--forked')
    const r = await this.run(args)
    if (r.code !== 0) throw new Error(`${r.argv.join(' ')} exited ${r.code ?? r.signal}; stderr: ${r.stderr.trim()}`)
    let j: Checkpoint
    try {
      j = JSON.parse(r.stdout) as Checkpoint
    } catch {
      throw new Error(`${r.argv.join(' ')} printed no JSON: ${JSON.stringify(r.stdout)}; stderr: ${r.stderr.trim()}`)
    }
    if (typeof j.manifest !== 'string') throw new Error(`checkpoint JSON without manifest: ${r.stdout}`)
    return j
  }

  /** `amber restart --dir DIR [target]` in the background (foreground for amber: app's stdio). */
  restart(opts: { dir?: string; target?: string; prefix?: string[] } = {}): Proc {
    const args = ['restart', '--dir', opts.dir ?? this.dir]
    if (opts.target) args.push(opts.target)
    return this.spawn(args, { prefix: opts.prefix })
  }

  /** Pids of live processes carrying our tag, or just `<tag>/<subtag>` (zombies excluded). */
  tagged(subtag?: string): number[] {
    return findTagged(subtag ? `${this.tag}/${subtag}` : this.tag)
  }

  /** Wait until no process carries our tag (or subtag); returns what is still alive after timeoutMs. */
  async waitNoneTagged(timeoutMs = 5_000, subtag?: string): Promise<ProcInfo[]> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const left = this.tagged(subtag)
      if (!left.length) return []
      if (Date.now() > deadline) return left.map(procInfo)
      await sleep(100)
    }
  }

  async cleanup() {
    for (let round = 0; round < 3; round++) {
      const pids = new Set<number>(this.tagged())
      const roots = this.procs.filter((p) => p.exit === null).map((p) => p.pid)
      for (const pid of descendants(roots)) pids.add(pid)
      for (const pid of roots) pids.add(pid)
      pids.delete(process.pid)
      if (!pids.size) break
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {
          // gone
        }
      }
      await sleep(100)
    }
    let timer: NodeJS.Timeout | undefined
    await Promise.race([Promise.all(this.procs.map((p) => p.exited)), new Promise((r) => (timer = setTimeout(r, 5_000)))])
    clearTimeout(timer)
    if (!process.env.AMBER_TEST_KEEP) rmSync(this.base, { recursive: true, force: true })
  }
}

export interface ProcInfo {
  pid: number
  cmd: string
  state: string
}

function readProc(pid: number, file: string): string | null {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'latin1')
  } catch {
    return null
  }
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
}

/** /proc/PID/stat from its state on (proc(5) field 3 is [0], ppid [1], session [3]), or null. */
export function statFields(pid: number, tid?: number): string[] | null {
  const st = readProc(pid, tid === undefined ? 'stat' : `task/${tid}/stat`)
  return st ? st.slice(st.lastIndexOf(')') + 2).split(' ') : null
}

function procState(pid: number): string {
  return statFields(pid)?.[0] ?? '?'
}

export function procInfo(pid: number): ProcInfo {
  return { pid, cmd: (readProc(pid, 'cmdline') ?? '').split('\0').join(' ').trim(), state: procState(pid) }
}

/** Processes whose environment holds AMBER_TEST_TAG=<tag> or AMBER_TEST_TAG=<tag>/<anything>. */
export function findTagged(tag: string): number[] {
  const needle = `\0AMBER_TEST_TAG=${tag}`
  const out: number[] = []
  for (const pid of allPids()) {
    if (pid === process.pid) continue
    const env = readProc(pid, 'environ')
    if (!env) continue
    const at = ('\0' + env + '\0').indexOf(needle)
    const next = at < 0 ? '' : ('\0' + env + '\0')[at + needle.length]
    if (next === '\0' || next === '/') {
      const s = procState(pid)
      if (s !== 'Z' && s !== 'X') out.push(pid)
    }
  }
  return out
}

/** Every descendant of the given pids (by parent pid). */
export function descendants(roots: number[]): number[] {
  const children = new Map<number, number[]>()
  for (const pid of allPids()) {
    const f = statFields(pid)
    if (!f) continue
    const ppid = Number(f[1])
    const list = children.get(ppid) ?? []
    list.push(pid)
    children.set(ppid, list)
  }
  const out: number[] = []
  const todo = [...roots]
  while (todo.length) {
    const p = todo.pop()!
    for (const c of children.get(p) ?? []) {
      out.push(c)
      todo.push(c)
    }
  }
  return out
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** Lines that are plain integers, as numbers (the counter and appender print one per line). */
export function ints(lines: string[]): number[] {
  return lines.filter((l) => /^\d+$/.test(l.trim())).map((l) => Number(l.trim()))
}

/** The first index where xs stops counting up by one, or -1 when xs is contiguous. */
export function firstGap(xs: number[]): number {
  for (let i = 1; i < xs.length; i++) if (xs[i] !== xs[i - 1]! + 1) return i
  return -1
}

/** Read the amber image header fields the corruption tests need (see src-native/image/format.h). */
export function imageLayout(buf: Buffer): { metaOff: number; metaSize: number; dataOff: number; dataSize: number; fileSize: number } {
  if (buf.subarray(0, 8).toString('latin1') !== 'AMBERIMG') throw new Error('not an amber image (magic)')
  const u = (off: number) => Number(buf.readBigUInt64LE(off))
  return { metaOff: u(256), metaSize: u(264), dataOff: u(280), dataSize: u(288), fileSize: u(296) }
}

/**
 * The core cycle: `checkpoint --kill` a launched computation, wait for its launcher to exit (so
 * every line the app printed before the checkpoint has been read), note any copy of the app still
 * alive (`leftover`, should be none), then `restart` it in the background and wait for `after`
 * lines from the restored app.
 */
export async function checkpointKillRestart(
  a: Amber,
  app: Proc,
  opts: { dir?: string; after?: number; afterTimeoutMs?: number; exe?: string } = {},
): Promise<{ ck: Checkpoint; before: string[]; restarted: Proc; leftover: ProcInfo[] }> {
  const ck = await a.checkpoint({ dir: opts.dir, kill: true })
  try {
    await app.wait(20_000)
  } catch (e) {
    throw new Error(`\`amber launch\` did not exit after \`checkpoint --kill\`: ${(e as Error).message}`)
  }
  const before = app.lines.slice()
  // the app itself must be gone once its launcher has exited (opts.exe: its argv[0] or script)
  const leftover = opts.exe ? running(a, opts.exe) : []
  const restarted = a.restart({ dir: opts.dir })
  if (opts.after) await restarted.waitLines(opts.after, opts.afterTimeoutMs ?? 30_000)
  return { ck, before, restarted, leftover }
}

/** Live processes with our tag that are the app `exe` itself (argv[0], or argv[1] of an interpreter). */
export function running(a: Amber, exe: string): ProcInfo[] {
  return a
    .tagged()
    .filter((pid) => {
      const argv = (readProc(pid, 'cmdline') ?? '').split('\0')
      return argv[0] === exe || (argv[1] === exe && !argv.includes(cliPath))
    })
    .map(procInfo)
}
