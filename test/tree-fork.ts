// Forked children are followed (issue 3): a parent that forks two children registers three
// processes, the children with the parent's vpid as their parent; a checkpoint takes all three,
// and after restart every one of them goes on counting from where it was.
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { setup } from './helpers/amber.js'

function last(lines: string[], name: string): number {
  const xs = lines.filter((l) => l.startsWith(`${name} `)).map((l) => Number(l.split(' ')[1]))
  return xs.length ? xs[xs.length - 1]! : 0
}

t.test('fork is followed; parent and children all continue', async (t) => {
  const a = await setup(t)
  const exe = await build('forkers')
  const app = a.launch([exe, '2'])
  await app.waitLines(12)
  const st = await a.run(['status', '--dir', a.dir, '--json'])
  const procs = (JSON.parse(st.stdout) as { processes: { vpid: number; parent: number }[] }).processes
  t.equal(procs.length, 3, `three processes registered: ${JSON.stringify(procs)}`)
  const root = procs.find((p) => p.parent === 0)
  t.ok(root, 'one root')
  t.equal(procs.filter((p) => p.parent === root!.vpid).length, 2, 'two children of the root')

  const ck = await a.checkpoint({ kill: true })
  t.equal(ck.images.length, 3, 'one image per process')
  await app.wait(20_000)
  const before = app.lines.slice()
  const restarted = a.restart()
  await restarted.waitLines(12, 30_000)
  for (const name of ['p', 'c1', 'c2']) {
    const b = last(before, name)
    const first = restarted.lines.find((l) => l.startsWith(`${name} `))
    t.equal(first, `${name} ${b + 1}`, `${name} continues from ${b + 1}`)
  }
})
