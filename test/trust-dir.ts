// Issue 12, ownership and modes: amber never runs, follows or writes what another user planted.
// A real second user (amber-evil) plants directories, links and files; root runs amber (the case
// that was exploited), and the unprivileged CI user (amber-test) runs amber in a shared sticky
// directory another user planted things in. Each case: exit 3, exactly one `amber:` line naming
// the path, its owner and mode (the exact text), nothing started, nothing outside DIR changed.
import { existsSync, lstatSync, mkdirSync, readdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { agentPath } from '../lib/native.js'
import { ROOT, type Ran, type User, World, ensureUser, needRoot, snapshot, testUser, until } from './helpers/trust.js'

const skip = needRoot()
if (skip !== undefined) {
  t.skip(skip)
} else {
  const evil = ensureUser('amber-evil')
  const user = testUser()
  const ROOT_TRUST = 'owned by another user (amber runs as root and trusts only root)'
  const userTrust = `owned by another user (amber runs as uid ${user.uid} (${user.name}) and trusts only that user and root)`
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

  t.test(`the unprivileged user in a shared sticky directory where another user planted things`, async (t) => {
    const w = new World()
    t.teardown(() => w.cleanup())
    const shared = join(w.base, 'shared')
    mkdirSync(shared)
    w.sh(ROOT, `chmod 1777 ${shared}`)
    // what the user has and must keep: a directory of theirs with a file
    const mine = join(shared, 'mine')
    w.sh(user, `mkdir -m 0700 ${mine} && echo 'my data' > ${mine}/data`)
    const before = snapshot(join(mine, 'data'))
    const ran = join(shared, 'ran')

    // DIR pre-created by the other user, open to all
    const ck = join(shared, 'ck')
    w.sh(evil, `mkdir -m 0777 ${ck} && chmod 0777 ${ck}`)
    refused(
      t,
      await w.run(user, ['launch', '--dir', ck, '--', '/usr/bin/touch', ran]),
      `${ck}: refusing the checkpoint directory: ${userTrust}; ${owner(evil, '0777')}`,
    )
    t.same(readdirSync(ck), [], 'nothing written into it')
    // DIR a link the other user made, to the user's own directory
    const link = join(shared, 'ck2')
    w.sh(evil, `ln -s ${mine} ${link}`)
    refused(
      t,
      await w.run(user, ['launch', '--dir', link, '--', '/usr/bin/touch', ran]),
      `${link}: refusing a symbolic link on the way to the checkpoint directory ${link}: ${userTrust}; ${owner(evil, '0777')}`,
    )
    // a socket path the other user occupied: not removed, not used
    const sock = join(shared, 'sock')
    w.sh(evil, `echo planted > ${sock} && chmod 0666 ${sock}`)
    refused(
      t,
      await w.run(user, ['coordinator', '--dir', join(shared, 'ck3'), '--listen', sock]),
      `${sock}: refusing the socket: ${userTrust}; ${owner(evil, '0666')}`,
    )
    t.equal(snapshot(sock).content, 'planted\n', "the other user's file is left alone")
    t.notOk(existsSync(ran), 'the program never ran')
    t.same(snapshot(join(mine, 'data')), before, "the user's file: same content, same mtime")
    t.same(readdirSync(mine), ['data'], 'nothing written in the directory the link pointed at')

    // control: the user's own DIR in the same shared directory works
    const own = join(shared, 'own')
    const ok = await w.run(user, ['launch', '--dir', own, '--', '/usr/bin/touch', ran])
    t.equal(ok.code, 0, `the user's own DIR is fine (${ok.stderr.trim()})`)
    t.equal(lstatSync(own).uid, user.uid)
  })

  t.test("a client never talks to another user's coordinator (nor launches under it)", async (t) => {
    const w = new World()
    t.teardown(() => w.cleanup())
    const edir = join(w.base, 'evil-ck')
    w.sh(ROOT, `mkdir -m 0700 ${edir} && chown ${evil.name}:${evil.name} ${edir}`)
    const c = w.spawn(evil, ['coordinator', '--dir', edir])
    await c.err.until((l) => l.some((x) => x.includes('listening at')), 20_000, "evil's coordinator")
    const sock = join(edir, '.amber', 'coord.sock')
    await until(() => existsSync(sock), 5000, 'the socket')
    const ran = join(w.base, 'ran')
    const line = `${sock}: refusing the coordinator listening there: it runs as uid ${evil.uid} (${evil.name}), not as root`
    refused(t, await w.run(ROOT, ['status', '--coord', sock]), line)
    refused(t, await w.run(ROOT, ['launch', '--coord', sock, '--', '/usr/bin/touch', ran]), line)
    refused(t, await w.run(ROOT, ['checkpoint', '--coord', sock]), line)
    t.notOk(existsSync(ran), 'nothing was launched under it')
    // an agent pointed at it (AMBER_COORD set by hand, or its own coordinator gone and the path
    // taken over) does not register with it either: it would obey its `write` lines as root
    const agent = execFileSync('sh', ['-c', `LD_PRELOAD=${agentPath()} AMBER_COORD=${sock} AMBER_TEST_TAG=${w.tag} /bin/sh -c 'sleep 1.5; echo alive'`], { encoding: 'utf8', timeout: 30_000 })
    t.equal(agent.trim().split('\n').pop(), 'alive', 'the program itself runs')
    const seen = JSON.parse((await w.run(evil, ['status', '--dir', edir, '--json'])).stdout)
    t.same(seen.processes, [], "a root process's agent refused the other user's coordinator")
    c.child.kill('SIGTERM')
    await c.exited
  })
}
