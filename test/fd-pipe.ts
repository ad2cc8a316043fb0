// Bytes in flight in a pipe at checkpoint time come back at restart, once: the fixture keeps five
// messages queued in its own pipe and checks every message it reads is the next one. Without the
// in-flight bytes the restored read would block forever; with them duplicated it would say BAD.
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { checkpointKillRestart, ints, setup } from './helpers/amber.js'

t.test('pipe contents survive checkpoint and restart, nothing lost or repeated', async (t) => {
  const a = await setup(t)
  const exe = await build('pipeahead')
  const app = a.launch([exe])
  await app.waitLines(4)
  const { before, restarted } = await checkpointKillRestart(a, app, { after: 8, exe })
  const b = ints(before.map((l) => l.replace(/^got /, '')))
  const after = restarted.lines.slice(0, 8)
  t.notOk(after.some((l) => l.startsWith('BAD')), `no message lost or repeated: ${after.join(' | ')}`)
  t.same(ints(after.map((l) => l.replace(/^got /, ''))), [1, 2, 3, 4, 5, 6, 7, 8].map((k) => b.at(-1)! + k),
    'messages continue in order from the checkpoint')
})
