// A parent and child talking over a socketpair (issue 3, e.g. multiprocessing):
// after checkpoint --kill and restart their connection is rebuilt (bytes waiting to be read come
// back once) and the counted stream goes on in both directions with no gap and no repeat.
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { setup } from './helpers/amber.js'

const nums = (lines: string[], tag: string) =>
  lines.filter((l) => l.startsWith(`${tag} `)).map((l) => Number(l.split(' ')[1]))

t.test('socketpair ends keep exchanging a counted stream across restart', async (t) => {
  const a = await setup(t)
  const exe = await build('sockpair')
  const app = a.launch([exe])
  await app.waitLines(15)
  const ck = await a.run(['checkpoint', '--dir', a.dir, '--kill'])
  t.equal(ck.code, 0, 'checkpoint succeeds')
  t.notMatch(ck.stderr, /will not be restored/, 'no descriptor reported unrestorable: both ends are ours')
  await app.wait(20_000)
  const before = { sent: nums(app.lines, 'sent'), got: nums(app.lines, 'got'), echo: nums(app.lines, 'echo') }
  const restarted = a.restart()
  await restarted.waitLines(18, 30_000)
  const lines = restarted.lines
  t.notOk(lines.some((l) => l.startsWith('BAD')), `no gap, no repeat: ${lines.slice(0, 9).join(' | ')}`)
  const after = { sent: nums(lines, 'sent'), got: nums(lines, 'got'), echo: nums(lines, 'echo') }
  t.ok(after.got.length >= 3 && after.echo.length >= 3, 'both directions carry data after restart')
  t.equal(after.got[0], before.got.at(-1)! + 1, 'the server receives the next number')
  t.equal(after.echo[0], before.echo.at(-1)! + 1, 'the client receives the next echo')
  t.ok(after.sent.every((n, i) => i === 0 || n === after.sent[i - 1]! + 1), 'the client keeps counting')
})
