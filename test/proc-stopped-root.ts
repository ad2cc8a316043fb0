// Issue 10, stopped processes: the launched program itself stopped from outside (kill -STOP), its
// parent not a process of the computation. Nothing in the computation could read back the stop
// report its parent would see nor stop it again unseen, so the checkpoint is refused, within
// seconds, naming it — never a hang, never a silent continue: after the refusal it is still
// stopped and has printed nothing more. Continued, it checkpoints and restarts as any other.
// (A stopped child whose parent is in the computation is carried through: test/corpus/proc-stopped-*.)
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { procInfo, setup, sleep, checkpointKillRestart, ints } from './helpers/amber.js'

t.test('a launched program stopped from outside is refused by name, and still stopped', async (t) => {
  const a = await setup(t)
  const exe = await build('counter')
  const app = a.launch([exe, '50'])
  await app.waitLines(3, 30_000)
  const pid = a.tagged().find((p) => procInfo(p).cmd.split(' ')[0] === exe)
  t.ok(pid, 'found the program')
  process.kill(pid!, 'SIGSTOP')
  await sleep(200)
  const printed = app.lines.length
  const t0 = Date.now()
  const r = await a.run(['checkpoint', '--dir', a.dir], 30_000)
  const took = Date.now() - t0
  t.not(r.code, 0, 'the checkpoint failed')
  t.match(r.stderr, new RegExp(`pid ${pid}\\b.*is stopped.*not a process of the computation`), `named: ${r.stderr.trim()}`)
  t.ok(took < 15_000, `within seconds (${took} ms)`)
  t.equal(procInfo(pid!).state, 'T', 'still stopped after the refusal')
  await sleep(200)
  t.equal(app.lines.length, printed, 'it ran nothing meanwhile')
  process.kill(pid!, 'SIGCONT')
  await app.waitLines(printed + 2, 10_000)
  const { restarted } = await checkpointKillRestart(a, app, { after: 3 })
  const n = ints(restarted.lines)
  t.ok(n.length >= 3 && n[1] === n[0]! + 1, `continued after the restart: ${n.slice(0, 3).join(' ')}`)
})
