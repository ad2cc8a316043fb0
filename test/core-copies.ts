// `amber restart --copies 3`: three independent computations from one generation. The counter is
// checkpointed (--kill) and restarted as three copies, each with its own coordinator and checkpoint
// directory (DIR.copy-<i>) and its output in files there (--copy-output). Each copy must go on from
// the checkpointed number on its own; checkpointing one copy (--kill) and restarting it alone
// continues that copy, and neither that nor killing another copy stops the third. The generation
// restarted from is never written. Bad --copies values and the API's copies: 0 are refused.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { firstGap, ints, running, setup, sleep } from './helpers/amber.js'

/** The numbers in a copy's stdout file so far (a line being written is left out). */
function numbersIn(path: string): number[] {
  let text = ''
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    return []
  }
  const lines = text.split('\n')
  lines.pop() // after the last newline: empty, or a line not finished yet
  return ints(lines)
}

async function waitNumbers(path: string, n: number, ms = 30_000): Promise<number[]> {
  const deadline = Date.now() + ms
  for (;;) {
    const xs = numbersIn(path)
    if (xs.length >= n) return xs
    if (Date.now() > deadline) throw new Error(`${path}: ${xs.length} numbers after ${ms} ms (want ${n}): ${xs.slice(-5).join(' ')}`)
    await sleep(100)
  }
}

/** Name, size and mtime of every file below dir: what "never written" compares. */
function snapshot(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: false } as { recursive: true })
    .map(String)
    .sort()
    .map((f) => {
      const st = statSync(join(dir, f))
      return `${f} ${st.size} ${st.mtimeMs}`
    })
}

t.test('restart --copies 3: three counters, each on its own', async (t) => {
  const a = await setup(t)
  const counter = await build('counter')

  // bad values: a usage error, one line, nothing started
  for (const bad of ['0', '-1', '1.5', 'x', '257']) {
    const r = await a.run(['restart', '--dir', a.dir, '--copies', bad])
    t.equal(r.code, 2, `--copies ${bad}: exit 2`)
    t.equal(r.stderr.trim().split('\n').length, 1, `--copies ${bad}: one line: ${r.stderr.trim()}`)
    t.match(r.stderr, /--copies/, '... naming --copies')
  }

  const app = a.launch([counter, '100'])
  await app.waitLines(5)
  const ck = await a.checkpoint({ kill: true })
  await app.wait(20_000)
  const last = ints(app.lines).at(-1)!
  t.ok(last >= 5, `counted to ${last} before the checkpoint`)
  const genDir = join(ck.manifest, '..')
  const before = snapshot(genDir)

  const r = a.spawn(['restart', '--dir', a.dir, '--copies', '3', '--copy-output'])
  const lines = await r.waitLines(3)
  const copies = lines.map((l) => /^copy (\d+) pid (\d+) dir (.+)$/.exec(l))
  t.ok(copies.every((m) => m !== null), `one line per copy: ${JSON.stringify(lines)}`)
  const dirs = copies.map((m) => m![3]!)
  const pids = copies.map((m) => Number(m![2]))
  t.same(copies.map((m) => Number(m![1])), [1, 2, 3], 'copies 1, 2, 3 in order')
  t.same(dirs, [1, 2, 3].map((i) => `${a.dir}.copy-${i}`), 'each copy in DIR.copy-<i>')
  t.equal(new Set(pids).size, 3, `three processes: ${pids.join(' ')}`)

  // each copy counts on from the checkpoint, by itself
  for (const [i, d] of dirs.entries()) {
    const xs = await waitNumbers(join(d, 'stdout'), 5)
    t.equal(xs[0], last + 1, `copy ${i + 1} starts at ${last + 1}`)
    t.equal(firstGap(xs), -1, `copy ${i + 1} counts without gap or repeat`)
  }
  t.equal(running(a, counter).length, 3, 'three restored counters run')

  // copy 2: checkpointed (--kill) into its own directory, then restarted alone
  const ck2 = await a.checkpoint({ dir: dirs[1], kill: true })
  t.equal(ck2.manifest, join(dirs[1]!, 'gen-000001', 'manifest.json'), 'copy 2 checkpoints into its own directory')
  const last2 = numbersIn(join(dirs[1]!, 'stdout')).at(-1)!
  const n1 = numbersIn(join(dirs[0]!, 'stdout')).length
  const n3 = numbersIn(join(dirs[2]!, 'stdout')).length
  await sleep(500)
  t.ok(numbersIn(join(dirs[0]!, 'stdout')).length > n1, 'copy 1 counts on while copy 2 is checkpointed and killed')
  t.ok(numbersIn(join(dirs[2]!, 'stdout')).length > n3, 'copy 3 counts on while copy 2 is checkpointed and killed')
  t.equal(r.exit, null, 'restart --copies still waits for its other copies')

  const r2 = a.restart({ dir: dirs[1] })
  const post2 = ints(await r2.waitLines(5))
  t.equal(post2[0], last2 + 1, `copy 2 restarted alone goes on from ${last2 + 1}`)
  t.equal(firstGap(post2), -1, 'copy 2 counts on without gap or repeat')

  // killing copy 3 leaves copy 1 (and the restarted copy 2) running
  process.kill(pids[2]!, 'SIGKILL')
  await sleep(300)
  const k1 = numbersIn(join(dirs[0]!, 'stdout')).length
  const k2 = r2.lines.length
  await sleep(600)
  t.ok(numbersIn(join(dirs[0]!, 'stdout')).length > k1, 'copy 1 counts on after copy 3 was killed')
  t.ok(r2.lines.length > k2, 'copy 2 counts on after copy 3 was killed')
  const xs1 = numbersIn(join(dirs[0]!, 'stdout'))
  t.equal(firstGap(xs1), -1, `copy 1 never skipped: ${xs1[0]}..${xs1.at(-1)}`)

  // a copy that cannot start fails alone, saying why: copies 1 and 2 run in their directories
  // (their coordinators answer), copy 3's is free again
  const again = a.spawn(['restart', '--dir', a.dir, '--copies', '3', '--copy-output'])
  const agl = await again.waitLines(3)
  t.match(agl[0], new RegExp(`^copy 1 failed dir ${a.dir}\\.copy-1$`), `copy 1 failed: ${agl[0]}`)
  t.match(agl[1], new RegExp(`^copy 2 failed dir ${a.dir}\\.copy-2$`), `copy 2 failed: ${agl[1]}`)
  const m3 = /^copy 3 pid (\d+) dir /.exec(agl[2] ?? '')
  t.ok(m3, `copy 3 started again: ${agl[2]}`)
  await again.err.until((l) => l.length >= 2, 5_000, 'two messages').catch(() => undefined)
  t.match(again.err.text(), /copy 1: a computation is running at .*\.copy-1/, 'copy 1 says why, by number')
  t.match(again.err.text(), /copy 2: a computation is running at .*\.copy-2/, 'copy 2 says why, by number')
  const xs3 = await waitNumbers(join(dirs[2]!, 'stdout'), 3)
  t.equal(xs3[0], last + 1, 'the new copy 3 starts from the generation')
  process.kill(Number(m3![1]), 'SIGKILL')
  const exa = await again.wait(20_000)
  t.equal(exa.code, 6, `exits with the status of copy 1's failure (EBUSY: 6), not 0`)
  t.ok(numbersIn(join(dirs[0]!, 'stdout')).length > xs1.length, 'copy 1 ran on through all that')

  t.same(snapshot(genDir), before, 'the generation restarted from is unchanged')

  // copy 1 ends: restart --copies exits, with the status of the first copy that did not exit 0
  process.kill(pids[0]!, 'SIGKILL')
  const ex = await r.wait(20_000)
  t.equal(ex.code, 137, `restart --copies exits 137 (copy 1 killed) (stderr: ${r.err.text().trim()})`)
  t.match(r.err.text(), /copy 1 exited with status 137/, 'says which copy ended how')
  r2.kill('SIGKILL')
})

/** A TCP port free on 127.0.0.1 just now. */
function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer()
    srv.once('error', rej)
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port
      srv.close(() => res(p))
    })
  })
}

/** Lines of a copy's file so far (complete lines only). */
function linesIn(path: string): string[] {
  try {
    const l = readFileSync(path, 'utf8').split('\n')
    l.pop()
    return l
  } catch {
    return []
  }
}

// A listener on a fixed port is a name only one process may own: the first copy to restore takes
// it, the other says so on its own stderr and listens elsewhere; both count on.
t.test('restart --copies 2 of a fixed-port listener: the second copy says so, alone', async (t) => {
  const a = await setup(t)
  const bin = await build('portcounter')
  const port = await freePort()
  const app = a.launch([bin, String(port)])
  await app.waitLines(3)
  await a.checkpoint({ kill: true })
  await app.wait(20_000)
  const r = a.spawn(['restart', '--dir', a.dir, '--copies', '2', '--copy-output'])
  const lines = await r.waitLines(2)
  const pids = lines.map((l) => Number(/^copy \d+ pid (\d+) /.exec(l)?.[1]))
  t.ok(pids.every((p) => p > 0), `both copies run: ${JSON.stringify(lines)}`)
  const dirs = [1, 2].map((i) => `${a.dir}.copy-${i}`)
  const deadline = Date.now() + 20_000
  while (dirs.some((d) => linesIn(join(d, 'stdout')).length < 3) && Date.now() < deadline) await sleep(100)
  const ports = dirs.map((d) => Number(/port (\d+)$/.exec(linesIn(join(d, 'stdout')).at(-1) ?? '')?.[1]))
  const errs = dirs.map((d) => linesIn(join(d, 'stderr')).join('\n'))
  // which copy restored first is a race: one has the port, the other says it listens elsewhere
  const owner = ports.indexOf(port)
  t.ok(owner >= 0, `one copy listens on ${port} again: ${ports.join(' ')}`)
  const other = 1 - owner
  t.not(ports[other], port, `copy ${other + 1} listens on another port (${ports[other]})`)
  t.equal(errs[owner], '', `copy ${owner + 1} said nothing`)
  t.match(errs[other], new RegExp(`port ${port} is still taken.*listens on port ${ports[other]} instead`), `copy ${other + 1} says so on its own stderr: ${errs[other]}`)
  t.equal(r.err.text().trim(), '', 'nothing on the shared stderr')
  for (const p of pids) process.kill(p, 'SIGKILL')
  await r.wait(20_000)
})

t.test('the API refuses bad copies with EINVAL', async (t) => {
  const { restart } = await import('../dist/lib/index.js')
  for (const bad of [0, -2, 1.5, Number.NaN, 100000]) {
    await t.rejects(restart('/nonexistent', { copies: bad }), { code: 'EINVAL' }, `copies: ${bad}`)
  }
  await t.rejects(restart('/nonexistent', { copies: 2, coord: 'x.sock' }), { code: 'EINVAL' }, 'copies with coord')
})
