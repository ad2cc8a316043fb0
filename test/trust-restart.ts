// Issue 12, images bound to their generation: `amber restart` and `amber inspect --verify` refuse
// an image that does not belong to its manifest — an older generation's image swapped in (the
// program would silently rewind), another program's image renamed p1.img, a generation another
// user put into a shared checkpoint directory, an image that is a link to a file outside DIR, a
// FIFO (which made both block forever), another user's file, a checksum or size that differs —
// each with exactly one line naming the file, before anything runs, leaving nothing behind.
import { chmodSync, cpSync, existsSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { restorerPath } from '../lib/native.js'
import { build } from './helpers/fixtures.js'
import { ROOT, type Ran, World, ensureUser, needRoot, snapshot, until } from './helpers/trust.js'

const skip = needRoot()
if (skip !== undefined) {
  t.skip(skip)
} else {
  const evil = ensureUser('amber-evil')

  const refused = (t: Test, r: Ran, line: string, what: string) => {
    t.equal(r.signal, null, `${what}: not killed`)
    t.equal(r.code, 3, `${what}: exit 3 (${r.stderr.trim()})`)
    t.same(r.lines, [`amber: ${line}`], `${what}: the one line`)
    t.equal(r.stdout, '', `${what}: nothing on stdout (the program never ran)`)
  }

  t.test('restart and inspect --verify refuse images that do not belong to the manifest', async (t) => {
    const w = new World()
    t.teardown(() => w.cleanup())
    const counter = await build('counter')
    const threads = await build('threads')

    // a good computation: two generations of a counter, run by root
    const dir = join(w.base, 'ck')
    const app = w.spawn(ROOT, ['launch', '--dir', dir, '--', counter, '50'])
    await app.out.until((l) => l.length >= 3, 30_000, 'the counter')
    t.equal((await w.run(ROOT, ['checkpoint', '--dir', dir])).code, 0, 'generation 1')
    await app.out.until((l) => l.length >= 6, 30_000, 'more counting')
    t.equal((await w.run(ROOT, ['checkpoint', '--dir', dir, '--kill'])).code, 0, 'generation 2')
    await app.exited
    // another program, another computation
    const other = join(w.base, 'other')
    const app2 = w.spawn(ROOT, ['launch', '--dir', other, '--', threads])
    await app2.out.until((l) => l.length >= 2, 30_000, 'the threads program')
    t.equal((await w.run(ROOT, ['checkpoint', '--dir', other, '--kill'])).code, 0, 'the other program checkpointed')
    await app2.exited

    const m1 = JSON.parse(readFileSync(join(dir, 'gen-000001', 'manifest.json'), 'utf8'))
    const m2 = JSON.parse(readFileSync(join(dir, 'gen-000002', 'manifest.json'), 'utf8'))
    t.match(m2, { id: /^[0-9a-f]{32}$/, processes: [{ vpid: 1, xxh: /^[0-9a-f]{16}$/, program: /^[0-9a-f]{16}$/, bytes: Number }] }, 'the manifest binds its images')
    t.not(m1.id, m2.id, 'each generation has its own id')
    const inspected = JSON.parse((await w.run(ROOT, ['inspect', '--json', join(dir, 'gen-000002', 'p1.img')])).stdout)
    t.match(inspected, { generationId: m2.id, imageXxh: m2.processes[0].xxh, programXxh: m2.processes[0].program }, 'the image header carries the same')
    t.ok(inspected.version.major === 1 && inspected.version.minor >= 4, `an image format that binds its generation (1.4 or later): ${JSON.stringify(inspected.version)}`)

    const victim = join(w.base, 'victim.img')
    cpSync(join(other, 'gen-000001', 'p1.img'), victim)
    const victimBefore = snapshot(victim)

    /** A copy of the good checkpoint, damaged by `damage(copyDir)`; both commands refused. */
    const check = async (name: string, damage: (c: string, img: string, manifest: string) => void, line: (img: string, manifest: string) => string) => {
      const c = join(w.base, `case-${name}`)
      cpSync(dir, c, { recursive: true, verbatimSymlinks: true })
      const gdir = join(c, 'gen-000002')
      const img = join(gdir, 'p1.img')
      const manifest = join(gdir, 'manifest.json')
      damage(c, img, manifest)
      const expected = line(img, manifest)
      refused(t, await w.run(ROOT, ['restart', '--dir', join(w.base, `run-${name}`), c], 30_000), expected, `${name}: restart`)
      refused(t, await w.run(ROOT, ['inspect', '--verify', c], 30_000), expected, `${name}: inspect --verify`)
      t.same(w.tagged(), [], `${name}: no process left`)
      t.notOk(existsSync(join(w.base, `run-${name}`)), `${name}: no coordinator was started for it`)
    }

    await check(
      'older-generation',
      (c, img) => cpSync(join(c, 'gen-000001', 'p1.img'), img),
      (img, manifest) => `${img}: it belongs to another generation (generation 1, id ${m1.id}) than ${manifest} (generation 2, id ${m2.id}): refusing it`,
    )
    await check(
      'other-program',
      (_c, img) => cpSync(join(other, 'gen-000001', 'p1.img'), img),
      (img, manifest) => `${img}: it holds another program (${threads}) than the one ${manifest} recorded for vpid 1 (${counter} 50): refusing it`,
    )
    await check(
      'link-outside',
      (_c, img) => (rmSync(img), symlinkSync(victim, img)),
      (img) => `${img}: refusing the image: a symbolic link (amber follows no link it did not make); owner uid 0 (root), mode 0777`,
    )
    await check(
      'fifo',
      (_c, img) => (rmSync(img), w.sh(ROOT, `mkfifo -m 0600 ${img}`)),
      (img) => `${img}: refusing the image: not a regular file but a FIFO; owner uid 0 (root), mode 0600`,
    )
    await check(
      'other-owner',
      (_c, img) => w.sh(ROOT, `chown ${evil.name} ${img}`),
      (img) => `${img}: refusing the image: owned by another user (amber runs as root and trusts only root); owner uid ${evil.uid} (${evil.name}), mode 0600`,
    )
    await check(
      'group-writable',
      (_c, img) => chmodSync(img, 0o620),
      (img) => `${img}: refusing the image: writable by group or others; owner uid 0 (root), mode 0620`,
    )
    const fake = m2.processes[0].xxh.replace(/^./, (x: string) => (x === '0' ? '1' : '0'))
    await check(
      'checksum',
      (_c, _img, manifest) => writeFileSync(manifest, JSON.stringify({ ...m2, processes: [{ ...m2.processes[0], xxh: fake }] })),
      (img, manifest) => `${img}: its checksum ${m2.processes[0].xxh} is not the ${fake} that ${manifest} recorded: refusing it`,
    )
    await check(
      'size',
      (_c, _img, manifest) => writeFileSync(manifest, JSON.stringify({ ...m2, processes: [{ ...m2.processes[0], bytes: m2.processes[0].bytes + 4096 }] })),
      (img, manifest) => `${img}: it is ${m2.processes[0].bytes} bytes, but ${manifest} recorded ${m2.processes[0].bytes + 4096}: refusing it`,
    )
    await check(
      'latest-outside',
      (c) => (rmSync(join(c, 'latest')), symlinkSync(join(other, 'gen-000001'), join(c, 'latest'))),
      () => `${join(w.base, 'case-latest-outside', 'latest')}: refusing the link latest: it points at ${JSON.stringify(join(other, 'gen-000001'))}, not at a gen-NNNNNN directory beside it; owner uid 0 (root), mode 0777`,
    )
    // inspect of the image itself, with --verify: bound to the manifest beside it
    const c = join(w.base, 'case-older-generation', 'gen-000002', 'p1.img')
    refused(
      t,
      await w.run(ROOT, ['inspect', '--verify', c]),
      `${c}: it belongs to another generation (generation 1, id ${m1.id}) than ${join(w.base, 'case-older-generation', 'gen-000002', 'manifest.json')} (generation 2, id ${m2.id}): refusing it`,
      'inspect --verify IMAGE',
    )
    t.same(snapshot(victim), victimBefore, 'the file outside DIR the link pointed at: same content, same mtime')

    // control: the undamaged checkpoint restarts and goes on counting
    const r = w.spawn(ROOT, ['restart', '--dir', join(w.base, 'run-good'), dir])
    const lines = await r.out.until((l) => (l.length >= 2 ? l : undefined), 30_000, 'the restored counter')
    t.ok(Number(lines[0]) > 6, `the restored counter continues (${lines[0]})`)
    r.child.kill('SIGTERM')
  })

  t.test('the restorer itself opens no link, no FIFO, no file of another user (the second fence)', async (t) => {
    const w = new World()
    t.teardown(() => w.cleanup())
    const restorer = restorerPath()
    const run = (img: string) => {
      const r = spawnSync(restorer, [img], { encoding: 'utf8', timeout: 10_000 })
      return { code: r.status, signal: r.signal, stderr: r.stderr }
    }
    const link = join(w.base, 'link.img')
    symlinkSync('/etc/passwd', link)
    t.same(run(link), { code: 3, signal: null, stderr: `amber: ${link}: is a symbolic link: refusing it (amber follows no link it did not make)\n` })
    const fifo = join(w.base, 'fifo.img')
    w.sh(ROOT, `mkfifo -m 0600 ${fifo}`)
    t.same(run(fifo), { code: 3, signal: null, stderr: `amber: ${fifo}: not a regular file: refusing it\n` }, 'a FIFO: refused at once')
    const theirs = join(w.base, 'theirs.img')
    writeFileSync(theirs, 'AMBERIMG', { mode: 0o600 })
    w.sh(ROOT, `chown ${evil.name} ${theirs}`)
    t.same(run(theirs), { code: 3, signal: null, stderr: `amber: ${theirs}: is owned by another user or writable by group or others: refusing it\n` })
  })

  t.test("a generation another user swapped into a shared checkpoint directory never runs as root", async (t) => {
    const w = new World()
    t.teardown(() => w.cleanup())
    const counter = await build('counter')
    // the other user's own computation, in a directory of theirs
    const edir = join(w.base, 'evil-ck')
    w.sh(ROOT, `mkdir -m 0700 ${edir} && chown ${evil.name}:${evil.name} ${edir}`)
    const eapp = w.spawn(evil, ['launch', '--dir', edir, '--', counter, '50'])
    await eapp.out.until((l) => l.length >= 2, 30_000, "the other user's counter")
    t.equal((await w.run(evil, ['checkpoint', '--dir', edir, '--kill'])).code, 0, "the other user's checkpoint")
    await eapp.exited

    // root's shared checkpoint directory (sticky, world-writable: the setting of the attack)
    const shared = join(w.base, 'shared')
    const app = w.spawn(ROOT, ['launch', '--dir', join(w.base, 'root-ck'), '--', counter, '50'])
    await app.out.until((l) => l.length >= 2, 30_000, "root's counter")
    t.equal((await w.run(ROOT, ['checkpoint', '--dir', join(w.base, 'root-ck'), '--kill'])).code, 0)
    await app.exited
    cpSync(join(w.base, 'root-ck'), shared, { recursive: true, verbatimSymlinks: true })
    chmodSync(shared, 0o1777)
    // the other user puts its generation in, as the next one
    w.sh(evil, `cp -a ${edir}/gen-000001 ${shared}/gen-000002`)
    refused(t, await w.run(ROOT, ['restart', '--dir', join(w.base, 'run1'), shared]), `${shared}: refusing the checkpoint directory: writable by group or others; owner uid 0 (root), mode 1777`, 'DIR writable by others')
    refused(
      t,
      await w.run(ROOT, ['restart', '--dir', join(w.base, 'run2'), join(shared, 'gen-000002')]),
      `${join(shared, 'gen-000002')}: refusing the generation directory: owned by another user (amber runs as root and trusts only root); owner uid ${evil.uid} (${evil.name}), mode 0700`,
      "the other user's generation",
    )
    // even once DIR is closed again, the planted generation (its directory, its files) is not root's
    chmodSync(shared, 0o755)
    refused(
      t,
      await w.run(ROOT, ['restart', '--dir', join(w.base, 'run3'), join(shared, 'gen-000002', 'manifest.json')]),
      `${join(shared, 'gen-000002')}: refusing a directory above the checkpoint ${join(shared, 'gen-000002', 'manifest.json')}: owned by another user (amber runs as root and trusts only root); owner uid ${evil.uid} (${evil.name}), mode 0700`,
      'its manifest',
    )
    w.sh(ROOT, `chown root:root ${shared}/gen-000002`)
    refused(
      t,
      await w.run(ROOT, ['restart', '--dir', join(w.base, 'run4'), join(shared, 'gen-000002')]),
      `${join(shared, 'gen-000002', 'manifest.json')}: refusing the manifest: owned by another user (amber runs as root and trusts only root); owner uid ${evil.uid} (${evil.name}), mode 0600`,
      'its manifest file',
    )
    await until(() => w.tagged().length === 0 || undefined, 5000, 'no process left').catch(() => undefined)
    t.same(w.tagged(), [], 'nothing of the planted generation runs')
    // root's own generation in it still restarts
    const ok = w.spawn(ROOT, ['restart', '--dir', join(w.base, 'run-ok'), join(shared, 'gen-000001')])
    await ok.out.until((l) => l.length >= 1, 30_000, "root's restored counter")
    ok.child.kill('SIGTERM')
  })
}
