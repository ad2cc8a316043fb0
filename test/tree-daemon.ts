// A real daemon under plain `amber launch` (test/fixtures/daemon.c: fork, setsid, fork; the
// grandchild counts 1, 2, 3, ... into DIR/daemon.log every 100 ms):
//   - launch returns at once with the launcher's status 0, and the daemon runs on;
//   - the coordinator launch started lives on in the background: `status` lists the daemon;
//   - `checkpoint --kill` checkpoints it; with nothing of the computation left the coordinator
//     exits by itself and leaves no socket;
//   - `restart` (the generation has no launched process any more) returns once the daemon runs,
//     with status 0; the log goes on with the next number — no gap, no repeat — and a new
//     background coordinator serves the restored daemon (status, another checkpoint);
//   - when the daemon ends, that coordinator exits too, and the next launch on DIR works.
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { firstGap, ints, running, setup, sleep, type Amber } from './helpers/amber.js'

interface Status {
  coordinator: { pid: number; dir: string; socket?: string }
  generation: number
  processes: Array<{ vpid: number; pid: number; parent: number; cmd: string; state: string }>
}

async function status(a: Amber): Promise<Status> {
  const r = await a.run(['status', '--dir', a.dir, '--json'])
  if (r.code !== 0) throw new Error(`status exited ${r.code}: ${r.stderr.trim()}`)
  return JSON.parse(r.stdout) as Status
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function until<T>(what: string, f: () => T | undefined | false | Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await f()
    if (v !== undefined && v !== false) return v
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(100)
  }
}

t.test('a double-forking daemon under amber launch: checkpoint --kill, restart, it counts on', async (t) => {
  const a = await setup(t)
  const daemon = await build('daemon')
  const out = a.mkdir('out')
  const log = join(out, 'daemon.log')
  const counts = (): number[] => (existsSync(log) ? ints(readFileSync(log, 'utf8').split('\n')) : [])
  const sock = join(a.dir, '.amber', 'coord.sock')

  // launch: returns at once, with the status of the process it launched
  const t0 = Date.now()
  const launched = await a.run(['launch', '--dir', a.dir, '--', daemon, out], 60_000)
  t.equal(launched.code, 0, `amber launch exits 0 (stderr: ${launched.stderr.trim()})`)
  t.equal(launched.stdout, '', 'the daemon wrote nothing on the launcher\'s stdout')
  t.comment(`launch returned after ${Date.now() - t0} ms`)
  await until('the daemon to count', () => counts().length >= 5)
  t.equal(running(a, daemon).length, 1, 'one daemon process lives on after launch returned')

  // status: a coordinator still answers, and it knows the daemon
  const st = await status(a)
  const d = st.processes.find((p) => p.cmd.includes(daemon))
  t.ok(d !== undefined, `status lists the daemon: ${JSON.stringify(st.processes)}`)
  t.equal(st.processes.length, 1, 'and only the daemon (its parents have exited)')
  t.equal(d?.state, 'running')
  t.not(d?.parent, 0, 'its parent was a process of the computation')
  t.ok(alive(st.coordinator.pid), `the coordinator (pid ${st.coordinator.pid}) runs in the background`)
  const firstCoordinator = st.coordinator.pid

  // checkpoint --kill
  const ck = await a.checkpoint({ kill: true })
  t.equal(ck.images.length, 1, 'one image: the daemon')
  await until('the daemon to be killed', () => running(a, daemon).length === 0)
  await sleep(300)
  const before = counts()
  t.ok(before.length >= 5, `it had counted to ${before.at(-1)}`)
  t.equal(firstGap(before), -1, 'without a gap before the checkpoint')
  await until('the coordinator to exit once nothing of the computation is left', () => !alive(firstCoordinator))
  t.notOk(existsSync(sock), 'and it removed its socket')

  // restart: the launched process is not in the generation, so restart returns once it runs
  const outFd = openSync(join(a.base, 'restart.out'), 'w')
  const errFd = openSync(join(a.base, 'restart.err'), 'w')
  const r = a.spawn(['restart', '--dir', a.dir], { stdio: [outFd, errFd] })
  closeSync(outFd)
  closeSync(errFd)
  const rexit = await r.wait(60_000)
  const rerr = readFileSync(join(a.base, 'restart.err'), 'utf8')
  t.equal(rexit.code, 0, `amber restart returns 0 (stderr: ${rerr.trim()})`)
  t.match(rerr, /^amber: restarted generation 1: 1 process running in the background/m, 'and says the daemon runs in the background')
  t.equal(running(a, daemon).length, 1, 'the daemon runs again')

  const last = before.at(-1)!
  await until('the restored daemon to count on', () => counts().length >= before.length + 10)
  const after = counts()
  t.equal(after[before.length], last + 1, `the log goes on with ${last + 1} after ${last}`)
  t.equal(firstGap(after), -1, `the whole log counts 1..${after.at(-1)} with no gap and no repeat`)

  // the restored daemon has a coordinator again (a new background one) and checkpoints again
  const st2 = await status(a)
  t.same(
    st2.processes.map((p) => [p.vpid, p.state]),
    [[d!.vpid, 'running']],
    'status lists the restored daemon under its vpid',
  )
  t.not(st2.coordinator.pid, firstCoordinator, 'served by a new background coordinator')
  const ck2 = await a.checkpoint()
  t.equal(ck2.generation, 2, 'a second checkpoint of the restored daemon')
  const n = counts().length
  await until('it to count on after the second checkpoint', () => counts().length >= n + 5)
  t.equal(firstGap(counts()), -1, 'still no gap and no repeat')

  // the daemon ends: its coordinator goes with it, leaving nothing to confuse the next launch
  for (const pid of running(a, daemon)) process.kill(pid.pid, 'SIGTERM')
  await until('the second coordinator to exit', () => !alive(st2.coordinator.pid))
  t.notOk(existsSync(sock), 'no stale socket')
  const next = await a.run(['launch', '--dir', a.dir, '--', '/bin/sh', '-c', 'echo "$AMBER_COORD"'])
  t.equal(next.code, 0, `the next launch on DIR works (stderr: ${next.stderr.trim()})`)
  t.equal(next.stdout.trim(), sock, 'with a coordinator of its own')
  t.notOk(existsSync(sock), 'which was gone by the time that launch returned')
})
