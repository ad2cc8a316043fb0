// Virtual pids (issue 3): getpid/getppid return the same values before and after restart, and
// after restart the parent kill()s and waitpid()s its child by the pid fork() gave it before the
// checkpoint — the kernel pids are all new.
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { setup } from './helpers/amber.js'

const pick = (lines: string[], who: string) =>
  lines.filter((l) => l.startsWith(`${who} `)).map((l) => {
    const [, n, , pid, , ppid] = l.split(' ')
    return { n: Number(n), pid: Number(pid), ppid: Number(ppid) }
  })

t.test('pids stay the same; the parent kills and reaps its child by the pid it knew', async (t) => {
  const a = await setup(t)
  const exe = await build('pidtree')
  const app = a.launch([exe, '25'])
  await app.waitLines(8)
  await a.checkpoint({ kill: true })
  await app.wait(20_000)
  const p0 = pick(app.lines, 'p').at(-1)!
  const c0 = pick(app.lines, 'c').at(-1)!
  const kid = Number(app.lines.filter((l) => l.startsWith('p ')).at(-1)!.split(' ').at(-1))
  t.equal(c0.pid, kid, 'the child is the pid fork() returned')
  t.equal(c0.ppid, p0.pid, "the child's parent is the parent")

  const restarted = a.restart()
  const code = await restarted.wait(30_000)
  const p1 = pick(restarted.lines, 'p')
  const c1 = pick(restarted.lines, 'c')
  t.ok(p1.length > 0 && c1.length > 0, 'both processes ran after restart')
  t.same([...new Set(p1.map((x) => `${x.pid}/${x.ppid}`))], [`${p0.pid}/${p0.ppid}`], 'parent: getpid/getppid unchanged')
  t.same([...new Set(c1.map((x) => `${x.pid}/${x.ppid}`))], [`${c0.pid}/${c0.ppid}`], 'child: getpid/getppid unchanged')
  t.equal(p1[0]!.n, p0.n + 1, 'the parent continued its count')
  const reaped = restarted.lines.find((l) => l.startsWith('reaped '))
  t.equal(reaped, `reaped ${kid} kid ${kid} signal 15`, 'kill(kid) reached the child and waitpid(kid) reaped it')
  t.equal(code.code, 0, 'the restored parent exited 0')
})
