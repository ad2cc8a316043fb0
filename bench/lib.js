// Shared by the bench scripts: timing helpers and a background command whose stdout lines can
// be waited for. Plain ESM, no dependencies (the benches run with node alone).
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

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
