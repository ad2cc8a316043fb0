// Shared by the socket-state tests (test/fd-sock-*.ts): a fixture built on test/fixtures/sockfix.h
// sets up sockets in some state, prints READY and counts ("tick N") until the file named by its
// first argument exists; then it checks every piece of that state and prints PASS (or FAIL lines)
// and counts on.
//
// The cycle: launch; a live checkpoint (the program must not notice: it keeps counting and says
// nothing else); checkpoint --kill; restart; create the file; PASS, and the count goes on from
// where it was (no tick lost or repeated across the restart).
import { join } from 'node:path'
import { build } from './fixtures.js'
import { setup, type Amber, type Proc, type TestLike } from './amber.js'

export interface Asserts extends TestLike {
  equal(a: unknown, b: unknown, msg?: string): void
  ok(v: unknown, msg?: string): void
  notOk(v: unknown, msg?: string): void
  match(v: unknown, re: RegExp, msg?: string): void
  notMatch(v: unknown, re: RegExp, msg?: string): void
}

export const ticks = (lines: string[]) => lines.filter((l) => /^tick \d+$/.test(l)).map((l) => Number(l.slice(5)))

export interface SockStateResult {
  a: Amber
  app: Proc
  restarted: Proc
  /** stderr of the live checkpoint and of checkpoint --kill */
  liveStderr: string
  killStderr: string
}

export interface SockStateOptions {
  /** fixture arguments after the trigger file ("{base}": the test's own directory) */
  args?: string[]
  /** what the checkpoints must say on stderr (default: nothing reported unrestorable) */
  warnings?: RegExp
  /** a line the fixture prints instead of READY when the state cannot be set up here */
  skipIf?: RegExp
  /** a command launch and restart run under (a network namespace of their own) */
  prefix?: string[]
}

/** Runs the cycle; returns undefined when the fixture said it cannot set its state up here. */
export async function sockStateAcrossRestart(t: Asserts, fixture: string, opts: SockStateOptions = {}): Promise<SockStateResult | undefined> {
  const a = await setup(t)
  const exe = await build(fixture)
  const trigger = join(a.base, 'verify-now')
  const app = a.launch([exe, trigger, ...(opts.args ?? []).map((x) => x.replace('{base}', a.base))], { prefix: opts.prefix })
  const first = await app.waitFor((l) => l.find((x) => x === 'READY' || x.startsWith('SKIP') || x.startsWith('SETUP')), 30_000, 'READY')
  if (first !== 'READY') {
    if (opts.skipIf?.test(first)) return undefined
    throw new Error(`the fixture could not set its state up: ${first}`)
  }
  await app.waitFor((l) => ticks(l).length >= 3 || undefined, 10_000, '3 ticks')

  // Live: the program goes on as if nothing happened.
  const live = await a.run(['checkpoint', '--dir', a.dir])
  t.equal(live.code, 0, `live checkpoint succeeds (${live.stderr.trim()})`)
  const n0 = ticks(app.lines).at(-1)!
  await app.waitFor((l) => (ticks(l).at(-1) ?? 0) >= n0 + 5 || undefined, 10_000, '5 more ticks after the live checkpoint')
  const tl = ticks(app.lines)
  t.ok(tl.every((n, i) => n === i + 1), 'the count goes on through the live checkpoint, no tick lost or repeated')
  t.notOk(app.lines.some((l) => /^(FAIL|BAD|SETUP)/.test(l)), `the program noticed nothing: ${app.lines.filter((l) => !/^tick /.test(l)).join(' | ')}`)

  // --kill, restart.
  const kill = await a.run(['checkpoint', '--dir', a.dir, '--kill'])
  t.equal(kill.code, 0, `checkpoint --kill succeeds (${kill.stderr.trim()})`)
  if (opts.warnings) t.match(kill.stderr, opts.warnings, 'the checkpoint names what cannot be saved')
  else t.notMatch(kill.stderr, /warning/, 'nothing reported lost at checkpoint')
  await app.wait(20_000)
  const last = ticks(app.lines).at(-1)!
  const restarted = a.restart({ prefix: opts.prefix })
  await restarted.waitFor((l) => ticks(l).length >= 2 || undefined, 30_000, 'ticks after restart')
  a.writeFile(trigger, 'now\n')
  const verdict = await restarted.waitFor((l) => l.find((x) => x === 'PASS' || x.startsWith('VERIFIED')), 20_000, 'the verdict after restart')
  const fails = restarted.lines.filter((l) => /^(FAIL|BAD|SETUP)/.test(l))
  t.equal(verdict, 'PASS', `every piece of state survived: ${fails.join(' | ') || 'ok'}; restart stderr: ${restarted.err.lines.join(' | ')}`)
  const n1 = ticks(restarted.lines).at(-1)!
  await restarted.waitFor((l) => (ticks(l).at(-1) ?? 0) >= n1 + 3 || undefined, 10_000, 'the count after the verdict')
  t.equal(ticks(restarted.lines)[0], last + 1, 'the count goes on from where it was')
  if (!opts.warnings) t.notOk(restarted.err.lines.some((l) => /warning/.test(l)), `restart warns of nothing: ${restarted.err.lines.join(' | ')}`)
  return { a, app, restarted, liveStderr: live.stderr, killStderr: kill.stderr }
}
