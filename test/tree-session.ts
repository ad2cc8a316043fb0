// Process groups, sessions and the controlling terminal (issue 3): a shell job in a pty
// (test/fixtures/ptyjob.c) — a driver holding the pty master, a session leader whose controlling
// terminal is the pty slave, and a two-process job in its own process group that is the
// terminal's foreground group. After checkpoint → kill → restart:
//   - every process reports the same pid, ppid, process group, session and foreground group as
//     before (in the pids the application knows);
//   - the job is still the terminal's foreground group (tcgetpgrp == getpgrp);
//   - what the job wrote to the terminal arrives at the driver with no gap and no repeat, even
//     the lines still inside the pty when it was checkpointed;
//   - the shell reaps both job processes and the driver exits 0.
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { setup } from './helpers/amber.js'

interface Line { who: string; n: number; id: string; fg: number }

function parse(lines: string[]): Line[] {
  const out: Line[] = []
  for (const raw of lines) {
    const l = raw.replace(/\r/g, '')
    const m = /^(s|j1|j2) (\d+) pid (\d+) ppid (\d+) pgrp (\d+) sid (\d+) tpgid (-?\d+) fg (\d)$/.exec(l)
    if (m) out.push({ who: m[1]!, n: Number(m[2]), id: `pid ${m[3]} ppid ${m[4]} pgrp ${m[5]} sid ${m[6]} tpgid ${m[7]}`, fg: Number(m[8]) })
  }
  return out
}

t.test('a job in a pty keeps its groups, session, terminal and output across restart', async (t) => {
  const a = await setup(t)
  const exe = await build('ptyjob')
  const limit = 60
  const app = a.launch([exe, String(limit)])
  await app.waitFor((l) => parse(l).filter((x) => x.who === 'j2').length >= 8 || undefined, 30_000, '8 job lines')
  const ck = await a.checkpoint({ kill: true })
  t.equal(ck.images.length, 4, 'driver, shell and two job processes checkpointed')
  await app.wait(20_000)
  const before = parse(app.lines)

  const restarted = a.restart()
  const code = await restarted.wait(60_000)
  t.equal(code.code, 0, `the driver exited 0 (${restarted.describe()})`)
  const after = parse(restarted.lines)
  t.ok(restarted.lines.some((l) => l.replace(/\r/g, '') === `s reaped j1 ${before.find((x) => x.who === 'j1')!.id.split(' ')[1]}`),
    'the shell reaped job1 by the pid it knew')
  for (const who of ['s', 'j1', 'j2']) {
    const b = before.filter((x) => x.who === who)
    const r = after.filter((x) => x.who === who)
    t.ok(b.length > 0 && r.length > 0, `${who}: ran before and after`)
    t.same([...new Set(r.map((x) => x.id))], [b.at(-1)!.id], `${who}: pid, ppid, group, session and foreground group unchanged`)
    const ns = [...b, ...r].map((x) => x.n)
    t.same(ns, Array.from({ length: ns.length }, (_, i) => i + 1), `${who}: counted 1..${ns.length} with no gap and no repeat`)
    if (who !== 's') {
      t.equal(ns.length, limit, `${who}: reached ${limit}`)
      t.ok(r.every((x) => x.fg === 1), `${who}: still the terminal's foreground group`)
    }
  }
  const s = before.find((x) => x.who === 's')!
  const j1 = before.find((x) => x.who === 'j1')!
  const pid = (x: Line, k: string) => Number(x.id.split(' ')[x.id.split(' ').indexOf(k) + 1])
  t.equal(pid(s, 'sid'), pid(s, 'pid'), 'the shell leads its session')
  t.equal(pid(j1, 'pgrp'), pid(j1, 'pid'), 'job1 leads its group')
  t.equal(pid(j1, 'sid'), pid(s, 'pid'), "job1 is in the shell's session")
  // (from job1's last line before the checkpoint: its first may predate the shell's tcsetpgrp,
  // which comes only after job2's fork — under load job1 can print before it)
  const j1last = before.filter((x) => x.who === 'j1').at(-1)!
  t.equal(pid(j1last, 'tpgid'), pid(j1last, 'pid'), "job1's group is in the foreground")
})

t.test('a checkpoint of a live pty job loses nothing of its output (the pty is read and put back)', async (t) => {
  const a = await setup(t)
  const exe = await build('ptyjob')
  const limit = 30
  const app = a.launch([exe, String(limit)])
  await app.waitFor((l) => parse(l).filter((x) => x.who === 'j2').length >= 5 || undefined, 30_000, '5 job lines')
  await a.checkpoint()
  await a.checkpoint()
  const code = await app.wait(60_000)
  t.equal(code.code, 0, 'the driver exited 0')
  const lines = parse(app.lines)
  for (const who of ['j1', 'j2']) {
    const ns = lines.filter((x) => x.who === who).map((x) => x.n)
    t.same(ns, Array.from({ length: limit }, (_, i) => i + 1), `${who}: 1..${limit}, each line once`)
  }
})
