// Netlink sockets (fd/netlink.cc): the messages the kernel queued on one cannot be queued again, so
// a checkpoint names them (stderr and --json warnings) rather than losing them silently; at restart
// the socket is back at its number, empty, a netlink socket still (the program counts on).
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { setup } from './helpers/amber.js'

t.test('netlink socket with a waiting reply: named at checkpoint, back empty at restart', async (t) => {
  const a = await setup(t)
  const exe = await build('nlqueued')
  const app = a.launch([exe])
  await app.waitLines(3)
  const peek = (l: string) => Number(l.split(' ')[1])
  const count = (ls: string[]) => ls.map((l) => Number(l.split(' ')[0]))
  t.ok(app.lines.slice(0, 3).every((l) => peek(l) > 0), 'a reply waits before the checkpoint')
  const r = await a.run(['checkpoint', '--dir', a.dir, '--kill', '--json'])
  t.equal(r.code, 0, 'checkpoint succeeds')
  t.match(r.stderr, /amber: warning: .*fd 3 \(socket:\[\d+\]\) a netlink socket \(protocol 0\) had messages waiting/, 'stderr names the socket and its loss')
  const res = JSON.parse(r.stdout) as { warnings?: string[] }
  t.ok(res.warnings?.some((w) => /fd 3 .*netlink.*waiting/.test(w)), '--json carries the warning')
  await app.wait(20_000)
  const before = count(app.lines)
  const restarted = a.restart()
  await restarted.waitLines(5)
  t.same(count(restarted.lines).slice(0, 5), [1, 2, 3, 4, 5].map((k) => before.at(-1)! + k), 'the program continues')
  t.ok(restarted.lines.slice(0, 5).every((l) => peek(l) === -1), `a netlink socket again, its queue empty (${restarted.lines.slice(0, 5).join(', ')})`)
})
