// A descriptor amber cannot rebuild (issue 3: "a socket to a peer outside the computation") is
// reported at checkpoint by name, on stderr and in --json; at restart the application finds the
// number taken by a harmless stand-in and carries on — no crash, the count continues.
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { ints, setup } from './helpers/amber.js'

t.test('unrestorable socket: named at checkpoint, harmless at restart', async (t) => {
  const a = await setup(t)
  const exe = await build('sockhold')
  const app = a.launch([exe, '7'])
  await app.waitLines(3)
  const r = await a.run(['checkpoint', '--dir', a.dir, '--kill', '--json'])
  t.equal(r.code, 0, 'checkpoint succeeds')
  t.match(r.stderr, /amber: warning: .*fd 7 socket:\[\d+\] will not be restored/, 'stderr names the descriptor')
  const res = JSON.parse(r.stdout) as { warnings?: string[] }
  t.ok(res.warnings?.some((w) => /fd 7 socket:\[\d+\]/.test(w)), '--json carries the warning')
  await app.wait(20_000)
  const before = ints(app.lines)
  const restarted = a.restart()
  await restarted.waitLines(5)
  t.same(ints(restarted.lines).slice(0, 5), [1, 2, 3, 4, 5].map((k) => before.at(-1)! + k), 'the program continues')
})
