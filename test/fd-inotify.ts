// inotify watches survive (issue 11): after a live checkpoint and after a restart, creating and
// deleting a file in the watched directory and writing the watched file still fire, on the watch
// descriptors the program was given (2 and 3: a watch added and removed before shifted them);
// an event queued and not read at the checkpoints (another instance's) is read after the restart,
// and no checkpoint warns about it.
import t from 'tap'
import { unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { build } from './helpers/fixtures.js'
import { checkpointKillRestart, setup } from './helpers/amber.js'
import { bads, ticks } from './helpers/fdstate.js'

t.test('inotify watches fire again, with their watch descriptors, after restart', async (t) => {
  const a = await setup(t)
  const exe = await build('inotifywatch')
  const work = a.mkdir('work')
  const app = a.launch([exe, work])
  await app.waitLines(3)
  const fire = async (p: typeof app, tag: string) => {
    writeFileSync(join(work, 'watched', tag), '')
    await p.waitFor((l) => l.some((x) => x === `event wd=2 mask=0x100 name=${tag}`), 10_000, `IN_CREATE of ${tag} on wd 2`)
    unlinkSync(join(work, 'watched', tag))
    await p.waitFor((l) => l.some((x) => x === `event wd=2 mask=0x200 name=${tag}`), 10_000, `IN_DELETE of ${tag} on wd 2`)
    const mods = (l: string[]) => l.filter((x) => x === 'event wd=3 mask=0x2 name=').length
    const had = mods(p.lines)
    writeFileSync(join(work, 'other.txt'), tag)
    await p.waitFor((l) => mods(l) > had, 10_000, 'IN_MODIFY on wd 3')
  }
  await fire(app, 'first')
  const live = (await a.checkpoint()) as { warnings?: string[] }
  t.notOk(live.warnings?.some((w) => /inotify/.test(w)), `no warning about inotify: ${JSON.stringify(live.warnings)}`)
  await fire(app, 'second')
  const { before, restarted } = await checkpointKillRestart(a, app, { after: 3, exe })
  t.same(bads(before), [], 'fine before the kill')
  await fire(restarted, 'third')
  writeFileSync(join(work, 'watched', 'readquiet'), '')
  await restarted.waitFor((l) => l.some((x) => x.startsWith('quiet ')), 10_000, 'the quiet instance read')
  t.ok(restarted.lines.includes('quiet wd=1 name=unread'), `the event queued at both checkpoints is read after the restart: ${restarted.lines.filter((x) => x.startsWith('quiet'))}`)
  writeFileSync(join(work, 'watched', 'stop'), '')
  const ex = await restarted.wait(20_000)
  const after = restarted.lines
  t.same(bads(after), [], 'the instance keeps its flags after the restart')
  t.equal(ticks(after)[0], ticks(before).at(-1)! + 1, 'the program goes on from the tick it was at')
  t.ok(after.some((l) => l === 'event wd=2 mask=0x100 name=third'), 'a create after the restart fired on the same watch descriptor')
  t.equal(ex.code, 0, 'it sees the stop file and exits 0')
})
