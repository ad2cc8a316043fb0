// Virtual pids and tids beyond getpid/kill/wait (issue 3): after a restart (every kernel pid and
// tid is new) a parent still reaches its child and its own thread, by the ids it learned before
// the checkpoint, through sigqueue, tgkill, syscall(SYS_tgkill/SYS_tkill/SYS_getpid/...),
// sched_getaffinity, getpriority, prlimit and /proc/<pid>/..., /proc/<pid>/task/<tid>/... paths;
// and each thread's gettid() stays what it was. See test/fixtures/pidcalls.c for the line format.
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { setup } from './helpers/amber.js'

type KV = Record<string, string>
const parse = (lines: string[], who: string): KV[] =>
  lines
    .filter((l) => l.startsWith(`${who} `))
    .map((l) => Object.fromEntries(l.slice(2).split(' ').map((x) => [x.slice(0, x.indexOf('=')), x.slice(x.indexOf('=') + 1)])))
const values = (rows: KV[], key: string) => [...new Set(rows.map((r) => r[key]))]

t.test('pid and tid calls keep reaching the same processes and threads after restart', async (t) => {
  const a = await setup(t)
  const exe = await build('pidcalls')
  const app = a.launch([exe, '40'])
  await app.waitFor((l) => parse(l, 'p').length >= 6, 30_000, 'six parent lines')
  await a.checkpoint({ kill: true })
  await app.wait(20_000)

  const p0 = parse(app.lines, 'p').at(-1)!
  const c0 = parse(app.lines, 'c').at(-1)!
  const t0 = parse(app.lines, 't').at(-1)!
  const { pid, kid, ttid } = p0 as { pid: string; kid: string; ttid: string }
  // Before any restart app ids are kernel ids: the same expectations hold (this is the control).
  t.equal(c0.pid, kid, 'the child is the pid fork() returned')
  t.equal(t0.tid, ttid, "the thread's gettid() is the tid the parent targets")
  t.equal(p0.comm, `pck${kid}`, 'before: /proc/<kid>/comm is the child')
  t.ok(Number(p0.task) >= 1, `before: /proc/<kid>/task lists ${p0.task} threads`)

  const restarted = a.restart()
  const code = await restarted.wait(40_000)
  const p1all = parse(restarted.lines, 'p')
  // The child and the thread re-assert their comm and nice every 100 ms (amber does not restore
  // those yet): judge the lines from 300 ms after the restart on.
  const p1 = p1all.slice(3)
  const c1 = parse(restarted.lines, 'c')
  const t1 = parse(restarted.lines, 't')
  t.ok(p1.length >= 5 && c1.length > 0 && t1.length > 0, 'parent, child and thread all ran after restart')
  t.equal(Number(p1all[0]!.n), Number(p0.n) + 1, 'the parent continued its count with no gap')

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
  for (const [k, v] of Object.entries(expect)) t.same(values(p1, k), [v], `after restart: ${k} = ${v} on every line`)
  for (const [k, v] of Object.entries(expect)) t.equal(p0[k], v, `before (control): ${k} = ${v}`)

  t.same(values(c1, 'pid'), [kid], "child: getpid() unchanged")
  const lastC = c1.at(-1)!
  t.ok(Number(lastC.got) > Number(c0.got), `child: queued signals keep arriving (${c0.got} -> ${lastC.got})`)
  t.ok(Number(lastC.val) > Number(p0.n), `child: the sigval is one sent after restart (${lastC.val} > ${p0.n})`)
  t.equal(lastC.from, pid, "child: si_pid of sigqueue is the parent's app pid")

  t.same(values(t1, 'tid'), [ttid], "thread: gettid() unchanged after restart")
  t.same(values(t1, 'stid'), [ttid], 'thread: syscall(SYS_gettid) unchanged after restart')
  t.ok(Number(t1.at(-1)!.hits) > Number(t0.hits), `thread: signals by its tid keep arriving (${t0.hits} -> ${t1.at(-1)!.hits})`)

  const reaped = restarted.lines.find((l) => l.startsWith('reaped '))
  t.equal(reaped, `reaped ${kid} kid ${kid}`, 'the parent killed and reaped its child by its app pid')
  t.equal(code.code, 0, 'the restored parent exited 0')
})
