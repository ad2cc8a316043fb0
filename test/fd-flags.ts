// Descriptor flags and ownership survive (issue 11): every status flag F_SETFL can change
// (O_NONBLOCK, O_APPEND, O_ASYNC, O_DIRECT, O_NOATIME) and FD_CLOEXEC, on pipes, files, eventfd,
// timerfd, signalfd and a dup, read back identical after a live checkpoint and after a restart;
// F_SETOWN / F_SETOWN_EX keep naming the process (its pid as it knows it, the new kernel pid
// underneath: the O_ASYNC signal still arrives) and F_SETSIG keeps its signal.
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { setup } from './helpers/amber.js'
import { bads, liveThenRestart, ticks } from './helpers/fdstate.js'

t.test('status flags, FD_CLOEXEC, F_SETOWN and F_SETSIG read back identical after restart', async (t) => {
  const a = await setup(t)
  const exe = await build('fdflags')
  const work = a.mkdir('work')
  const app = a.launch([exe, work])
  const { before, restarted } = await liveThenRestart(a, app, { exe })
  t.same(bads(before), [], 'nothing changed across the live checkpoint')
  const after = restarted.lines.slice()
  t.same(bads(after), [], 'nothing changed across the restart (flags, owner, signal delivery)')
  t.ok(ticks(after).length >= 5, `the program goes on: ${after.slice(0, 3).join(' | ')}`)
  t.equal(ticks(after)[0], ticks(before).at(-1)! + 1, 'from the tick it was at')
})
