// Issue 10: wrappers behave exactly like libc on any argument, invalid pointers included.
// test/fixtures/badptr.c calls every function the agent wraps that takes a pointer (the /proc path
// functions, the wait family, sched_*/prlimit, sigaction and the signal-set functions, exec and
// posix_spawn, syscall(2) for pid-carrying numbers) with NULL and with 0xffffffffff000000 in each
// pointer argument, and prints what happened: errno, a result, or the signal the call died of
// (caught and skipped). Run without amber, the lines are libc's and the kernel's answers; under
// amber they must be the same, before a checkpoint and after a restart — when the pid maps are
// in use and the path wrappers read the paths to translate them. Before this was fixed,
// access(NULL) or stat(0xffffffffff000000) crashed the program under amber.
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { runAs, setup } from './helpers/amber.js'

const run = promisify(execFile)

t.test('invalid pointers: the same answers under amber as without, before and after a restart', async (t) => {
  const a = await setup(t)
  const exe = await build('badptr')

  // the reference: the program alone, as the user amber runs as, with its go file already there
  const refGo = join(a.base, 'refgo')
  a.writeFile(refGo, '')
  const who = runAs()
  const argv = who ? ['setpriv', `--reuid=${who.uid}`, `--regid=${who.gid}`, '--init-groups', '--', exe, refGo] : [exe, refGo]
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  delete env.LD_PRELOAD
  const ref = (await run(argv[0]!, argv.slice(1), { cwd: a.base, env, timeout: 30_000 })).stdout.trim().split('\n')
  t.ok(ref.includes('end 1') && ref.includes('end 2'), 'the reference ran both rounds')
  const round = (lines: string[], n: number) => lines.filter((l) => l.startsWith(`${n} `))
  t.ok(round(ref, 1).length > 150, `${round(ref, 1).length} cases`)

  const go = join(a.base, 'go')
  const app = a.launch([exe, go])
  await app.waitFor((l) => l.includes('end 1'), 30_000, 'round 1 under amber')
  t.same(round(app.lines, 1), round(ref, 1), 'under amber, before any checkpoint: every outcome as without amber')

  await a.checkpoint({ kill: true })
  await app.wait(20_000)
  const r = a.restart()
  await new Promise((res) => setTimeout(res, 300))
  a.writeFile(go, '')
  const ex = await r.wait(30_000)
  t.same(round(r.lines, 2), round(ref, 2), 'after a restart (pid maps in use): every outcome as without amber')
  t.ok(r.lines.includes('end 2'), 'round 2 ran to its end')
  t.equal(ex.code, 0, `exited 0; stderr: ${r.err.text()}`)
})
