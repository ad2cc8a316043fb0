// A file opened for appending keeps being written at the right offset after restart: it holds
// every line exactly once, in order — no gap, no overlap. The fixture also writes each line to a
// second file opened without O_APPEND, whose position is the descriptor's own offset, so a
// restorer that reopens the file at the wrong offset (or truncates it) shows up there.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { checkpointKillRestart, descendants, firstGap, ints, running, setup, sleep } from './helpers/amber.js'

t.test('O_APPEND file and positioned file continue after restart', async (t) => {
  const a = await setup(t)
  const exe = await build('appender')
  const work = a.mkdir('work')
  const appendFile = join(work, 'append.log')
  const posFile = join(work, 'pos.log')
  const app = a.launch([exe, appendFile, posFile])
  await app.waitLines(10)
  const { before, restarted, leftover } = await checkpointKillRestart(a, app, { after: 10, exe })
  t.same(leftover, [], 'checkpoint --kill left no appender running')

  // stop the restored app (whatever its command line reads), then read what it wrote
  t.ok(running(a, exe).length >= 1, 'the restored appender runs with its original command line')
  const restoredPids = new Set([...running(a, exe).map((p) => p.pid), ...descendants([restarted.pid])])
  for (const pid of restoredPids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // gone already
    }
  }
  await restarted.wait(15_000).catch(() => restarted.kill())
  await sleep(50)

  const pre = ints(before)
  const post = ints(restarted.lines)
  t.equal(post[0], pre.at(-1)! + 1, `stdout: first n after restart is ${pre.at(-1)! + 1}`)
  const printed = [...pre, ...post]
  t.equal(firstGap(printed), -1, 'stdout numbers contiguous across restart')
  const maxN = printed.at(-1)!

  for (const f of [appendFile, posFile]) {
    const text = readFileSync(f, 'utf8')
    t.ok(text.endsWith('\n'), `${f}: ends with a whole line`)
    const lines = text.split('\n').slice(0, -1)
    const bad = lines.filter((l) => !/^line \d+$/.test(l))
    t.same(bad, [], `${f}: only "line <n>" lines (no torn or overwritten lines)`)
    const ns = lines.map((l) => Number(l.slice(5)))
    t.equal(ns[0], 1, `${f}: starts at line 1`)
    const gap = firstGap(ns)
    t.equal(gap, -1, `${f}: every n exactly once, in order${gap < 0 ? '' : ` (breaks at ${ns[gap - 1]} -> ${ns[gap]})`}`)
    // the file line is written before the stdout line, so the file may be one ahead of stdout
    t.ok(ns.at(-1)! === maxN || ns.at(-1)! === maxN + 1, `${f}: reaches the last printed n (${ns.at(-1)} vs ${maxN})`)
  }
})
