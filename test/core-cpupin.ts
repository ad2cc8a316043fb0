// A thread pinned to one CPU and then another reads the right CPU from sched_getcpu() after
// restart. glibc 2.36's sched_getcpu() reads the thread's rseq area; a restored thread whose area
// was not re-registered keeps reporting the CPU it had at checkpoint time.
import { availableParallelism } from 'node:os'
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { checkpointKillRestart, setup } from './helpers/amber.js'

function parse(lines: string[]): { want: number; got: number; sys: number }[] {
  return lines.map((l) => {
    const m = /^cpu want (\d+) got (-?\d+) sys (\d+)$/.exec(l)
    if (!m) throw new Error(`unexpected line from cpupin: ${JSON.stringify(l)}`)
    return { want: Number(m[1]), got: Number(m[2]), sys: Number(m[3]) }
  })
}

t.test('sched_getcpu() is right after restart (rseq re-registered)', { skip: availableParallelism() < 2 ? 'needs 2 CPUs' : false }, async (t) => {
  const a = await setup(t)
  const exe = await build('cpupin')
  const app = a.launch([exe])
  await app.waitLines(6)
  const N = 14
  const { before, restarted, leftover } = await checkpointKillRestart(a, app, { after: N, exe })
  t.same(leftover, [], 'checkpoint --kill left no cpupin running')

  const pre = parse(before)
  const post = parse(restarted.lines.slice(0, N))
  const bad = (xs: ReturnType<typeof parse>) => xs.filter((x) => x.want !== x.got || x.got !== x.sys)
  t.same(bad(pre), [], 'under the agent, before any checkpoint: want == got == sys')
  t.ok(new Set(pre.map((x) => x.sys)).size === 2, 'the thread really moved between two CPUs')
  // The first line after restart may come from an iteration interrupted between its pin and its
  // print; the restored thread is not obliged to keep that pin, but sched_getcpu() must agree with
  // the kernel.
  t.equal(post[0]!.got, post[0]!.sys, `first line after restart: sched_getcpu() agrees with getcpu(2) (${restarted.lines[0]})`)
  t.same(bad(post.slice(1)), [], `after restart: want == got == sys on every line:\n${restarted.lines.slice(1, N).join('\n')}`)
  t.ok(new Set(post.map((x) => x.got)).size === 2, 'after restart the thread still moves between two CPUs')
})
