// A JVM (issue 10): `amber launch -- java ...` checkpointed at once — while the JVM is still
// starting (class loading, JIT and GC threads coming up) — then live again mid-run, then with
// --kill, and restarted: the program's ticks go on by one with its HashMap intact (size and sum
// of k*k over every entry, recomputed by the program each tick and checked here) to DONE.
// Needs a JDK (javac, java): installed with apt-get when missing and running as root.
import t from 'tap'
import { execFile, spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { cacheDir, fixturesDir } from './helpers/fixtures.js'
import { setup, sleep } from './helpers/amber.js'

const run = promisify(execFile)
const TICKS = 120

t.setTimeout(600_000)

function have(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0
}

function ensureJdk(): string | undefined {
  if (have('java') && have('javac')) return undefined
  if (process.getuid?.() !== 0) return 'no JDK (java, javac); run the tests as root once to install default-jdk-headless'
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  let r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'default-jdk-headless'], { env, encoding: 'utf8', timeout: 900_000 })
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore', timeout: 300_000 })
    r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'default-jdk-headless'], { env, encoding: 'utf8', timeout: 900_000 })
  }
  return r.status === 0 && have('java') ? undefined : `cannot install a JDK with apt-get (status ${r.status})`
}

/** Sum of k*k for k < n*100 (a long, as Java computes it: it does not overflow here). */
function expected(n: number): bigint {
  const m = BigInt(n * 100)
  return ((m - 1n) * m * (2n * m - 1n)) / 6n
}

async function compile(): Promise<string> {
  const src = join(fixturesDir, 'JvmTicks.java')
  const out = join(cacheDir, 'jvm')
  mkdirSync(out, { recursive: true, mode: 0o755 })
  chmodSync(out, 0o755)
  const cls = join(out, 'JvmTicks.class')
  let fresh = false
  try {
    fresh = statSync(cls).mtimeMs >= statSync(src).mtimeMs
  } catch {
    // not compiled yet
  }
  if (!fresh) await run('javac', ['-d', out, src])
  chmodSync(cls, 0o644)
  return out
}

t.test('a JVM checkpointed while it starts, live, then killed and restarted, goes on', async (t) => {
  const why = ensureJdk()
  if (why) return t.skip(why)
  const classes = await compile()
  const a = await setup(t)
  const app = a.launch(['java', '-Xmx128m', '-Xss512k', '-cp', classes, 'JvmTicks', String(TICKS)])
  // at once: as soon as the coordinator listens, while the JVM is still starting (the checkpoint
  // waits for a process of the computation that has not said hello yet)
  const sock = join(a.dir, '.amber', 'coord.sock')
  for (let i = 0; i < 600 && !existsSync(sock); i++) await sleep(50)
  const first = await a.checkpoint()
  t.ok(first.images.length >= 1, 'a checkpoint taken while the JVM starts')
  await app.waitLines(10, 60_000)
  await a.checkpoint()
  await app.waitLines(20, 60_000)
  const ck = await a.checkpoint({ kill: true })
  t.ok(ck.images.length >= 1, 'checkpoint --kill')
  await app.wait(30_000)
  const parse = (l: string) => {
    const m = /^tick (\d+) size (\d+) sum (\d+)$/.exec(l)
    return m ? { n: Number(m[1]), size: Number(m[2]), sum: BigInt(m[3]!) } : null
  }
  const before = app.lines.map(parse).filter((x) => x !== null)
  t.same(before.map((x) => x.n), before.map((_, i) => i + 1), 'ticks 1.. before the restart')
  const last = before.at(-1)!.n

  const restarted = a.restart()
  const ex = await restarted.wait(120_000)
  t.equal(ex.code, 0, `the restarted JVM exits 0; stderr: ${JSON.stringify(restarted.err.lines.slice(-5))}`)
  const after = restarted.lines.map(parse).filter((x) => x !== null)
  t.same(after.map((x) => x.n), Array.from({ length: TICKS - last }, (_, i) => last + 1 + i), `ticks go on from ${last + 1} to ${TICKS}`)
  t.same(after.filter((x) => x.size !== x.n * 100 || x.sum !== expected(x.n)).slice(0, 3), [], 'the map is intact at every tick')
  t.ok(restarted.lines.includes('DONE'), 'the program ends normally')
})
