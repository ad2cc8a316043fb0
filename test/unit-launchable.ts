// `amber launch` refuses, by name and before anything starts, a program the agent cannot be
// loaded into (issue 10): a statically linked one (no dynamic loader reads LD_PRELOAD) and a
// script whose interpreter is one; a set-user-id program of another user (the loader ignores
// LD_PRELOAD in secure-execution mode). A dynamic program and a script of a dynamic interpreter
// still launch.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { chmodSync, chownSync, copyFileSync, existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runAs, setup } from './helpers/amber.js'

const src = '#include <stdio.h>\nint main(void) { puts("ran"); return 0; }\n'

t.test('static programs, and scripts they interpret, are refused at launch; dynamic ones run', async (t) => {
  const a = await setup(t)
  const c = join(a.base, 'p.c')
  writeFileSync(c, src)
  const stat = join(a.base, 'static-prog')
  const dyn = join(a.base, 'dynamic-prog')
  try {
    execFileSync('cc', ['-static', '-o', stat, c], { stdio: 'pipe' })
  } catch (e) {
    return t.skip(`no static libc here: ${(e as Error).message.split('\n')[0]}`)
  }
  execFileSync('cc', ['-o', dyn, c])
  for (const p of [stat, dyn]) a.own(p)
  const script = join(a.base, 'script')
  writeFileSync(script, `#!${stat}\n`, { mode: 0o755 })
  a.own(script)

  const r = await a.run(['launch', '--dir', a.dir, '--', stat])
  t.equal(r.code, 126, 'a static program: exit 126')
  t.match(r.stderr, /static-prog: it is statically linked \(no dynamic loader\); amber's agent is loaded with LD_PRELOAD/, 'named, with why')
  t.notMatch(r.stdout, /ran/, 'it did not run')
  t.notOk(existsSync(join(a.dir, '.amber', 'coordinator.log')), 'no coordinator was started for it')

  const s = await a.run(['launch', '--dir', a.dir, '--', script])
  t.equal(s.code, 126, 'a script whose interpreter is static: exit 126')
  t.match(s.stderr, /static-prog: it is statically linked/, 'the interpreter is named')

  const d = await a.run(['launch', '--dir', a.dir, '--', dyn])
  t.equal(d.code, 0, `a dynamic program runs: ${d.stderr.trim()}`)
  t.match(d.stdout, /ran/, 'and prints')
})

t.test('a set-user-id program of another user is refused at launch', async (t) => {
  if (process.getuid?.() !== 0 && runAs() === null) return t.skip('needs root to make a set-user-id program of another user')
  const a = await setup(t)
  const prog = join(a.base, 'suid-prog')
  copyFileSync('/bin/true', prog)
  // owned by a user that is not the one launching: root's when the test runs as another user,
  // nobody's (65534) when it runs as root
  chownSync(prog, runAs() ? 0 : 65534, 0)
  chmodSync(prog, 0o4755)
  const r = await a.run(['launch', '--dir', a.dir, '--', prog])
  t.equal(r.code, 126, 'exit 126')
  t.match(r.stderr, /suid-prog: it is set-user-id or set-group-id, and the dynamic loader ignores LD_PRELOAD for it/, 'named, with why')
})
