// Shared by the bench scripts: timing helpers and a background command whose stdout lines can
// be waited for. Plain ESM, no dependencies (the benches run with node alone).
import { spawn, spawnSync } from 'node:child_process'
import { closeSync, lstatSync, openSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

export const now = () => Number(process.hrtime.bigint()) / 1e9
/** Seconds as milliseconds, with `digits` decimals. */
export const ms = (s, digits = 1) => (s * 1000).toFixed(digits) + ' ms'
export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
// for races only: does not keep the process alive
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms).unref())

/**
 * Start a command in the background with environment `env`; collect its stdout lines;
 * waitFor(pred, ms, what) resolves with pred's first truthy value (rejects on timeout or exit).
 */
export function start(argv, env, defaultMs = 60_000) {
  const child = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] })
  const p = { child, lines: [], err: '', exit: null, waiters: new Set() }
  let part = ''
  const wake = () => p.waiters.forEach((w) => w())
  child.stdout.setEncoding('utf8').on('data', (d) => {
    const xs = (part + d).split('\n')
    part = xs.pop()
    p.lines.push(...xs)
    wake()
  })
  child.stderr.setEncoding('utf8').on('data', (d) => (p.err += d))
  p.exited = new Promise((r) =>
    child.on('close', (code, signal) => {
      p.exit = { code, signal }
      r(p.exit)
      wake()
    }),
  )
  p.waitFor = (pred, ms = defaultMs, what = 'output') =>
    new Promise((res, rej) => {
      const t = setTimeout(() => (p.waiters.delete(check), rej(new Error(`timeout waiting for ${what} from ${argv.join(' ')}; stderr: ${p.err.trim()}`))), ms)
      const check = () => {
        const v = pred(p.lines)
        if (v !== undefined && v !== false) {
          clearTimeout(t)
          p.waiters.delete(check)
          res(v)
        } else if (p.exit) {
          clearTimeout(t)
          p.waiters.delete(check)
          rej(new Error(`${argv.join(' ')} exited ${JSON.stringify(p.exit)} before ${what}; stderr: ${p.err.trim()}`))
        }
      }
      p.waiters.add(check)
      check()
    })
  return p
}

/** SIGKILL every process whose environment carries AMBER_TEST_TAG=tag (what a bench started). */
export function killTagged(tag) {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue
    try {
      const e = readFileSync(`/proc/${d}/environ`, 'latin1')
      if (('\0' + e + '\0').includes(`\0AMBER_TEST_TAG=${tag}\0`)) process.kill(Number(d), 'SIGKILL')
    } catch {}
  }
}

// ---------- for the other tools (bench/criu.js, bench/dmtcp.js) ----------
// Their workloads write to a file, not to a pipe of ours: a program restored by CRIU or DMTCP is
// not our child, and a pipe to this process is something neither restores to us. A regular file
// opened O_APPEND both can reopen by path, so "running again" is "a new line in the file".

/** Start argv with stdout appended to `log` and stderr to `log`.err; `exited` resolves on exit. */
export function startToFile(argv, env, log, { detached = false } = {}) {
  const out = openSync(log, 'a')
  const err = openSync(`${log}.err`, 'a')
  const child = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', out, err], detached })
  closeSync(out)
  closeSync(err)
  const p = { child, pid: child.pid, exit: null, log }
  p.exited = new Promise((r) => {
    child.on('error', (e) => r((p.exit = { code: null, signal: null, error: e.message })))
    child.on('exit', (code, signal) => r((p.exit = { code, signal })))
  })
  p.errText = () => {
    try {
      return readFileSync(`${log}.err`, 'utf8')
    } catch {
      return ''
    }
  }
  return p
}

/** The complete lines of a log file so far (a line still being written is left out). */
export function logLines(path) {
  let text = ''
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    return []
  }
  const xs = text.split('\n')
  xs.pop()
  return xs
}

/**
 * Poll `path` every 2 ms until pred(lines after the first `from`) is truthy, and resolve with it.
 * Rejects after `ms`, or as soon as failed() returns a reason (e.g. the tool exited non-zero).
 * The polling adds at most ~2 ms to a measured time: small against the restarts it times.
 */
export async function waitLog(path, pred, ms, what, { from = 0, failed = () => null } = {}) {
  const t0 = Date.now()
  for (;;) {
    const v = pred(logLines(path).slice(from))
    if (v !== undefined && v !== false) return v
    const f = failed()
    if (f) throw new Error(`${f} (before ${what})`)
    if (Date.now() - t0 > ms) throw new Error(`timeout waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 2))
  }
}

/** Run argv to completion and time it (seconds, wall clock, process start-up included). */
export function timed(argv, env, timeout = 600_000) {
  const t0 = now()
  const r = spawnSync(argv[0], argv.slice(1), { env, encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'] })
  return { secs: now() - t0, status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error?.message }
}

/** One short line out of a tool's error output: its last lines that look like errors. */
export function gist(text, n = 4) {
  const lines = String(text ?? '').split('\n').map((l) => l.trim()).filter(Boolean)
  const errs = lines.filter((l) => /error|fail|cannot|can't|denied|not permitted|no such/i.test(l))
  const g = (errs.length ? errs : lines).slice(-n).join(' | ')
  return g.length > 400 ? g.slice(0, 397) + '...' : g || '(no output)'
}

/** `argv` exited 0, or an Error naming it with the gist of its output. */
export function check(r, argv) {
  if (r.status === 0) return r
  const how = r.error ?? `exited ${r.status ?? r.signal}`
  throw new Error(`${argv.map((a) => String(a).split('/').pop()).join(' ')} ${how}: ${gist(r.stderr + '\n' + r.stdout)}`)
}

/** Apparent size of every file under dir (what `du -sb` prints), or of those matching `only`. */
export function dirBytes(dir, only = () => true) {
  let n = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) n += dirBytes(p, only)
    else if (only(e.name)) n += lstatSync(p).size
  }
  return n
}

/** The highest "tick N" in lines (bench mode of test/fixtures/bigmem.c), 0 if none. */
export const lastTick = (lines) => Math.max(0, ...lines.map((l) => Number(/^tick (\d+)$/.exec(l)?.[1] ?? 0)))
