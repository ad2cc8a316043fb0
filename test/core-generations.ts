// Several generations: checkpoint, continue, checkpoint again; restart from either generation;
// checkpoint a restarted process and restart it again; restart one image twice, independently.
//
// For a checkpoint WITHOUT --kill the exact number captured is not observable from outside, so the
// first number after a restart from it must lie in a window: above every number we had received
// before the checkpoint command started, and at most the largest number received shortly after it
// returned (by then the live app has printed past the captured value). Checkpoints WITH --kill are
// exact: the first number after restart is the last one printed plus one.
import { readlinkSync, statSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { type Proc, firstGap, ints, setup, sleep } from './helpers/amber.js'

const max = (p: Proc) => Math.max(0, ...ints(p.lines))

t.test('generations: restart from each, re-checkpoint a restarted process, restart one image twice', async (t) => {
  const a = await setup(t)
  const counter = await build('counter')
  const D = a.dir
  const app = a.launch([counter, '100'])
  await app.waitLines(5)

  // gen A: live checkpoint, the app keeps running
  const lowA = max(app)
  const gA = await a.checkpoint()
  await sleep(500)
  const highA = max(app)
  t.ok(highA > lowA, 'the app kept running through a checkpoint without --kill')
  await app.waitFor((l) => ints(l).length >= highA + 5, 10_000, 'more numbers after gen A')

  // gen B: checkpoint --kill, exact
  const gB = await a.checkpoint({ kill: true })
  await app.wait(20_000)
  const lastB = max(app)
  const live = ints(app.lines)
  t.equal(firstGap(live), -1, `the live app counted 1..${lastB} without gap or repeat across checkpoint A`)
  t.not(gA.manifest, gB.manifest, 'two generations, two manifests')
  t.ok(gB.generation > gA.generation, `generation numbers increase (${gA.generation} -> ${gB.generation})`)
  t.ok(statSync(gA.manifest).isFile() && statSync(gB.manifest).isFile(), 'both manifests kept')
  t.equal(basename(readlinkSync(join(D, 'latest'))), basename(dirname(gB.manifest)), 'latest -> generation B')

  await t.test('restart latest (gen B) continues exactly; checkpoint it and restart again', async (t) => {
    const r = a.restart({ dir: D })
    await r.waitLines(5)
    const post = ints(r.lines)
    t.equal(post[0], lastB + 1, `first after restart ${post[0]} == ${lastB} + 1`)
    t.equal(firstGap(post), -1, 'contiguous after restart')

    // checkpoint the restarted process (--kill: exact), restart that
    const gC = await a.checkpoint({ dir: D, kill: true })
    await r.wait(20_000)
    t.ok(gC.generation > gB.generation, `a restarted process checkpoints as a new generation (${gC.generation})`)
    const lastC = max(r)
    t.equal(firstGap(ints(r.lines)), -1, 'restored app counted without gap until its checkpoint')
    const r2 = a.restart({ dir: D })
    await r2.waitLines(5)
    const post2 = ints(r2.lines)
    t.equal(post2[0], lastC + 1, `restart of the re-checkpointed process continues at ${lastC + 1}`)
    t.equal(firstGap(post2), -1, 'contiguous after the second restart')
    await a.checkpoint({ dir: D, kill: true })
    await r2.wait(20_000)
  })

  await t.test('restart generation A (older, live checkpoint) by its manifest', async (t) => {
    const dA = a.mkdir('restart-a')
    const r = a.restart({ dir: dA, target: gA.manifest })
    await r.waitLines(5)
    const post = ints(r.lines)
    t.ok(post[0]! > lowA && post[0]! <= highA, `first after restart from gen A (${post[0]}) is in (${lowA}, ${highA}]`)
    t.ok(post[0]! < lastB, 'it is gen A, not gen B')
    t.equal(firstGap(post), -1, 'contiguous after restart from gen A')
    await a.checkpoint({ dir: dA, kill: true })
    await r.wait(20_000)
  })

  await t.test('restart gen B twice, independently, at the same time', async (t) => {
    const d1 = a.mkdir('twice-1')
    const d2 = a.mkdir('twice-2')
    const r1 = a.restart({ dir: d1, target: gB.manifest })
    const r2 = a.restart({ dir: d2, target: gB.manifest })
    await Promise.all([r1.waitLines(5), r2.waitLines(5)])
    for (const [name, r] of [['first', r1], ['second', r2]] as const) {
      const post = ints(r.lines)
      t.equal(post[0], lastB + 1, `${name} copy starts at ${lastB + 1}`)
      t.equal(firstGap(post), -1, `${name} copy contiguous`)
    }
    // independence: stop one, the other keeps counting
    await a.checkpoint({ dir: d1, kill: true })
    await r1.wait(20_000)
    const n2 = ints(r2.lines).length
    await r2.waitFor((l) => ints(l).length >= n2 + 5, 10_000, 'the second copy to go on after the first is killed')
    t.equal(firstGap(ints(r2.lines)), -1, 'second copy still contiguous after the first was killed')
    t.equal(r2.exit, null, 'second copy still running')
  })
})
