// Terminals (issue 11: pty programs hung after restart; a /dev/null log opened by `script` was
// given the restart's read-only stdin). test/fixtures/ttyopen.c is a driver holding a pty master
// and a log on /dev/null, and a session whose controlling terminal is the slave and which also
// opened /dev/tty: every tick input goes in through the master and an answer comes back through
// /dev/tty, the session checking it is still the session leader in the foreground. Then the real
// thing: script(1) running a shell loop that writes to /dev/tty.
import t from 'tap'
import { existsSync } from 'node:fs'
import { build } from './helpers/fixtures.js'
import { setup } from './helpers/amber.js'
import { bads, liveThenRestart, ticks } from './helpers/fdstate.js'

t.test('a session in a pty: input, output, /dev/tty, controlling terminal and foreground group after restart', async (t) => {
  const a = await setup(t)
  const exe = await build('ttyopen')
  const app = a.launch([exe])
  const { before, restarted } = await liveThenRestart(a, app, { exe })
  t.same(bads(before), [], 'fine across the live checkpoint')
  const after = restarted.lines.slice()
  t.same(bads(after), [], 'the session is whole after the restart')
  t.equal(ticks(after)[0], ticks(before).at(-1)! + 1, 'the driver goes on from the tick it was at')
  t.notMatch(restarted.err.text(), /warning/, 'the restart had nothing to warn about')
})

// script(1)'s own loop polls its descriptors and gives up on the EINTR the checkpoint signal gives
// poll (util-linux: any poll error ends the session): it needs the agent to resume interrupted
// calls (issue 10, branch house-intr). The descriptors themselves are this issue's.
// Until then its checks are marked todo (they run, and say what they see).
const issue10 = 'needs issue 10 (calls interrupted by the checkpoint signal resume instead of failing with EINTR)'
t.test('script(1) running a shell that writes to /dev/tty', { skip: existsSync('/usr/bin/script') ? false : 'no /usr/bin/script' }, async (t) => {
  const a = await setup(t)
  const loop = 'for i in $(seq 1 100000); do echo "tick $i ok" > /dev/tty; sleep 0.1; done'
  const app = a.launch(['/usr/bin/script', '-qfc', `bash -c '${loop}'`, '/dev/null'])
  const clean = (l: string[]) => l.map((x) => x.replace(/\r$/, ''))
  let after: string[] = [], before: string[] = []
  try {
    const r = await liveThenRestart(a, app, { exe: '/usr/bin/script' })
    after = clean(r.restarted.lines)
    before = clean(r.before)
  } catch (e) {
    t.comment(`script did not survive: ${(e as Error).message.slice(0, 300)}`)
  }
  t.ok(ticks(after).length >= 5, `the shell loop goes on printing through the restored pty: ${after.slice(0, 3).join(' | ')}`, { todo: issue10 })
  t.equal(ticks(after)[0], ticks(before).at(-1)! + 1, 'from the tick it was at', { todo: issue10 })
})
