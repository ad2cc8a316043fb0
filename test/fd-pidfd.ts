// pidfds survive (issue 11): a process holding pidfds on two children of the computation (one
// PIDFD_NONBLOCK) still sees them live (not readable, signalable, waitid EAGAIN) after a live
// checkpoint and after a restart — where every child has a new kernel pid — and when they exit
// each pidfd becomes readable and waitid(P_PIDFD) reaps the right child with its status.
import t from 'tap'
import { join } from 'node:path'
import { build } from './helpers/fixtures.js'
import { setup } from './helpers/amber.js'
import { bads, liveThenRestart, ticks } from './helpers/fdstate.js'

t.test('pidfds on children wait for the right child after restart', async (t) => {
  const a = await setup(t)
  const exe = await build('pidfdwait')
  const work = a.mkdir('work')
  const app = a.launch([exe, work])
  const { before, restarted } = await liveThenRestart(a, app, { exe })
  t.same(bads(before), [], 'both pidfds fine across the live checkpoint')
  a.writeFile(join(work, 'stop'), '')
  const ex = await restarted.wait(30_000)
  const after = restarted.lines.slice()
  t.same(bads(after), [], 'both pidfds fine after the restart')
  t.equal(ticks(after)[0], ticks(before).at(-1)! + 1, 'the program goes on from the tick it was at')
  t.ok(after.includes('reaped ok'), `each pidfd reaped its own child with its status: ${after.slice(-3).join(' | ')}`)
  t.equal(ex.code, 0, 'and the program exits 0')
})
