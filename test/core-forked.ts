// Forked (copy-on-write) checkpoints: `amber checkpoint --forked`, several times, while the
// program changes its memory all the time (test/fixtures/forkedmem.c: 256 MiB of heap, a
// MADV_WIPEONFORK and a MADV_DONTFORK region stamped in a ring by a thread; a child stamping a
// MAP_SHARED region it shares with its parent). Each generation restarts, and the restored
// processes check first thing that their memory is one instant's (every page holds its stamp's
// pattern and the stamps run back from the counter without a hole): a writer that saw memory the
// program changed after the fork, or missed what a fork does not copy, fails it. The program
// never sees a SIGCHLD or a child of ours (waitpid(-1, __WALL), /proc/self/task/*/children), and
// no writer outlives its checkpoint. A writer killed while it writes fails its generation by name
// and leaves `latest` alone.
import { readlinkSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { type Checkpoint, type Proc, procInfo, setup, sleep, statFields } from './helpers/amber.js'

const fails = (p: Proc) => p.lines.filter((l) => l.startsWith('FAIL'))

t.test('forked checkpoints of changing memory restart as one instant each', async (t) => {
  const a = await setup(t)
  const exe = await build('forkedmem')
  const app = a.launch([exe, '256'])
  // (generous: 256 MiB stamped and checked word by word is minutes of CPU on a loaded 2-core machine)
  await app.waitFor((l) => l.includes('READY') && l.includes('READY child'), 120_000, 'READY from both processes')
  const tagged0 = a.tagged().length

  const gens: Checkpoint[] = []
  for (let k = 0; k < 3; k++) {
    const ck = await a.checkpoint({ forked: true })
    gens.push(ck)
    t.equal(ck.images.length, 2, `generation ${ck.generation}: two images (parent and child)`)
    t.ok(ck.bytes >= 256 << 20, `generation ${ck.generation} holds the 256 MiB heap (${ck.bytes} bytes)`)
    t.same(fails(app), [], `the program noticed nothing after forked checkpoint ${k + 1}`)
    t.equal(app.exit, null, 'the program runs on')
    await sleep(300)
  }
  // The writers are gone once their checkpoint is reported (each exits after its `written`).
  let extra = a.tagged().length - tagged0
  for (let i = 0; i < 50 && extra > 0; i++) {
    await sleep(100)
    extra = a.tagged().length - tagged0
  }
  t.equal(extra, 0, 'no image writer left behind')

  // A writer that dies fails its generation with a message naming it; nothing half-written is
  // marked good (latest stays), and the program, which ran on, notices nothing.
  {
    const known = new Set(a.tagged())
    const latestBefore = readlinkSync(join(a.dir, 'latest'))
    const ck = a.spawn(['checkpoint', '--dir', a.dir, '--json', '--forked'])
    let writer: number | undefined
    for (let i = 0; i < 400 && writer === undefined && ck.exit === null; i++) {
      // (a copy of the program: its command line, a pid the computation did not have before,
      // leading a session of its own — the go-between that makes it, sharing the program's memory
      // for an instant, does not: killing that one instead left the writer to succeed)
      writer = a.tagged().find((p) => !known.has(p) && procInfo(p).cmd.startsWith(exe) && Number(statFields(p)?.[3]) === p)
      if (writer === undefined) await sleep(25)
    }
    t.ok(writer !== undefined, `found the forked writer (pid ${writer})`)
    if (writer !== undefined) process.kill(writer, 'SIGKILL')
    const ex = await ck.wait(60_000)
    t.not(ex.code, 0, 'the checkpoint whose writer died fails')
    t.match(ck.err.text(), /forked image writer .* died before its image was durable|disconnected/, `it says why: ${ck.err.text().trim()}`)
    t.equal(readlinkSync(join(a.dir, 'latest')), latestBefore, 'latest still names the last good generation')
    t.same(fails(app), [], 'the program noticed nothing')
    t.equal(app.exit, null, 'the program runs on')
  }

  // End the live computation (a stopped checkpoint, for comparison), then restart each forked one.
  await a.checkpoint({ kill: true })
  await app.wait(20_000)
  t.same(fails(app), [], `the program noticed nothing up to its end: ${JSON.stringify(fails(app))}`)

  for (const [k, ck] of gens.entries()) {
    const dir = a.mkdir(`restart-${k}`)
    const r = a.restart({ dir, target: ck.manifest })
    const got = await r.waitFor(
      (l) => (l.some((x) => x.startsWith('FAIL')) || (l.some((x) => x.startsWith('verified heap')) && l.some((x) => x.startsWith('verified shared'))) ? l : undefined),
      120_000,
      'both restored processes to check their memory',
    )
    t.same(
      got.filter((l) => l.startsWith('FAIL')),
      [],
      `generation ${ck.generation}: restored memory is one instant's (${got.filter((l) => l.startsWith('verified')).join('; ')})`,
    )
    await a.checkpoint({ dir, kill: true })
    await r.wait(20_000)
  }
})
