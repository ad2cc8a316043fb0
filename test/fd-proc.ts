// Descriptors that name a process or a namespace (issue 11: restarts aborted on "/proc/<old
// pid>/... is missing"): /proc/self/status, a child's /proc/<pid>/stat, the /proc/self directory,
// /proc/self/ns/net and ns/pid are reopened for the restored processes' new kernel pids; a
// symlink held with O_PATH|O_NOFOLLOW stays the symlink and a file reached through a link stays
// the target. test/fixtures/procfds.c checks each on every tick.
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { setup } from './helpers/amber.js'
import { bads, liveThenRestart, ticks } from './helpers/fdstate.js'

t.test('/proc, namespace and symlink descriptors describe the restored process', async (t) => {
  const a = await setup(t)
  const exe = await build('procfds')
  const work = a.mkdir('work')
  const app = a.launch([exe, work])
  const { live, before, restarted } = await liveThenRestart(a, app, { exe })
  t.same(bads(before), [], 'fine across the live checkpoint')
  t.notOk(live.warnings?.length, `nothing named at checkpoint: ${JSON.stringify(live.warnings)}`)
  const after = restarted.lines.slice()
  t.same(bads(after), [], 'every descriptor describes the restored processes')
  t.equal(ticks(after)[0], ticks(before).at(-1)! + 1, 'the program goes on from the tick it was at')
  t.notMatch(restarted.err.text(), /warning/, 'the restart had nothing to warn about')
})
