// Pid collisions after restart (issue 3): a child forked after a restart may get, from the kernel,
// the pid another process of the computation has as its app pid; the pid map would then send the
// application's kill/waitpid for one to the other. The agent's fork wrapper discards such a child
// and forks again (forkpty and daemon are rebuilt on it); a posix_spawn'd program discards itself
// before its main and is spawned again (system() is rebuilt on posix_spawn); after a restart the
// application's own vfork is a fork (its child runs code of its own before the exec). To force the collision the restart runs in a user+pid namespace of its own
// (`unshare -Urpf --mount-proc`, unprivileged), where the fixture can set ns_last_pid.
import t from 'tap'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { build } from './helpers/fixtures.js'
import { cliPath, Proc, runAs, setup } from './helpers/amber.js'

for (const how of ['fork', 'spawn', 'forkpty', 'vfork', 'system'] as const)
t.test(`a new child never gets a pid the computation already uses (${how})`, async (t) => {
  const a = await setup(t)
  const exe = await build('pidclash')
  const go = join(a.base, 'go')
  const app = a.launch([exe, go, how])
  await app.waitFor((l) => l.filter((x) => x.startsWith('p ')).length >= 5 && l.some((x) => x.startsWith('c ')), 30_000, 'both counting')
  const kid = Number(app.lines.find((l) => l.startsWith('kid '))!.split(' ')[1])
  await a.checkpoint({ kill: true })
  await app.wait(20_000)

  const who = runAs()
  const argv = [
    ...(who ? ['setpriv', `--reuid=${who.uid}`, `--regid=${who.gid}`, '--init-groups', '--'] : []),
    'unshare', '-Urpf', '--mount-proc', '/usr/bin/env', '-u', 'NODE_OPTIONS', '-u', 'NODE_V8_COVERAGE',
    process.execPath, cliPath, 'restart', '--dir', a.dir,
  ]
  const child = spawn(argv[0]!, argv.slice(1), { cwd: a.base, env: a.env(), stdio: ['ignore', 'pipe', 'pipe'] })
  const restarted = new Proc(child, ['unshare', 'amber', 'restart'])
  a.procs.push(restarted)
  await restarted.waitFor((l) => l.filter((x) => x.startsWith('p ')).length >= 2, 30_000, 'the parent counting after restart')
  a.writeFile(go, '')
  const code = await restarted.wait(30_000)
  const find = (p: string) => restarted.lines.find((l) => l.startsWith(p))
  if (find('nolastpid ')) {
    t.skip(`cannot set ns_last_pid in the namespace: ${find('nolastpid ')}`)
    return
  }
  const fork2 = find('fork2 ')?.split(' ')
  const two = Number(find('two pid ')?.split(' ')[2])
  t.ok(fork2, `the second fork ran: ${JSON.stringify(restarted.lines.slice(-8))}; stderr ${restarted.err.text()}`)
  if (how === 'system') {
    t.not(two, kid, 'the shell of system() did not get the first child\'s pid')
    t.equal(find('system '), 'system 0', 'system() returned the shell\'s status 0')
    t.equal(find('kid alive '), 'kid alive 1', 'the first child was untouched')
    t.equal(find('reaped '), `reaped ${kid} signal 15`, 'and is killed and reaped by its own pid')
    t.equal(code.code, 0, `exited 0; stderr: ${restarted.err.text()}`)
    return
  }
  t.not(Number(fork2?.[1]), kid, 'fork() did not hand out the first child\'s pid again')
  t.equal(Number(fork2?.[1]), two, 'fork() returned the pid the new child sees')
  t.equal(find('reaped2 '), `reaped2 ${two} signal 15`, 'kill/waitpid of the new child reached the new child')
  t.equal(find('kid alive '), 'kid alive 1', 'the first child was untouched')
  t.equal(find('reaped '), `reaped ${kid} signal 15`, 'and is killed and reaped by its own pid')
  t.equal(code.code, 0, `exited 0; stderr: ${restarted.err.text()}`)
})
