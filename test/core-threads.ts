// 8 threads with a mutex-protected shared total: after restart every thread keeps progressing and
// the invariant sum(per-thread counts) == total holds on every line.
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { checkpointKillRestart, setup } from './helpers/amber.js'

interface Tick {
  counts: number[]
  total: number
  ok: boolean
}

function parse(lines: string[]): Tick[] {
  const out: Tick[] = []
  for (const l of lines) {
    const m = /^tick ((?:\d+ ){8})total (\d+) (ok|BAD)$/.exec(l)
    if (!m) throw new Error(`unexpected line from threads: ${JSON.stringify(l)}`)
    const counts = m[1]!.trim().split(' ').map(Number)
    out.push({ counts, total: Number(m[2]), ok: m[3] === 'ok' })
  }
  return out
}

t.test('8 threads keep progressing and the shared invariant holds after restart', async (t) => {
  const a = await setup(t)
  const exe = await build('threads')
  const app = a.launch([exe])
  await app.waitLines(5)
  const { before, restarted, leftover } = await checkpointKillRestart(a, app, { after: 12, exe })
  t.same(leftover, [], 'checkpoint --kill left no threads process running')

  const pre = parse(before)
  const post = parse(restarted.lines.slice(0, 12))
  t.ok(pre.length >= 5, 'ticks before the checkpoint')
  t.same(pre.filter((x) => !x.ok), [], 'invariant held before the checkpoint')
  t.same(post.filter((x) => !x.ok), [], 'invariant holds on every line after restart')
  for (const x of post) t.equal(x.counts.reduce((s, c) => s + c, 0), x.total, `sum of counts == total (${x.total})`)

  const last = pre.at(-1)!
  const first = post[0]!
  const end = post.at(-1)!
  t.ok(first.total >= last.total, `state carried over: total ${first.total} >= ${last.total} at the checkpoint`)
  for (let i = 0; i < 8; i++) {
    t.ok(first.counts[i]! >= last.counts[i]!, `thread ${i}: count carried over (${first.counts[i]} >= ${last.counts[i]})`)
    t.ok(end.counts[i]! > first.counts[i]!, `thread ${i} progresses after restart (${first.counts[i]} -> ${end.counts[i]})`)
  }
  // and progress keeps going: no thread stalls for the whole second half of the window
  const mid = post[6]!
  for (let i = 0; i < 8; i++) t.ok(end.counts[i]! > mid.counts[i]!, `thread ${i} still progressing late after restart`)
})
