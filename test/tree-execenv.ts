// The agent follows the computation even when the application throws its environment away
// (issue 3): a program that clears its environment and execs itself, and spawns a child with an
// empty environment, still has every process registered, checkpointed and restored. After the
// restart the restored process execs again: the new program sees the pids the process always had
// (the coordinator re-sends the pid map to the exec'd agent), kills and reaps its child by the pid
// it knew, and a child forked after the restart sees its parent's app pid.
import t from 'tap'
import { join } from 'node:path'
import { build } from './helpers/fixtures.js'
import { setup } from './helpers/amber.js'

interface Row { n: number; pid: number; ppid: number; x?: string }
const rows = (lines: string[], who: string): Row[] =>
  lines.filter((l) => l.startsWith(`${who} `)).map((l) => {
    const f = l.split(' ')
    return { n: Number(f[1]), pid: Number(f[3]), ppid: Number(f[5]), x: f[7] }
  })

for (const mode of ['clearenv', 'envp'] as const) {
  t.test(`environment dropped before exec (${mode}), child spawned with an empty one`, async (t) => {
    const a = await setup(t)
    const exe = await build('envexec')
    const go = join(a.base, 'go')
    const app = a.launch([exe, 'start', mode, go])
    await app.waitFor((l) => rows(l, 'p').length >= 5 && rows(l, 'c').length >= 3, 30_000, 'both processes counting')
    const startPid = Number(app.lines.find((l) => l.startsWith('start pid '))!.split(' ')[2])
    const kid = Number(app.lines.find((l) => l.startsWith('spawned '))!.split(' ')[1])
    t.equal(rows(app.lines, 'p')[0]!.x, mode === 'envp' ? '1' : '-', "the program got the application's own environment")

    const st = await a.run(['status', '--dir', a.dir, '--json'])
    const procs = (JSON.parse(st.stdout) as { processes: { vpid: number; pid: number; parent: number; cmd: string }[] }).processes
    t.equal(procs.length, 2, `both processes registered: ${JSON.stringify(procs)}`)
    const run = procs.find((p) => / run /.test(p.cmd))
    const spawned = procs.find((p) => / kid /.test(p.cmd))
    t.ok(run && run.vpid === 1 && run.pid === startPid, 'the exec\'d program kept vpid 1 and its pid')
    t.ok(spawned && spawned.pid === kid && spawned.parent === 1, 'the child spawned with an empty environment is followed')

    await a.checkpoint({ kill: true })
    await app.wait(20_000)
    const p0 = rows(app.lines, 'p').at(-1)!
    const c0 = rows(app.lines, 'c').at(-1)!
    t.equal(p0.pid, startPid, 'getpid() is the launched pid')
    t.equal(c0.pid, kid, "the child's getpid() is what posix_spawn returned")
    t.equal(c0.ppid, p0.pid, "the child's parent is the parent")

    const restarted = a.restart()
    await restarted.waitFor((l) => rows(l, 'p').length >= 2 && rows(l, 'c').length >= 2, 30_000, 'both processes counting after restart')
    t.equal(rows(restarted.lines, 'p')[0]!.n, p0.n + 1, 'the exec\'d program continues its count')
    t.equal(rows(restarted.lines, 'c')[0]!.n, c0.n + 1, 'the spawned child continues its count')
    t.same([...new Set(rows(restarted.lines, 'p').map((r) => `${r.pid}/${r.ppid}`))], [`${p0.pid}/${p0.ppid}`], 'restored: getpid/getppid unchanged')

    a.writeFile(go, '')
    const code = await restarted.wait(30_000)
    const show = restarted.lines.find((l) => l.startsWith('show '))
    t.equal(show, `show pid ${p0.pid} ppid ${p0.ppid}`, 'a program exec\'d after restart sees the same getpid/getppid')
    t.equal(restarted.lines.find((l) => l.startsWith('reaped ')), `reaped ${kid} kid ${kid} signal 15`, 'and kills and reaps the child by the pid it knew')
    const g = restarted.lines.find((l) => l.startsWith('g '))?.split(' ')
    const gk = restarted.lines.find((l) => l.startsWith('gk '))?.split(' ')
    t.ok(g && gk, `the child forked after restart ran: ${JSON.stringify(restarted.lines.filter((l) => /^g/.test(l)))}`)
    if (g && gk) {
      t.equal(Number(g[4]), kid, "a child forked after restart sees its parent's app pid")
      t.equal(gk[1], g[2], 'fork() returned the pid the grandchild sees')
      t.same(gk.slice(2), [g[2], 'status', '3'], 'waitpid() reaped it with its status')
    }
    t.equal(code.code, 0, `the restored computation exited 0; stderr: ${restarted.err.text()}`)
  })
}
