// Critical sections (amber_critical_enter/exit): a checkpoint requested while the application is
// inside one waits until it leaves. The app prints "in N" on entry and "out N" on exit; the
// checkpoint, asked for right after an "in", must not finish before the matching "out", and the
// restored app resumes outside the section (its next line is "in N+1").
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { setup } from './helpers/amber.js'

t.test('no checkpoint inside a critical section', async (t) => {
  const a = await setup(t)
  const app = a.launch([await build('critical'), '1500'])
  await app.waitLines(1)
  // wait for the next fresh "in" so that the section has ~1.5 s left
  const k = app.lines.length
  await app.waitLines(k + 2)
  const lastIn = app.lines.filter((l) => l.startsWith('in ')).pop()!
  t.match(app.lines[app.lines.length - 1], /^in \d+$/, 'inside a section now')
  const n = Number(lastIn.slice(3))
  const ck = await a.checkpoint({ kill: true })
  t.ok(ck.manifest, 'checkpoint written')
  t.ok(app.lines.includes(`out ${n}`), `the checkpoint finished only after "out ${n}" (lines: ${app.lines.join(' | ')})`)
  await app.wait(20_000)
  const restarted = a.restart()
  await restarted.waitLines(1)
  t.equal(restarted.lines[0], `in ${n + 1}`, 'the restored app resumes outside the section')
})
