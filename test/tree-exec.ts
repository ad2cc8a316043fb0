// A process that execs another program after launch (issue 3) is still the same process of the
// computation — same vpid, same pid — and the program it became is what gets checkpointed and
// continues after restart.
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { setup } from './helpers/amber.js'

t.test('exec after launch, then checkpoint and restart', async (t) => {
  const a = await setup(t)
  const execer = await build('execer')
  const counter = await build('counter')
  const app = a.launch([execer, '300', counter, '100'])
  await app.waitLines(6)
  t.match(app.lines[0], /^before exec \d+$/, 'the launched program ran first')
  const st = await a.run(['status', '--dir', a.dir, '--json'])
  const procs = (JSON.parse(st.stdout) as { processes: { vpid: number; pid: number; cmd: string }[] }).processes
  t.equal(procs.length, 1, `one process after the exec: ${JSON.stringify(procs)}`)
  t.equal(procs[0]!.vpid, 1, 'it kept its vpid')
  t.equal(procs[0]!.pid, Number(app.lines[0]!.split(' ')[2]), 'and its pid')
  t.match(procs[0]!.cmd, /counter/, 'it is now the counter')
  await a.checkpoint({ kill: true })
  await app.wait(20_000)
  const nums = app.lines.filter((l) => /^\d+$/.test(l)).map(Number)
  const restarted = a.restart()
  await restarted.waitLines(3)
  t.equal(Number(restarted.lines[0]), nums.at(-1)! + 1, 'the exec\'d program continues after restart')
})
