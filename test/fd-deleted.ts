// Files that exist nowhere else survive (issue 11): a file deleted while open (its bytes, size,
// mode, offset, and its hole, which stays a hole), a deleted file still mapped MAP_SHARED (mapping
// and descriptor stay one file), a sealed memfd (contents, seals, name, offset) and an unsealable
// one, a directory removed while open, a removed working directory. test/fixtures/deleted.c checks
// all of it on every tick; the test checkpoints it live, then with --kill, restarts it, and wants
// every tick after that ok and numbered on from the checkpoint.
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { setup } from './helpers/amber.js'
import { bads, liveThenRestart, ticks } from './helpers/fdstate.js'

t.test('deleted files, memfds, removed directories: contents, holes, seals, offsets after restart', async (t) => {
  const a = await setup(t)
  const exe = await build('deleted')
  const work = a.mkdir('work')
  const app = a.launch([exe, work])
  const { live, before, restarted } = await liveThenRestart(a, app, { exe })
  t.same(bads(before), [], 'no state differs before the kill (the live checkpoint went unnoticed)')
  t.notOk(live.warnings?.length, `the live checkpoint names nothing it cannot rebuild: ${JSON.stringify(live.warnings)}`)
  const after = restarted.lines.slice()
  t.same(bads(after), [], 'no state differs after the restart')
  const b = ticks(before), r = ticks(after)
  t.ok(r.length >= 5, `the restored program goes on ticking: ${after.slice(0, 6).join(' | ')}`)
  t.equal(r[0], b.at(-1)! + 1, 'it goes on from the tick it was at')
})
