// SIGEV_THREAD timers (proc/sigev.agent.cc): glibc's helper threads block every signal and could
// never be stopped; the agent's own helper can. A periodic SIGEV_THREAD timer runs across three
// live checkpoints and a --kill/restart; afterwards it still counts, a timer made after the
// restart reaches the helper thread by its new tid, and timer_delete stops the first.
import { join } from 'node:path'
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { setup } from './helpers/amber.js'

t.test('SIGEV_THREAD timers across live checkpoints and a restart', async (t) => {
  const a = await setup(t)
  const exe = await build('sigevthr')
  const trigger = join(a.base, 'go')
  const app = a.launch([exe, trigger])
  await app.waitLines(1)
  for (let i = 0; i < 3; i++) await a.checkpoint()
  t.same(app.lines, ['ready'], 'nothing printed by the live checkpoints')
  await a.checkpoint({ kill: true })
  await app.wait(20_000)
  const r = a.restart()
  await new Promise((res) => setTimeout(res, 1000))
  a.writeFile(trigger, 'go')
  await r.waitLines(1, 30_000)
  t.same(r.lines, ['PASS'], `the program's verdict (stderr ${r.err.text().trim()})`)
})
