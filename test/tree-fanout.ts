// A 50-process tree (a parent that forks 49 children, issue 3) is checkpointed and restarted
// intact: 50 images, and every process goes on counting from where it was.
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { setup } from './helpers/amber.js'

const last = (lines: string[], name: string) => {
  const xs = lines.filter((l) => l.startsWith(`${name} `)).map((l) => Number(l.split(' ')[1]))
  return xs.length ? xs[xs.length - 1]! : 0
}

t.test('50 processes checkpointed and restarted intact', async (t) => {
  const a = await setup(t)
  const exe = await build('forkers')
  const app = a.launch([exe, '49'])
  const names = ['p', ...Array.from({ length: 49 }, (_, i) => `c${i + 1}`)]
  const seenAll = async (lines: () => string[], ms: number) => {
    const end = Date.now() + ms
    while (!names.every((n) => lines().some((l) => l.startsWith(`${n} `)))) {
      if (Date.now() > end) throw new Error('not every process printed')
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  await seenAll(() => app.lines, 30_000)
  const ck = await a.checkpoint({ kill: true })
  t.equal(ck.images.length, 50, '50 images')
  await app.wait(30_000)
  const before = app.lines.slice()
  const restarted = a.restart()
  await seenAll(() => restarted.lines, 60_000)
  const wrong = names.filter((n) => restarted.lines.find((l) => l.startsWith(`${n} `)) !== `${n} ${last(before, n) + 1}`)
  t.same(wrong, [], 'every process continued from the next number')
})
