// 10,000 descriptors (issue 9): test/fixtures/manyfds.c makes 5,000 pipes with a few bytes in
// flight in each, and 200 files read to offset 5, then forks: the parent keeps every write end,
// the child every read end, and both hold the 200 files (one open description each, shared). After
// checkpoint --kill and restart, on a signal from the test: the child reads every pipe's bytes
// that were in flight (each checked), then a second record the restored parent writes into every
// pipe, then end of file (no stray write end survived anywhere); a read by the child moves the
// parent's offset in every file (the descriptions are still shared); both exit 0.
import t from 'tap'
import { join } from 'node:path'
import { build } from './helpers/fixtures.js'
import { setup } from './helpers/amber.js'

const PIPES = 5000
const FILES = 200
t.setTimeout(300_000)

t.test(`${PIPES} pipes and ${FILES} shared files across a restart`, async (t) => {
  const a = await setup(t)
  const exe = await build('manyfds')
  const dir = a.mkdir('files')
  const t0 = Date.now()
  const app = a.launch([exe, String(PIPES), String(FILES), dir])
  await app.waitFor((l) => l.filter((x) => x.startsWith('ready ')).length >= 2 || undefined, 120_000, 'parent and child ready')
  const held = app.lines.filter((l) => l.startsWith('ready ')).reduce((n, l) => n + Number(l.split(' ')[2]), 0)
  t.ok(held >= 2 * (PIPES + FILES), `the two processes hold ${held} descriptors`)
  const t1 = Date.now()
  const ck = await a.run(['checkpoint', '--dir', a.dir, '--json', '--kill'], 120_000)
  t.equal(ck.code, 0, `checkpoint exits 0 (${ck.stderr.trim().slice(-300)})`)
  t.notMatch(ck.stderr, /will not be restored/, 'every descriptor is restorable')
  await app.wait(60_000)
  const t2 = Date.now()
  const restarted = a.restart()
  a.writeFile(join(dir, 'go'), '')
  const exit = await restarted.wait(120_000)
  const t3 = Date.now()
  t.comment(`launch ${((t1 - t0) / 1000).toFixed(1)} s, checkpoint ${((t2 - t1) / 1000).toFixed(1)} s, restart to the end ${((t3 - t2) / 1000).toFixed(1)} s`)
  t.same(restarted.lines.filter((l) => l.startsWith('bad ')), [], 'nothing found wrong')
  t.ok(restarted.lines.includes(`ok child pipes=${PIPES} files=${FILES}`), "the child read every pipe's bytes in flight, the new records and end of file, and the shared files")
  t.ok(restarted.lines.includes(`ok parent pipes=${PIPES} files=${FILES}`), 'the parent wrote into every pipe and shares every file offset with the child')
  t.ok(restarted.lines.includes('done 0'), 'the parent reaped the child, which exited 0')
  t.notOk(restarted.lines.some((l) => l.startsWith('ready ')), 'neither process started over')
  t.equal(exit.code, 0, `restart exits 0 (${restarted.err.text().slice(-300)})`)
})
