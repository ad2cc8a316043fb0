// Issue 10, a program that switches user after launch (setresuid from root to nobody): checkpointed
// by root (its image file made and passed by the coordinator, the manifest binding the credentials
// the kernel showed), restarted by root with the same ids and no more; a restart by an
// unprivileged user is refused at stage 1, naming it, as is an image whose credentials record is
// not what the kernel showed (root's file, the other user's bytes).
import { cpSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { ROOT, World, needRoot, testUser, until } from './helpers/trust.js'

const skip = needRoot()
if (skip !== undefined) {
  t.skip(skip)
} else {
  t.test('a process that switched to another user comes back as that user, and only that user', async (t) => {
    const w = new World()
    t.teardown(() => w.cleanup())
    const exe = await build('setuid')
    const dir = join(w.base, 'ck')
    const go = join(w.base, 'go')
    const app = w.spawn(ROOT, ['launch', '--dir', dir, '--', exe, '65534', go])
    await app.out.until((l) => l.includes('switched'), 30_000, 'the switch')
    const ck = await w.run(ROOT, ['checkpoint', '--dir', dir, '--kill'])
    t.equal(ck.code, 0, `checkpoint --kill as root (${ck.stderr.trim()})`)
    await app.exited
    const gen = join(dir, 'gen-000001')
    const manifest = JSON.parse(readFileSync(join(gen, 'manifest.json'), 'utf8'))
    const creds: string = manifest.processes[0].creds
    t.match(creds, /^65534,65534,65534,65534,65534,65534,65534,65534,0,0,0,\d+,0$/, `the manifest binds the credentials the kernel showed: ${creds}`)
    const img = statSync(join(gen, 'p1.img'))
    t.ok(img.uid === 0 && (img.mode & 0o077) === 0, 'the image is root\'s file, 0600')
    t.same(readdirSync(gen).filter((n) => n.endsWith('.tmp')), [], 'no temporary file left')

    // The image's record must be what the kernel showed: a manifest (root's) saying otherwise
    // stands for an image whose writer claimed other ids.
    const forged = join(w.base, 'forged')
    cpSync(dir, forged, { recursive: true, verbatimSymlinks: true })
    const fm = join(forged, 'gen-000001', 'manifest.json')
    const m2 = JSON.parse(readFileSync(fm, 'utf8'))
    m2.processes[0].creds = creds.replace(/^65534,65534,65534,65534/, '0,0,0,0')
    writeFileSync(fm, JSON.stringify(m2), { mode: 0o600 })
    const rf = await w.run(ROOT, ['restart', '--dir', join(w.base, 'run-forged'), forged], 30_000)
    t.equal(rf.code, 3, `credentials that differ: refused (${rf.stderr.trim()})`)
    t.match(rf.stderr, /credentials in the image are not the ones the kernel showed/, 'named')
    t.equal(rf.stdout, '', 'the program never ran')

    // An unprivileged user cannot become nobody: refused at stage 1, by name, nothing runs.
    const user = testUser()
    const theirs = join(w.base, 'theirs')
    cpSync(dir, theirs, { recursive: true, verbatimSymlinks: true })
    const home = join(w.base, 'home')
    w.sh(ROOT, `mkdir -m 0700 ${home} && chown -R ${user.uid}:${user.gid} ${theirs} ${home}`)
    const ru = await w.run(user, ['restart', '--dir', join(home, 'run'), theirs], 30_000)
    t.equal(ru.code, 4, `restart as ${user.name}: refused (${ru.stderr.trim()})`)
    t.match(ru.stderr, /other user or group ids than this restart, which cannot become another user/, 'named')
    t.equal(ru.stdout, '', 'the program never ran')
    t.same(w.tagged(), [], 'no process left')

    // Root brings it back as nobody: same ids, no capabilities, still not dumpable.
    const re = w.spawn(ROOT, ['restart', '--dir', dir])
    await until(() => w.tagged().length > 0, 30_000, 'the restored process')
    writeFileSync(go, '')
    const r = await re.exited
    t.equal(r.code, 0, `restart as root exits 0 (${r.stderr.trim()})`)
    t.match(r.stdout, /ids 65534 65534 65534 65534 \/ 65534 65534 65534 65534 groups 0 dumpable 0 caps 0 0/, 'the same ids, no groups, no capabilities, not dumpable')
  })
}
