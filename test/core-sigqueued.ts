// Queued real-time signals pending across checkpoints (proc/signals.cc): 600 queued to the
// process (more than the first mapping the agent keeps them in) and 100 plus a SIGUSR1 queued to
// one thread, all blocked. Three live checkpoints, then --kill and restart: every one comes back,
// in order, with its value and sender, on the queue it was on, none twice.
import { join } from 'node:path'
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { setup } from './helpers/amber.js'

t.test('queued signals: none lost or doubled by live checkpoints and a restart', async (t) => {
  const a = await setup(t)
  const exe = await build('sigqueued')
  const trigger = join(a.base, 'go')
  const app = a.launch([exe, trigger])
  await app.waitLines(1)
  for (let i = 0; i < 3; i++) await a.checkpoint()
  await a.checkpoint({ kill: true })
  await app.wait(20_000)
  const r = a.restart()
  // the restored program waits for the trigger file
  await new Promise((res) => setTimeout(res, 1500))
  a.writeFile(trigger, 'go')
  await r.waitLines(1, 30_000)
  t.same(r.lines, ['PASS'], `the program's verdict (stderr ${r.err.text().trim()})`)
})
