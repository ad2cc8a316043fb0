// Open file descriptions shared by dup and by fork keep one offset across restart (issue 3):
// test/fixtures/sharedoff.c writes numbered lines into one file through a descriptor, its dup,
// and the same descriptor inherited by a child, at the shared offset (no O_APPEND). After
// checkpoint → kill → restart the file holds every line of both processes exactly once, whole,
// in the order each wrote them: descriptors reopened separately would overwrite each other.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { setup } from './helpers/amber.js'

t.test('dup and fork-shared descriptors keep one offset', async (t) => {
  const a = await setup(t)
  const exe = await build('sharedoff')
  const out = join(a.base, 'shared.out')
  const limit = 80
  const app = a.launch([exe, out, String(limit)])
  await app.waitFor((l) => l.filter((x) => x.startsWith('c ')).length >= 15 || undefined, 30_000, '15 child lines')
  const ck = await a.checkpoint({ kill: true })
  t.equal(ck.images.length, 2, 'parent and child checkpointed')
  const manifest = JSON.parse(readFileSync(ck.manifest, 'utf8')) as { shares?: Array<Array<{ vpid: number; fd: number }>> }
  // (stdin, /dev/null from the harness, is one description over the fork too: a group of its own)
  const file = manifest.shares?.filter((g) => g.some((d) => d.fd === 3)) ?? []
  t.equal(file.length, 1, `one shared description of the file found (${JSON.stringify(manifest.shares)})`)
  t.equal(file[0]?.length, 4, 'shared by four descriptors: A and B in the parent and in the child')
  await app.wait(20_000)
  const before = app.lines.length

  const restarted = a.restart()
  const code = await restarted.wait(60_000)
  t.equal(code.code, 0, 'the parent reaped its child and exited 0')
  t.ok(restarted.lines.length > 0 && before > 0, 'both ran before and after')
  const lines = readFileSync(out, 'utf8').split('\n').filter((l) => l !== '')
  const child = lines.filter((l) => l.startsWith('c ')).map((l) => Number(l.slice(2)))
  const parent = lines.filter((l) => l.startsWith('pa ') || l.startsWith('pb ')).map((l) => Number(l.slice(3)))
  t.same(child, Array.from({ length: limit }, (_, i) => i + 1), 'the child wrote 1..N once each, nothing overwritten')
  t.same(parent, Array.from({ length: limit }, (_, i) => i + 1), 'the parent wrote 1..N once each through A and B, nothing overwritten')
  t.equal(lines.length, 2 * limit, 'no torn or stray lines')
  t.ok(lines.every((l) => /^(c|pa|pb) \d+$/.test(l)), 'every line whole')
})
