// Virtual pids and tids beyond getpid/kill/wait (issue 3): after a restart (every kernel pid and
// tid is new) a parent still reaches its child and its own thread, by the ids it learned before
// the checkpoint, through sigqueue, tgkill, syscall(SYS_tgkill/SYS_tkill/SYS_getpid/...),
// sched_getaffinity, getpriority, prlimit and /proc/<pid>/..., /proc/<pid>/task/<tid>/... paths;
// and each thread's gettid() stays what it was. All again after checkpointing the restarted
// computation and restarting it (the maps of a restored process chain). See
// test/fixtures/pidcalls.c for the line format.
import t, { type Test } from 'tap'
import { build } from './helpers/fixtures.js'
import { type Proc, setup } from './helpers/amber.js'

type KV = Record<string, string>
const parse = (lines: string[], who: string): KV[] =>
  lines
    .filter((l) => l.startsWith(`${who} `))
    .map((l) => Object.fromEntries(l.slice(2).split(' ').map((x) => [x.slice(0, x.indexOf('=')), x.slice(x.indexOf('=') + 1)])))
const values = (rows: KV[], key: string) => [...new Set(rows.map((r) => r[key]))]
const enough = (l: string[]) => parse(l, 'p').length >= 8

t.test('pid and tid calls keep reaching the same processes and threads after restarts', async (t) => {
  const a = await setup(t)
  const exe = await build('pidcalls')
  const app = a.launch([exe, '60'])
  await app.waitFor(enough, 30_000, 'eight parent lines')
  await a.checkpoint({ kill: true })
  await app.wait(20_000)

  const p0 = parse(app.lines, 'p').at(-1)!
  const { pid, kid, ttid } = p0 as { pid: string; kid: string; ttid: string }
  // Before any restart app ids are kernel ids: the same expectations hold (this is the control).
  t.equal(parse(app.lines, 'c').at(-1)!.pid, kid, 'the child is the pid fork() returned')
  t.equal(parse(app.lines, 't').at(-1)!.tid, ttid, "the thread's gettid() is the tid the parent targets")
  t.ok(Number(p0.task) >= 1, `before: /proc/<kid>/task lists ${p0.task} threads`)
  const expect: KV = {
    pid, sp: pid, kid, ttid,
    sq: '0', // sigqueue(kid)
    tg: '0', // tgkill(pid, ttid)
    stg: '0', // syscall(SYS_tgkill, pid, ttid)
    stk: '0', // syscall(SYS_tkill, ttid)
    aff: '0', // sched_getaffinity(kid)
    bad: '3', // sched_getaffinity(bogus pid): ESRCH still
    prio: '5', // getpriority(PRIO_PROCESS, kid): the child's nice, not ours
    sprio: '15', // syscall(SYS_getpriority): the kernel's 20 - nice
    sched: '0', // sched_getscheduler(kid): SCHED_OTHER
    lim: '77', // prlimit(kid, RLIMIT_NOFILE): the child's own soft limit
    comm: `pck${kid}`, // open("/proc/<kid>/comm")
    stat: `pck${kid}`, // fopen("/proc/<kid>/stat")
    task: p0.task!, // opendir("/proc/<kid>/task"): the child's thread and amber's
    tcomm: 'pcthr', // open("/proc/self/task/<ttid>/comm")
    ptcomm: 'pcthr', // stat + open("/proc/<pid>/task/<ttid>/comm")
    self: pid, // readlink("/proc/self")
    tself: `${pid}/task/${pid}`, // readlink("/proc/thread-self") from the main thread
  }
  for (const [k, v] of Object.entries(expect)) t.equal(p0[k], v, `before (control): ${k} = ${v}`)

  // Judges a restored run's output against the ids of the first run.
  const judge = (t: Test, before: string[], r: Proc) => {
    const pb = parse(before, 'p').at(-1)!
    const cb = parse(before, 'c').at(-1)!
    const tb = parse(before, 't').at(-1)!
    const pall = parse(r.lines, 'p')
    // The child and the thread re-assert their comm and nice every 100 ms (amber does not restore
    // those yet): judge the lines from 300 ms after the restart on.
    const p1 = pall.slice(3)
    const c1 = parse(r.lines, 'c')
    const t1 = parse(r.lines, 't')
    t.ok(p1.length >= 5 && c1.length > 0 && t1.length > 0, 'parent, child and thread all ran after restart')
    t.equal(Number(pall[0]!.n), Number(pb.n) + 1, 'the parent continued its count with no gap')
    for (const [k, v] of Object.entries(expect)) t.same(values(p1, k), [v], `${k} = ${v} on every line`)

    t.same(values(c1, 'pid'), [kid], 'child: getpid() unchanged')
    const lastC = c1.at(-1)!
    t.ok(Number(lastC.got) > Number(cb.got), `child: queued signals keep arriving (${cb.got} -> ${lastC.got})`)
    t.ok(Number(lastC.val) > Number(pb.n), `child: the sigval is one sent after restart (${lastC.val} > ${pb.n})`)
    t.equal(lastC.from, pid, "child: si_pid of sigqueue is the parent's app pid")

    t.same(values(t1, 'tid'), [ttid], 'thread: gettid() unchanged')
    t.same(values(t1, 'stid'), [ttid], 'thread: syscall(SYS_gettid) unchanged')
    const hits = t1.at(-1)!.hits
    t.ok(Number(hits) > Number(tb.hits), `thread: signals by its tid keep arriving (${tb.hits} -> ${hits})`)
  }

  const r1 = a.restart()
  await r1.waitFor(enough, 30_000, 'eight parent lines after restart')
  await a.checkpoint({ kill: true })
  await r1.wait(20_000)
  await t.test('after a restart', async (t) => judge(t, app.lines, r1))

  const r2 = a.restart()
  const code = await r2.wait(40_000)
  await t.test('after a second restart (of the restarted computation)', async (t) => {
    judge(t, r1.lines, r2)
    const reaped = r2.lines.find((l) => l.startsWith('reaped '))
    t.equal(reaped, `reaped ${kid} kid ${kid}`, 'the parent killed and reaped its child by its app pid')
    t.equal(code.code, 0, 'the restored parent exited 0')
  })
})
