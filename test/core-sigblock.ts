// A thread that blocks the checkpoint signal where no wrapper of the agent sees it (a syscall
// instruction of its own, SIGSETXID blocked too, so the agent's SIGSETXID nudge for glibc's helper
// threads cannot reach it either) cannot be parked: the checkpoint is refused at once with a
// message naming the thread, not a 10 s timeout, and the program goes on.
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { setup } from './helpers/amber.js'

t.test('a thread blocking the checkpoint signal: refused, named, the program goes on', async (t) => {
  const a = await setup(t)
  const exe = await build('rawblock')
  const app = a.launch([exe])
  await app.waitLines(3)
  const t0 = Date.now()
  const r = await a.run(['checkpoint', '--dir', a.dir, '--json'], 30_000)
  const dt = Date.now() - t0
  t.not(r.code, 0, 'the checkpoint fails')
  t.match(r.stderr, /thread \d+ blocks the checkpoint signal \(\d+\) and cannot be stopped/, `says why: ${r.stderr.trim()}`)
  t.ok(dt < 8_000, `refused in ${dt} ms (not after the 10 s timeout)`)
  const n = app.lines.length
  await app.waitLines(n + 3, 10_000)
  t.pass('the program goes on counting')
})
