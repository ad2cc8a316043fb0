// Real applications under amber (test/apps.ts): the packages they need and the one cycle every
// scenario goes through.
//
//   const why = ensurePackages(['sqlite3'])          // apt-get install when missing (root)
//   const r = await liveKillRestart(a, app, { progress, live: 5, kill: 10 })
import { spawnSync } from 'node:child_process'
import { createServer } from 'node:net'
import type { Amber, Checkpoint, Exit, Proc } from './amber.js'

/** The binary each package provides (what tells us it is installed). */
const PROVIDES: Record<string, string> = {
  sqlite3: 'sqlite3',
  'redis-server': 'redis-server',
  'redis-tools': 'redis-cli',
  perl: 'perl',
  make: 'make',
  gzip: 'gzip',
  'bsdutils': 'script',
  postgresql: 'pg_ctlcluster',
  'postgresql-client': 'psql',
  memcached: 'memcached',
  'nginx-light': 'nginx',
}

export function have(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0
}

/** Installs what is missing with apt-get (root only). Returns undefined when ready, else why not. */
export function ensurePackages(pkgs: string[]): string | undefined {
  const missing = pkgs.filter((p) => !have(PROVIDES[p] ?? p))
  if (!missing.length) return undefined
  if (process.getuid?.() !== 0) return `not installed: ${missing.join(' ')} (run the test as root once to install them)`
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  const install = () => spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env, encoding: 'utf8', timeout: 900_000 })
  let r = install()
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore', timeout: 300_000 })
    r = install()
  }
  const still = missing.filter((p) => !have(PROVIDES[p] ?? p))
  if (r.status !== 0 || still.length) {
    return `cannot install ${missing.join(' ')} with apt-get (status ${r.status}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`
  }
  return undefined
}

/** A TCP port on 127.0.0.1 nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

export interface Cycle {
  live: Checkpoint
  ck: Checkpoint
  /** what the launched application printed, up to its checkpoint --kill */
  before: string[]
  /** how `amber launch` ended (the application was killed: not a normal exit) */
  launchExit: Exit
  restarted: Proc
  /** how `amber restart` ended: the application's own exit */
  exit: Exit
  /** what the restored application printed */
  after: string[]
}

/**
 * The scenario's cycle: wait for `live` progress lines, a live checkpoint, wait for `kill`
 * progress lines (the application went on after it), checkpoint --kill, then restart and wait for
 * the application to end.
 */
export async function liveKillRestart(
  a: Amber,
  app: Proc,
  opts: { progress: (l: string) => boolean; live: number; kill: number; timeoutMs?: number },
): Promise<Cycle> {
  const count = (n: number) => (lines: string[]) => lines.filter(opts.progress).length >= n || undefined
  await app.waitFor(count(opts.live), 60_000, `${opts.live} progress lines`)
  const live = await a.checkpoint()
  await app.waitFor(count(opts.kill), 60_000, `${opts.kill} progress lines after the live checkpoint`)
  const ck = await a.checkpoint({ kill: true })
  const launchExit = await app.wait(20_000)
  const restarted = a.restart()
  const exit = await restarted.wait(opts.timeoutMs ?? 90_000)
  return { live, ck, before: app.lines.slice(), launchExit, restarted, exit, after: restarted.lines.slice() }
}

/** Numbers matched by re's first group, in order. */
export function seqOf(lines: string[], re: RegExp): number[] {
  return lines.map((l) => re.exec(l)).filter((m) => m !== null).map((m) => Number(m[1]))
}

/** 1..n */
export function upTo(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1)
}
