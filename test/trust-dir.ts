// Issue 12, ownership and modes: amber never runs, follows or writes what another user planted.
// A real second user (amber-evil) plants directories, links and files; root runs amber (the case
// that was exploited), and the unprivileged CI user (amber-test) runs amber in a shared sticky
// directory another user planted things in (test/trust-shared.ts). Each case: exit 3, exactly one
// `amber:` line naming the path, its owner and mode (the exact text), nothing started, nothing
// outside DIR changed.
import { existsSync, lstatSync, mkdirSync, readdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { ROOT, type Ran, type User, World, ensureUser, needRoot, snapshot } from './helpers/trust.js'

const skip = needRoot()
if (skip !== undefined) {
  t.skip(skip)
} else {
  const evil = ensureUser('amber-evil')
  const ROOT_TRUST = 'owned by another user (amber runs as root and trusts only root)'
  const owner = (u: User, mode: string) => `owner uid ${u.uid} (${u.name}), mode ${mode}`

  /** Exit 3, one stderr line exactly `amber: LINE`, nothing on stdout. */
  const refused = (t: Test, r: Ran, line: string) => {
    t.equal(r.signal, null, 'not killed')
    t.equal(r.code, 3, `exit 3 (${r.stderr.trim()})`)
    t.same(r.lines, [`amber: ${line}`], 'one line naming the path, its owner and mode')
    t.equal(r.stdout, '', 'nothing on stdout')
  }

  t.test('root: a DIR another user owns, or can write, is refused; nothing runs', async (t) => {
    const w = new World()
    t.teardown(() => w.cleanup())
    const ran = join(w.base, 'ran')
    const dir = join(w.base, 'ck')
    mkdirSync(dir, { mode: 0o755 })
    w.sh(ROOT, `chown ${evil.name} ${dir}`)
    refused(t, await w.run(ROOT, ['launch', '--dir', dir, '--', '/usr/bin/touch', ran]), `${dir}: refusing the checkpoint directory: ${ROOT_TRUST}; ${owner(evil, '0755')}`)
    w.sh(ROOT, `chown root ${dir} && chmod 0777 ${dir}`)
    refused(t, await w.run(ROOT, ['launch', '--dir', dir, '--', '/usr/bin/touch', ran]), `${dir}: refusing the checkpoint directory: writable by group or others; ${owner(ROOT, '0777')}`)
    w.sh(ROOT, `chmod 0770 ${dir}`)
    refused(t, await w.run(ROOT, ['coordinator', '--dir', dir]), `${dir}: refusing the checkpoint directory: writable by group or others; ${owner(ROOT, '0770')}`)
    t.notOk(existsSync(ran), 'the program never ran')
    t.same(readdirSync(dir), [], 'nothing was written in DIR')
  })

  t.test("root: a .amber another user made (0777, token a link to a victim) is refused; the victim is untouched", async (t) => {
    const w = new World()
    t.teardown(() => w.cleanup())
    const victim = join(w.base, 'victim')
    writeFileSync(victim, 'precious root data\n', { mode: 0o644 })
    const before = snapshot(victim)
    const dir = join(w.base, 'ck')
    mkdirSync(dir, { mode: 0o755 })
    const adir = join(dir, '.amber')
    // planted: evil's own directory, evil's own link in it
    w.sh(ROOT, `mkdir -m 0777 ${adir} && chown ${evil.name}:${evil.name} ${adir} && chmod 0777 ${adir}`)
    w.sh(evil, `ln -s ${victim} ${adir}/token`)
    refused(
      t,
      await w.run(ROOT, ['coordinator', '--dir', dir, '--listen', 'tcp:127.0.0.1:0']),
      `${adir}: refusing the state directory: ${ROOT_TRUST}; ${owner(evil, '0777')}`,
    )
    refused(t, await w.run(ROOT, ['launch', '--dir', dir, '--', '/bin/true']), `${adir}: refusing the state directory: ${ROOT_TRUST}; ${owner(evil, '0777')}`)
    t.same(readdirSync(adir), ['token'], 'no socket, no state written into the planted directory')

    // .amber fixed (root's, 0700) but the link is still evil's: not followed either
    w.sh(ROOT, `chown root:root ${adir} && chmod 0700 ${adir}`)
    refused(
      t,
      await w.run(ROOT, ['coordinator', '--dir', dir, '--listen', 'tcp:127.0.0.1:0']),
      `${adir}/token: refusing the token: a symbolic link (amber follows no link it did not make); ${owner(evil, '0777')}`,
    )
    // ...nor a link root owns: amber follows no link it did not make
    w.sh(ROOT, `chown -h root:root ${adir}/token`)
    refused(
      t,
      await w.run(ROOT, ['coordinator', '--dir', dir, '--listen', 'tcp:127.0.0.1:0']),
      `${adir}/token: refusing the token: a symbolic link (amber follows no link it did not make); ${owner(ROOT, '0777')}`,
    )
    t.notOk(existsSync(join(adir, 'coord.sock')), 'the socket was removed again')
    // the state file, likewise
    w.sh(ROOT, `rm ${adir}/token && ln -s ${victim} ${adir}/state.json`)
    refused(t, await w.run(ROOT, ['coordinator', '--dir', dir]), `${adir}/state.json: refusing the state file: a symbolic link (amber follows no link it did not make); ${owner(ROOT, '0777')}`)
    t.same(snapshot(victim), before, 'the victim file: same content, same mtime')
  })

  t.test('root: a directory above DIR that another user can write (not sticky) or owns is refused; sticky /tmp-like is fine', async (t) => {
    const w = new World()
    t.teardown(() => w.cleanup())
    const open = join(w.base, 'open')
    mkdirSync(open)
    w.sh(ROOT, `chmod 0777 ${open}`)
    const dir = join(open, 'ck')
    mkdirSync(dir, { mode: 0o700 })
    refused(
      t,
      await w.run(ROOT, ['launch', '--dir', dir, '--', '/bin/true']),
      `${open}: refusing a directory above the checkpoint directory ${dir}: writable by group or others and not sticky; ${owner(ROOT, '0777')}`,
    )
    w.sh(ROOT, `chmod 0755 ${open} && chown ${evil.name} ${open}`)
    refused(
      t,
      await w.run(ROOT, ['restart', '--dir', dir]),
      `${open}: refusing a directory above the checkpoint ${dir}: ${ROOT_TRUST}; ${owner(evil, '0755')}`,
    )
    // sticky and world-writable, like /tmp: nobody else can rename DIR away: accepted
    w.sh(ROOT, `chown root ${open} && chmod 1777 ${open}`)
    const ok = await w.run(ROOT, ['launch', '--dir', dir, '--', '/bin/true'])
    t.equal(ok.code, 0, `accepted in a sticky directory (${ok.stderr.trim()})`)
    // a DIR that does not exist yet is created 0700
    const fresh = join(open, 'fresh', 'ck')
    t.equal((await w.run(ROOT, ['launch', '--dir', fresh, '--', '/bin/true'])).code, 0)
    t.equal(lstatSync(fresh).mode & 0o777, 0o700, 'a new DIR is 0700')
  })

  t.test('a DIR that is a symbolic link: followed once if its owner is trusted, refused if another user made it', async (t) => {
    const w = new World()
    t.teardown(() => w.cleanup())
    const shared = join(w.base, 'shared')
    mkdirSync(shared)
    w.sh(ROOT, `chmod 1777 ${shared}`)
    const real = join(w.base, 'real')
    mkdirSync(real, { mode: 0o700 })
    const mine = join(shared, 'mine')
    symlinkSync(real, mine)
    const c = w.spawn(ROOT, ['coordinator', '--dir', mine])
    await c.err.until((l) => l.some((x) => x.includes('listening at')), 20_000, 'the coordinator')
    const st = await w.run(ROOT, ['status', '--dir', real, '--json'])
    t.equal(JSON.parse(st.stdout).coordinator.dir, realpathSync(real), 'resolved once: the coordinator works in the real directory')
    c.child.kill('SIGTERM')
    await c.exited
    const theirs = join(shared, 'theirs')
    w.sh(evil, `ln -s ${real} ${theirs}`)
    refused(
      t,
      await w.run(ROOT, ['launch', '--dir', theirs, '--', '/bin/true']),
      `${theirs}: refusing a symbolic link on the way to the checkpoint directory ${theirs}: ${ROOT_TRUST}; ${owner(evil, '0777')}`,
    )
  })
}
