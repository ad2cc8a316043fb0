// Helpers for the trust tests (issue 12): real second users, the CLI run as one of them, and
// snapshots proving that nothing outside DIR changed.
//
//   const why = needRoot()                 // undefined, or why the test must be skipped
//   const evil = ensureUser('amber-evil')  // useradd --system --no-create-home when missing
//   const r = await amberAs(evil, ['launch', '--dir', dir, '--', 'true'])
//   const v = snapshot(victim); ...; t.same(snapshot(victim), v)
//
// Every command carries AMBER_TEST_TAG=<tag>; World.cleanup() SIGKILLs what still carries it.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cliPath, findTagged, Lines, sleep } from './amber.js'

export interface User {
  name: string
  uid: number
  gid: number
}

/** Why these tests cannot run here (not root, no setpriv/useradd), or undefined. */
export function needRoot(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root: a second real user plants the files (useradd, chown, setpriv)'
  for (const tool of ['/usr/bin/setpriv', '/usr/sbin/useradd']) {
    if (!existsSync(tool)) return `needs ${tool} (util-linux / passwd)`
  }
  return undefined
}

/** The user `name`, created (system user, no home, no shell) when missing. */
export function ensureUser(name: string): User {
  try {
    execFileSync('id', ['-u', name], { stdio: 'ignore' })
  } catch {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name], { stdio: 'ignore' })
  }
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim())
  const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim())
  return { name, uid, gid }
}

export const ROOT: User = { name: 'root', uid: 0, gid: 0 }

/** The unprivileged user CI runs as (AMBER_TEST_AS, default amber-test). */
export function testUser(): User {
  return ensureUser(process.env.AMBER_TEST_AS ?? 'amber-test')
}

/** Content and mtime of a file, to prove it was not touched. */
export function snapshot(path: string): { content: string; mtimeMs: number; size: number } {
  const st = statSync(path)
  return { content: readFileSync(path, 'latin1'), mtimeMs: st.mtimeMs, size: st.size }
}

export interface Ran {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** the stderr lines, without empty ones */
  lines: string[]
  ms: number
}

/** One test's world: a base dir (0755, root's, in the sticky tmpdir) and the processes started. */
export class World {
  readonly tag = `amber-trust-${process.pid}-${randomBytes(5).toString('hex')}`
  readonly base = mkdtempSync(join(process.env.AMBER_TEST_TMP ?? tmpdir(), 'amber-trust-'))
  private children: ChildProcess[] = []

  constructor() {
    chmodSync(this.base, 0o755) // other users must reach what the test gives them below it
  }

  env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env }
    for (const k of Object.keys(env)) {
      if (k === 'NODE_OPTIONS' || k === 'NODE_V8_COVERAGE' || k.startsWith('TAP') || k.startsWith('_TAP')) delete env[k]
    }
    delete env.AMBER_DIR
    delete env.AMBER_TOKEN
    env.AMBER_TEST_TAG = this.tag
    return env
  }

  argv(user: User, args: string[]): string[] {
    const node = ['/usr/bin/env', '-u', 'NODE_OPTIONS', '-u', 'NODE_V8_COVERAGE', process.execPath, cliPath, ...args]
    if (user.uid === process.getuid?.()) return node
    return ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--', ...node]
  }

  /** `amber ARGS` as `user`, in the background: stdout/stderr collected. */
  spawn(user: User, args: string[], opts: { cwd?: string } = {}): { child: ChildProcess; out: Lines; err: Lines; exited: Promise<Ran> } {
    const argv = this.argv(user, args)
    const t0 = Date.now()
    const child = spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd ?? '/', env: this.env(), stdio: ['ignore', 'pipe', 'pipe'] })
    this.children.push(child)
    const out = new Lines(child.stdout)
    const err = new Lines(child.stderr)
    const exited = new Promise<Ran>((res) => {
      child.on('close', (code, signal) => {
        const stderr = err.text()
        res({ code, signal, stdout: out.text(), stderr, lines: stderr.split('\n').filter((l) => l !== ''), ms: Date.now() - t0 })
      })
    })
    return { child, out, err, exited }
  }

  /** `amber ARGS` as `user`, to completion (killed after timeoutMs). */
  async run(user: User, args: string[], timeoutMs = 60_000): Promise<Ran> {
    const p = this.spawn(user, args)
    const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs)
    try {
      return await p.exited
    } finally {
      clearTimeout(timer)
    }
  }

  /** Runs a shell command as `user` (to plant files). */
  sh(user: User, script: string): string {
    const argv = user.uid === 0 ? ['sh', '-c', script] : ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', 'sh', '-c', script]
    return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', cwd: '/' })
  }

  tagged(): number[] {
    return findTagged(this.tag)
  }

  async cleanup(): Promise<void> {
    for (let round = 0; round < 3; round++) {
      const pids = new Set(this.tagged())
      for (const c of this.children) if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) pids.add(c.pid)
      if (pids.size === 0) break
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {
          // gone
        }
      }
      await sleep(100)
    }
    if (!process.env.AMBER_TEST_KEEP) {
      // a test may have mounted something below base
      try {
        execFileSync('sh', ['-c', `grep -o ' ${this.base}[^ ]*' /proc/mounts | xargs -r -n1 umount -l`], { stdio: 'ignore' })
      } catch {
        // nothing mounted
      }
      rmSync(this.base, { recursive: true, force: true })
    }
  }
}

/** Waits until pred() holds (polling), or throws after ms. */
export async function until<T>(pred: () => T | undefined | false, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = pred()
    if (v !== undefined && v !== false) return v
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(50)
  }
}
