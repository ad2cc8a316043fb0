// Issue 12, the other direction and the clients: the unprivileged CI user (amber-test) runs amber in
// a shared sticky directory another user (amber-evil) planted things in; and neither a client nor
// an agent of root's talks to a coordinator another user runs. Each case: exit 3, exactly one
// `amber:` line naming the path, its owner and mode, nothing started, nothing outside DIR changed.
// (test/trust-dir.ts: root's DIR, .amber, token, state file, directories above, links.)
import { existsSync, lstatSync, mkdirSync, readdirSync } from 'node:fs'
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
  const userTrust = `owned by another user (amber runs as uid ${user.uid} (${user.name}) and trusts only that user and root)`
  const owner = (u: User, mode: string) => `owner uid ${u.uid} (${u.name}), mode ${mode}`

  /** Exit 3, one stderr line exactly `amber: LINE`, nothing on stdout. */
  const refused = (t: Test, r: Ran, line: string) => {
    t.equal(r.signal, null, 'not killed')
    t.equal(r.code, 3, `exit 3 (${r.stderr.trim()})`)
    t.same(r.lines, [`amber: ${line}`], 'one line naming the path, its owner and mode')
    t.equal(r.stdout, '', 'nothing on stdout')
  }

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
