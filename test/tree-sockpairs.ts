// Several socketpairs in one tree (issue 3): unnamed Unix sockets all have the same empty
// address, so the ends are paired by the peer inode the kernel reports (sock_diag) — three
// parent/child streams each continue across restart on their own pair, no gap, no repeat, no
// crossed streams, and nothing becomes /dev/null.
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { setup } from './helpers/amber.js'

t.test('three socketpairs are each rebuilt between the right two processes', async (t) => {
  const a = await setup(t)
  const exe = await build('sockpairs')
  const app = a.launch([exe])
  await app.waitFor((l) => l.filter((x) => x.startsWith('c2 echo')).length >= 5 || undefined, 30_000, '5 echoes on pair 2')
  const ck = await a.run(['checkpoint', '--dir', a.dir, '--kill'])
  t.equal(ck.code, 0, 'checkpoint succeeds')
  t.notMatch(ck.stderr, /will not be restored/, 'no descriptor reported unrestorable')
  await app.wait(20_000)
  const last = (lines: string[], tag: string) =>
    lines.filter((l) => l.startsWith(tag)).map((l) => Number(l.split(' ').at(-1))).at(-1) ?? 0
  const restarted = a.restart()
  await restarted.waitFor((l) => l.filter((x) => x.startsWith('c2 echo')).length >= 5 || undefined, 30_000, '5 echoes on pair 2 after restart')
  t.notOk(restarted.lines.some((l) => l.startsWith('BAD')), `no gap, repeat or crossing: ${restarted.lines.filter((l) => l.startsWith('BAD')).join(' | ')}`)
  t.notOk(restarted.err.lines.some((l) => l.includes('/dev/null')), `no socket became /dev/null: ${restarted.err.lines.join(' | ')}`)
  for (const i of [0, 1, 2]) {
    const first = restarted.lines.find((l) => l.startsWith(`c${i} echo`))
    t.equal(first, `c${i} echo ${last(app.lines, `c${i} echo`) + 1}`, `child ${i} continues on its own pair`)
    const got = restarted.lines.find((l) => l.startsWith(`got ${i} `))
    t.equal(got, `got ${i} ${last(app.lines, `got ${i} `) + 1}`, `the parent receives child ${i}'s next number`)
  }
})
