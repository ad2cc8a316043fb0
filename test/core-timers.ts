// clock_gettime and nanosleep keep working after restart (vdso moved into place), and both a
// 50 ms setitimer interval timer and a 50 ms POSIX timer_create timer keep firing: their counts go
// on from where they were, at about their rate, from the first interval after restart.
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { checkpointKillRestart, setup } from './helpers/amber.js'

interface Line {
  t: number
  itimer: number
  posix: number
}

function parse(lines: string[]): Line[] {
  return lines.map((l) => {
    const m = /^t (\d+) itimer (\d+) posix (\d+)$/.exec(l)
    if (!m) throw new Error(`unexpected line from timers: ${JSON.stringify(l)}`)
    return { t: Number(m[1]), itimer: Number(m[2]), posix: Number(m[3]) }
  })
}

t.test('timers, clock_gettime and nanosleep after restart', async (t) => {
  const a = await setup(t)
  const exe = await build('timers')
  const app = a.launch([exe])
  await app.waitLines(6)
  const N = 16
  const { before, restarted, leftover } = await checkpointKillRestart(a, app, { after: N, exe })
  t.same(leftover, [], 'checkpoint --kill left no timers process running')

  const pre = parse(before)
  const post = parse(restarted.lines.slice(0, N))
  const last = pre.at(-1)!
  const first = post[0]!
  t.ok(last.itimer >= 8 && last.posix >= 8, `timers fired before the checkpoint (${last.itimer}, ${last.posix})`)

  // time
  const all = [...pre, ...post]
  const back = all.findIndex((x, i) => i > 0 && x.t <= all[i - 1]!.t)
  t.equal(back, -1, 'CLOCK_MONOTONIC strictly increases across the whole run, restart included')
  const gaps = post.slice(1).map((x, i) => x.t - post[i]!.t)
  t.ok(gaps.every((g) => g >= 99), `nanosleep(100 ms) sleeps at least 100 ms after restart: ${gaps.join(' ')}`)
  t.ok(gaps.every((g) => g < 1000), `and returns (no gap over 1 s): ${gaps.join(' ')}`)

  // counts carried over, and the timers still fire
  t.ok(first.itimer >= last.itimer, `itimer count carried over (${last.itimer} -> ${first.itimer})`)
  t.ok(first.posix >= last.posix, `posix timer count carried over (${last.posix} -> ${first.posix})`)
  const early = post[3]!
  t.ok(early.itimer > first.itimer, `setitimer fires within the first 300 ms after restart (${first.itimer} -> ${early.itimer})`)
  t.ok(early.posix > first.posix, `timer_create timer fires within the first 300 ms after restart (${first.posix} -> ${early.posix})`)
  const end = post.at(-1)!
  const ms = end.t - first.t
  const expect = ms / 50
  t.ok(end.itimer - first.itimer >= expect * 0.5, `setitimer keeps its 50 ms rate: ${end.itimer - first.itimer} firings in ${ms} ms (expect ~${expect.toFixed(0)})`)
  t.ok(end.posix - first.posix >= expect * 0.5, `timer_create keeps its 50 ms rate: ${end.posix - first.posix} firings in ${ms} ms (expect ~${expect.toFixed(0)})`)
  t.ok(end.itimer - first.itimer <= expect * 1.5 + 2, 'setitimer does not fire faster than its interval')
  t.ok(end.posix - first.posix <= expect * 1.5 + 2, 'timer_create timer does not fire faster than its interval')
})
