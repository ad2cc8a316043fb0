// The counter: after `checkpoint --kill` and `restart`, the first number printed is exactly the
// one after the last number printed before the checkpoint — no gap, no repeat — and it keeps
// counting. Also checks what checkpoint leaves on disk (manifest, image 0600, latest link) and that
// status/inspect answer.
import { lstatSync, readFileSync, readlinkSync, statSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { checkpointKillRestart, firstGap, ints, runAs, running, setup } from './helpers/amber.js'

t.test('counter continues after checkpoint --kill and restart', async (t) => {
  const a = await setup(t)
  const counter = await build('counter')
  const app = a.launch([counter, '100'])
  await app.waitLines(5)

  // status while it runs: the contract's minimum shape, and our process in the list.
  const st = await a.run(['status', '--dir', a.dir, '--json'])
  t.equal(st.code, 0, `status exits 0 (stderr: ${st.stderr.trim()})`)
  const status = JSON.parse(st.stdout) as { coordinator?: { pid?: number }; processes?: { pid: number; cmd: string }[] }
  t.type(status.coordinator?.pid, 'number', 'status has coordinator.pid')
  t.ok(
    status.processes?.some((p) => String(p.cmd).includes('counter')),
    `status lists the counter: ${JSON.stringify(status.processes)}`,
  )

  const { ck, before, restarted, leftover } = await checkpointKillRestart(a, app, { after: 8, exe: counter })
  t.same(leftover, [], 'checkpoint --kill left no counter running')

  // what the checkpoint wrote
  t.match(ck.manifest, /gen-\d{6}[/\\]manifest\.json$/, 'manifest path in a gen-NNNNNN dir')
  t.ok(statSync(ck.manifest).isFile(), 'manifest exists')
  t.ok(Array.isArray(ck.images) && ck.images.length === 1, `one image: ${JSON.stringify(ck.images)}`)
  const img = ck.images[0]!
  const ist = statSync(img)
  t.equal(ist.mode & 0o777, 0o600, 'image is mode 0600')
  t.ok(ist.size > 0 && ist.size < 64 << 20, `image size is sane (${ist.size} bytes)`)
  t.equal(basename(img), 'p1.img', 'image is p1.img')
  t.equal(dirname(img), dirname(ck.manifest), 'image sits next to its manifest')
  const latest = join(a.dir, 'latest')
  t.ok(lstatSync(latest).isSymbolicLink(), 'DIR/latest is a symlink')
  t.equal(basename(readlinkSync(latest)), basename(dirname(ck.manifest)), 'latest points at the new generation')

  const ins = await a.run(['inspect', img, '--json'])
  t.equal(ins.code, 0, `inspect exits 0 (stderr: ${ins.stderr.trim()})`)
  t.doesNotThrow(() => JSON.parse(ins.stdout), 'inspect --json prints JSON')

  // continuation
  const pre = ints(before)
  t.ok(pre.length >= 5, `at least 5 numbers before the checkpoint (${pre.length})`)
  t.equal(firstGap(pre), -1, `counted 1..${pre.at(-1)} without a gap before the checkpoint`)
  t.equal(pre[0], 1, 'counter started at 1')
  const last = pre.at(-1)!
  const post = ints(restarted.lines)
  t.same(restarted.lines.slice(0, post.length), post.map(String), 'restored app prints only numbers')
  t.equal(post[0], last + 1, `first number after restart is ${last + 1} (last before checkpoint was ${last})`)
  t.equal(firstGap(post), -1, `restored counter counts on without gap or repeat: ${post.join(' ')}`)
  t.ok(post.length >= 8, 'restored counter keeps counting')
  t.equal(restarted.exit, null, 'restart is still running (foreground, like the app)')
  const restored = running(a, counter)
  t.equal(restored.length, 1, 'the restored counter is a live process with its original command line')

  // who ran it: with AMBER_TEST_AS the whole computation is the unprivileged user's
  const uid = runAs()?.uid ?? process.getuid!()
  t.equal(ist.uid, uid, `image owned by uid ${uid}`)
  for (const p of restored) {
    const m = /^Uid:\s+(\d+)\s+(\d+)/m.exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'))
    t.same([Number(m?.[1]), Number(m?.[2])], [uid, uid], `restored counter runs as uid ${uid}`)
  }
})
