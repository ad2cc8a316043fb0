// A process that sandboxed itself with Landlock: the kernel shows a domain nowhere and amber cannot
// rebuild one, so a restored process would run unsandboxed — a silent loss of a security boundary.
// The checkpoint is refused, naming Landlock, and the program goes on inside its sandbox; the same
// after the sandboxed program exec'd (the domain outlives the exec; AMBER_LANDLOCKED hands it down).
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { setup } from './helpers/amber.js'

for (const how of ['self', 'exec'] as const)
t.test(`a process in a Landlock sandbox (${how}): the checkpoint is refused by name, the program goes on`, async (t) => {
  const a = await setup(t)
  const exe = await build('landlock')
  const app = a.launch([exe, how])
  await app.waitFor((l) => l.some((x) => x.startsWith('nolandlock ')) || l.filter((x) => x.startsWith('n ')).length >= 3, 30_000, 'counting')
  const no = app.lines.find((l) => l.startsWith('nolandlock '))
  if (no) return t.skip(`no Landlock here: ${no}`)
  t.ok(app.lines.includes('write denied'), `the sandbox holds before the checkpoint: ${JSON.stringify(app.lines.slice(0, 3))}`)
  const r = await a.run(['checkpoint', '--dir', a.dir, '--json'], 60_000)
  t.not(r.code, 0, 'the checkpoint fails')
  t.match(r.stderr, /Landlock/, `says why: ${r.stderr.trim()}`)
  const n = app.lines.length
  await app.waitLines(n + 3, 10_000)
  t.pass('the program goes on counting')
})
