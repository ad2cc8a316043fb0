// Issue 12, leftovers and causes: a coordinator killed mid-write left generation directories with
// full-size images that nothing removed; a full disk failed cleanly but without saying why. Now a
// new coordinator on the DIR removes incomplete generations that are provably its user's (a real
// gen-NNNNNN directory of theirs without a manifest), leaves anything else alone, and never hands
// the same number out again; --keep counts complete generations only; a failed checkpoint says
// "No space left on device" or "Permission denied". No generation is ever lost.
import { existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { ROOT, World, ensureUser, needRoot, testUser, until } from './helpers/trust.js'

const skip = needRoot()
if (skip !== undefined) {
  t.skip(skip)
} else {
  const evil = ensureUser('amber-evil')

  t.test('a coordinator killed mid-write: the next one removes the incomplete generation, and only that', async (t) => {
    const w = new World()
    t.teardown(() => w.cleanup())
    const bigmem = await build('bigmem')
    const dir = join(w.base, 'ck')
    const coord = w.spawn(ROOT, ['coordinator', '--dir', dir])
    await coord.err.until((l) => l.some((x) => x.includes('listening at')), 30_000, 'the coordinator')
    const app = w.spawn(ROOT, ['launch', '--dir', dir, '--', bigmem, '128', '200'])
    await app.out.until((l) => l.length >= 2, 60_000, 'bigmem')
    // not ours, or not a directory: a new coordinator must leave these alone
    w.sh(ROOT, `mkdir -m 0700 ${dir}/gen-000007 && echo x > ${dir}/gen-000007/p1.img && chown -R ${evil.name} ${dir}/gen-000007`)
    symlinkSync('gen-000007', join(dir, 'gen-000008'))

    const ck = w.spawn(ROOT, ['checkpoint', '--dir', dir])
    const gdir = join(dir, 'gen-000009')
    await until(() => existsSync(join(gdir, 'p1.img.tmp')), 60_000, 'the image being written')
    coord.child.kill('SIGKILL')
    const r = await ck.exited
    t.ok(r.code !== 0, `the checkpoint did not complete (exit ${r.code})`)
    // the agent finishes the image it was writing: a full-size image without a manifest
    await until(() => existsSync(join(gdir, 'p1.img')), 60_000, 'the agent to finish its image')
    t.ok(statSync(join(gdir, 'p1.img')).size >= 128 << 20, 'a full-size image is left behind')
    t.notOk(existsSync(join(gdir, 'manifest.json')), 'without a manifest')

    const coord2 = w.spawn(ROOT, ['coordinator', '--dir', dir])
    await coord2.err.until((l) => l.some((x) => x.includes('listening at')), 30_000, 'the second coordinator')
    t.notOk(existsSync(gdir), 'the incomplete generation is removed by the next coordinator')
    t.ok(existsSync(join(dir, 'gen-000007', 'p1.img')), "another user's directory is left alone")
    t.ok(lstatSync(join(dir, 'gen-000008')).isSymbolicLink(), 'a link is left alone')
    // the computation goes on: re-adopted (its agent reconnects every second), checkpointed,
    // numbers not reused
    for (let i = 0; i < 120; i++) {
      const st = await w.run(ROOT, ['status', '--dir', dir, '--json'])
      if (st.code === 0 && JSON.parse(st.stdout).processes.every((p: { state: string }) => p.state !== 'detached')) break
      await new Promise((r) => setTimeout(r, 500))
    }
    const again = await w.run(ROOT, ['checkpoint', '--dir', dir, '--json'], 120_000)
    t.equal(again.code, 0, `a checkpoint after the crash (${again.stderr.trim()})`)
    t.equal(JSON.parse(again.stdout).generation, 10, 'the generation number of the removed one is not handed out again')
    t.equal(readlinkSync(join(dir, 'latest')), 'gen-000010')
    coord2.child.kill('SIGTERM')
    await coord2.exited
    app.child.kill('SIGKILL')
  })

  t.test('--keep counts complete generations only', async (t) => {
    const w = new World()
    t.teardown(() => w.cleanup())
    const counter = await build('counter')
    const dir = join(w.base, 'ck')
    const app = w.spawn(ROOT, ['launch', '--dir', dir, '--keep', '2', '--', counter, '50'])
    await app.out.until((l) => l.length >= 2, 30_000, 'the counter')
    t.equal((await w.run(ROOT, ['checkpoint', '--dir', dir])).code, 0, 'generation 1')
    // an incomplete generation appears (as a crashed checkpoint leaves one)
    mkdirSync(join(dir, 'gen-000002'), { mode: 0o700 })
    writeFileSync(join(dir, 'gen-000002', 'p1.img'), Buffer.alloc(1 << 20))
    t.equal((await w.run(ROOT, ['checkpoint', '--dir', dir])).code, 0, 'generation 3')
    t.same(readdirSync(dir).filter((n) => n.startsWith('gen-')).sort(), ['gen-000001', 'gen-000003'], 'the incomplete one did not count: two complete generations kept')
    const g4 = await w.run(ROOT, ['checkpoint', '--dir', dir, '--kill'])
    t.equal(g4.code, 0, `generation 4 (${g4.stderr.trim()})`)
    t.same(readdirSync(dir).filter((n) => n.startsWith('gen-')).sort(), ['gen-000003', 'gen-000004'])
    await app.exited
  })

  t.test('a full disk: the checkpoint fails saying "No space left on device"; nothing is lost', async (t) => {
    const w = new World()
    t.teardown(() => w.cleanup())
    const mnt = join(w.base, 'mnt')
    mkdirSync(mnt, { mode: 0o700 })
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=128k,mode=0700', 'tmpfs', mnt], { stdio: 'pipe' })
    } catch (e) {
      t.skip(`cannot mount a small tmpfs here (${(e as Error).message.split('\n')[0]})`)
      return
    }
    const counter = await build('counter')
    const dir = join(mnt, 'ck')
    const app = w.spawn(ROOT, ['launch', '--dir', dir, '--', counter, '50'])
    await app.out.until((l) => l.length >= 3, 30_000, 'the counter')
    const full = await w.run(ROOT, ['checkpoint', '--dir', dir])
    t.equal(full.code, 5, 'exit 5: checkpoint failed')
    t.equal(full.lines.length, 1, `one line: ${JSON.stringify(full.lines)}`)
    t.match(full.lines[0], new RegExp(`^amber: generation 1 failed: vpid 1 \\(pid \\d+\\): cannot write ${join(dir, 'gen-000001', 'p1.img.tmp')}: No space left on device$`))
    await until(() => !existsSync(join(dir, 'gen-000001')) || undefined, 10_000, 'the failed generation to be removed')
    t.notOk(existsSync(join(dir, 'latest')), 'latest was never set')
    const before = app.out.lines.length
    await app.out.until((l) => l.length >= before + 2, 10_000, 'the counter to go on')
    t.pass('the application goes on after the failed checkpoint')
    // room again: the next generation is good, and restarts
    execFileSync('mount', ['-o', 'remount,size=64m', mnt])
    const ok = await w.run(ROOT, ['checkpoint', '--dir', dir, '--kill', '--json'])
    t.equal(ok.code, 0, `a checkpoint once there is room (${ok.stderr.trim()})`)
    t.equal(JSON.parse(ok.stdout).generation, 2)
    await app.exited
    const last = Number(app.out.lines.filter((l) => /^\d+$/.test(l)).at(-1))
    const r = w.spawn(ROOT, ['restart', '--dir', dir])
    const lines = await r.out.until((l) => (l.length >= 1 ? l : undefined), 30_000, 'the restored counter')
    t.equal(Number(lines[0]), last + 1, 'the restored counter continues where it stopped')
    r.child.kill('SIGTERM')
    await r.exited
  })

  t.test('a DIR the coordinator may no longer write: "Permission denied"', async (t) => {
    const w = new World()
    t.teardown(() => w.cleanup())
    const user = testUser()
    const counter = await build('counter')
    const dir = join(w.base, 'ck')
    w.sh(ROOT, `mkdir -m 0700 ${dir} && chown ${user.name} ${dir}`)
    const app = w.spawn(user, ['launch', '--dir', dir, '--', counter, '50'])
    await app.out.until((l) => l.length >= 2, 30_000, 'the counter')
    w.sh(ROOT, `chmod 0500 ${dir}`)
    const denied = await w.run(user, ['checkpoint', '--dir', dir])
    t.equal(denied.code, 5)
    t.same(denied.lines, [`amber: generation 1 failed: cannot create ${join(dir, 'gen-000001')}: Permission denied`])
    w.sh(ROOT, `chmod 0700 ${dir}`)
    const ok = await w.run(user, ['checkpoint', '--dir', dir, '--kill'])
    t.equal(ok.code, 0, `then a good one (${ok.stderr.trim()})`)
    t.equal(readlinkSync(join(dir, 'latest')), 'gen-000002')
    await app.exited
  })
}
