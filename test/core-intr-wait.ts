// Issue 10: calls in progress at a checkpoint resume after a restart with this run's arguments.
// test/fixtures/waitcalls.c blocks four threads in waitpid(kid), wait4(kid), waitid(P_PID, kid)
// and syscall(SYS_wait4, kid) — calls the kernel restarts with the registers they had, i.e. the
// previous run's kernel pid (ECHILD after a restart before this was fixed) — and three threads
// in 5 s sleeps (nanosleep with and without rem, clock_nanosleep), interrupted with EINTR before.
// After checkpoint --kill and restart every wait reaps its own child, by the pid fork() returned,
// with the status it exited with, and every sleep completes: rc 0, never early.
// The second case stops and continues the process first (SIGSTOP/SIGCONT): its sleeps are then
// resumed by the kernel as restart_syscall, whose restart_block a restored task does not have.
import t from 'tap'
import { join } from 'node:path'
import { build } from './helpers/fixtures.js'
import { setup } from './helpers/amber.js'

for (const stopFirst of [false, true]) {
  t.test(`waits and sleeps in progress resume after a restart${stopFirst ? ' (stopped and continued first: restart_syscall)' : ''}`, async (t) => {
    const a = await setup(t)
    const exe = await build('waitcalls')
    const go = join(a.base, 'go')
    const launched = Date.now()
    const app = a.launch([exe, go])
    await app.waitFor((l) => l.includes('sleeping'), 30_000, 'the sleeps and waits started')
    const parent = Number(app.lines.find((l) => l.startsWith('parent '))!.split(' ')[1])
    const kids = app.lines.find((l) => l.startsWith('kids '))!.split(' ').slice(1).map(Number)
    if (stopFirst) {
      await new Promise((r) => setTimeout(r, 300))
      process.kill(parent, 'SIGSTOP')
      await new Promise((r) => setTimeout(r, 200))
      process.kill(parent, 'SIGCONT')
    }
    await new Promise((r) => setTimeout(r, 700))
    await a.checkpoint({ kill: true })
    const checkpointed = Date.now()
    await app.wait(20_000)
    t.same(app.lines.filter((l) => l.startsWith('slept') || l.startsWith('reaped')), [], 'nothing had returned before the checkpoint')

    const restartedAt = Date.now()
    const r = a.restart()
    await r.waitFor((l) => l.filter((x) => x.startsWith('slept ')).length === 3, 30_000, 'the three sleeps to end')
    const sleptAt = Date.now()
    for (const l of r.lines.filter((x) => x.startsWith('slept '))) {
      const [, how, , ms, , rc] = l.split(' ')
      t.equal(rc, '0', `${how} returned 0 (no EINTR): ${l}`)
      t.ok(Number(ms) >= 5000, `${how} slept at least 5 s by CLOCK_MONOTONIC: ${ms} ms`)
    }
    // At the checkpoint the sleeps had run at most (checkpointed - launched): the restored
    // process must sleep at least the rest, whatever the time spent between the two runs.
    const owed = 5000 - (checkpointed - launched)
    t.ok(sleptAt - restartedAt >= owed - 50, `after the restart the sleeps went on for the time they still owed (${sleptAt - restartedAt} ms >= ${owed} ms)`)

    a.writeFile(go, '')
    const ex = await r.wait(30_000)
    const reaped = r.lines.filter((l) => l.startsWith('reaped ')).sort()
    const want = ['syscall', 'wait4', 'waitid', 'waitpid'].map((how) => {
      const i = ['waitpid', 'wait4', 'waitid', 'syscall'].indexOf(how)
      return `reaped ${how} ${kids[i]} want ${kids[i]} status ${10 + i}`
    })
    t.same(reaped, want, 'each wait reaped its own child (the pid fork returned) with its exit status')
    t.ok(r.lines.includes('done good'), 'the program saw nothing wrong')
    t.equal(ex.code, 0, `exited 0; stderr: ${r.err.text()}`)
  })
}

// A PI mutex (PTHREAD_PRIO_INHERIT) held across the restart by one thread while another waits for
// it in FUTEX_LOCK_PI: the futex word names the owner by kernel tid. The waiter's word is rewritten
// with the owner's new tid before any thread runs, so the owner's unlock hands the mutex over.
t.test('a thread waiting for a PI mutex gets it after a restart', async (t) => {
  const a = await setup(t)
  const exe = await build('pilock')
  const go = join(a.base, 'go')
  const app = a.launch([exe, go])
  await app.waitFor((l) => l.includes('waiting'), 30_000, 'the waiter blocked')
  await new Promise((r) => setTimeout(r, 300))
  await a.checkpoint({ kill: true })
  await app.wait(20_000)
  const r = a.restart()
  await new Promise((res) => setTimeout(res, 500))
  a.writeFile(go, '')
  await r.waitFor((l) => l.includes('done'), 20_000, 'the waiter to get the mutex')
  t.ok(r.lines.includes('unlocked 0'), 'the owner unlocked it')
  t.ok(r.lines.includes('acquired 0'), 'the waiter acquired it')
  t.equal((await r.wait(10_000)).code, 0, 'exited 0')
})
