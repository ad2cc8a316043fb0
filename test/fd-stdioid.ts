// Restart's stdio follows identity, not descriptor number (issue 9, item 6). Only descriptors that
// are the launcher's own stdin/stdout/stderr become `amber restart`'s:
// - a program that redirected its stdout to its own log file (what every daemon does) keeps
//   writing to that file after restart; nothing of it appears on restart's stdout;
// - a program that moved the launcher's stdout to another descriptor number keeps writing to the
//   launcher's stdout, which after restart is restart's stdout;
// - the restart's stdio is the user's file as the user opened it: `amber restart >> out` appends
//   to out even though the launch wrote it through `>` (found by a checkpoint storm: the program's
//   saved flags took O_APPEND off the restart's descriptor and it wrote over the file from 0).
import { closeSync, openSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { checkpointKillRestart, firstGap, ints, setup, sleep } from './helpers/amber.js'

function logInts(path: string): number[] {
  try {
    return ints(readFileSync(path, 'utf8').split('\n'))
  } catch {
    return []
  }
}

async function until<T>(what: string, fn: () => T | undefined, ms = 20_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = fn()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

t.test('a stdout redirected to the program\'s own log file stays that log file', async (t) => {
  const a = await setup(t)
  const bin = await build('stdioid')
  const log = join(a.dir, 'app.log')
  const app = a.launch([bin, 'log', log])
  await until('5 lines in the log', () => (logInts(log).length >= 5 ? true : undefined))
  const { restarted } = await checkpointKillRestart(a, app, { exe: bin })
  const atRestart = logInts(log).length
  await until('the log to grow after restart', () => (logInts(log).length >= atRestart + 10 ? true : undefined))
  const all = logInts(log)
  t.equal(all[0], 1, 'the log starts at 1')
  t.equal(firstGap(all), -1, `the log counts on with no gap and no repeat (${all.length} lines)`)
  t.same(ints(restarted.lines), [], `nothing of the count reached restart's stdout (${JSON.stringify(restarted.lines.slice(0, 5))})`)
  t.same(ints(app.lines), [], 'nor the launcher\'s')
  restarted.kill()
})

t.test('the launcher\'s stdout moved to another descriptor number is still the launcher\'s', async (t) => {
  const a = await setup(t)
  const bin = await build('stdioid')
  const app = a.launch([bin, 'dup'])
  await app.waitLines(5)
  const { before, restarted } = await checkpointKillRestart(a, app, { exe: bin, after: 5 })
  const pre = ints(before)
  const post = ints(restarted.lines)
  t.ok(pre.length >= 5, `counted on the launcher's stdout before (${pre.length})`)
  t.equal(post[0], pre[pre.length - 1]! + 1, `restart's stdout continues the count (${pre.at(-1)} → ${post[0]})`)
  t.equal(firstGap(post), -1, 'no gap after restart')

  // Again from the restarted computation: its launcher's stdio is now the first restart's (the
  // hand-off brought the new identities), so a second restart's stdout continues the count.
  const ck2 = await a.checkpoint({ kill: true })
  t.ok(ck2.manifest, 'second checkpoint written')
  await restarted.wait(20_000)
  const mid = ints(restarted.lines)
  const again = a.restart()
  await again.waitLines(5)
  const post2 = ints(again.lines)
  t.equal(post2[0], mid[mid.length - 1]! + 1, `a second restart's stdout continues the count (${mid.at(-1)} → ${post2[0]})`)
  t.equal(firstGap(post2), -1, 'no gap after the second restart')
  again.kill()
})

t.test('`restart >> FILE` appends to what the launch wrote to FILE through `>`', async (t) => {
  const a = await setup(t)
  const bin = await build('counter')
  const out = join(a.dir, 'out.txt')
  const w = openSync(out, 'w')  // O_TRUNC, no O_APPEND: what `launch > out` gives the program
  const app = a.spawn(['launch', '--dir', a.dir, '--', bin, '20'], { stdio: [w, 'pipe'] })
  closeSync(w)
  await until('10 lines in the file', () => (logInts(out).length >= 10 ? true : undefined))
  await a.checkpoint({ kill: true })
  await app.wait(20_000)
  const before = logInts(out)
  const ap = openSync(out, 'a')  // O_APPEND: `restart >> out`
  const r = a.spawn(['restart', '--dir', a.dir], { stdio: [ap, 'pipe'] })
  closeSync(ap)
  await until('20 more lines in the file', () => (logInts(out).length >= before.length + 20 ? true : undefined))
  r.kill()
  const all = logInts(out)
  t.equal(all[0], 1, `the file still starts at 1 (${JSON.stringify(all.slice(0, 3))})`)
  t.equal(firstGap(all), -1, `the count goes on after the ${before.length} lines of the launch, no gap, no repeat (${all.length} lines)`)
})
