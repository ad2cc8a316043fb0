// siginfo pids after restart (issue 3): a SIGCHLD handler, a SIGUSR1 handler (SA_SIGINFO) and
// sigtimedwait see the child's app pid — the pid fork() returned before the checkpoint — as
// si_pid, though the kernel filled in the restored child's new kernel pid; and sigaction reports
// the application's own handler back, never the agent's trampoline.
import t from 'tap'
import { join } from 'node:path'
import { build } from './helpers/fixtures.js'
import { setup } from './helpers/amber.js'

t.test('si_pid is the app pid after restart', async (t) => {
  const a = await setup(t)
  const exe = await build('sigchld')
  const go = join(a.base, 'go')
  const app = a.launch([exe, go])
  await app.waitFor((l) => l.filter((x) => x.startsWith('p ')).length >= 5 && l.some((x) => x.startsWith('c ')), 30_000, 'both counting')
  const kidLine = app.lines.find((l) => l.startsWith('kid '))!.split(' ')
  const kid = Number(kidLine[1])
  t.equal(kidLine[3], 'same', 'sigaction reports the application\'s own SA_SIGINFO handler')
  await a.checkpoint({ kill: true })
  await app.wait(20_000)

  const restarted = a.restart()
  await restarted.waitFor((l) => l.filter((x) => x.startsWith('p ')).length >= 2, 30_000, 'the parent counting after restart')
  a.writeFile(go, '')
  const code = await restarted.wait(30_000)
  const find = (p: string) => restarted.lines.find((l) => l.startsWith(p))
  t.equal(find('usr2 '), `usr2 si_pid ${kid}`, 'sigtimedwait: si_pid is the app pid')
  t.equal(find('usr1 '), `usr1 si_pid ${kid}`, 'SIGUSR1 handler: si_pid is the app pid')
  t.equal(find('chld '), `chld si_pid ${kid} code 1 status 7`, 'SIGCHLD handler: si_pid is the app pid (CLD_EXITED, status 7)')
  t.equal(find('reaped '), `reaped ${kid}`, 'waitpid reaped the child')
  t.equal(find('oldact '), 'oldact same', 'after restart sigaction still reports the application\'s handler')
  t.equal(code.code, 0, `exited 0; stderr: ${restarted.err.text()}`)
})
