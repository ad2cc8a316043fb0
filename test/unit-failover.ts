// No single point of failure, with the real agent (build/Release/libamber.so) in a real process
// (test/fixtures/counter.c):
//  1. the coordinator (`amber coordinator --dir D`, a child process) is SIGKILLed while the app
//     runs: the app keeps running; a coordinator started again on D re-adopts it under its vpid
//     (the agent reconnects every second), the next checkpoint succeeds, and that generation
//     restarts (the counter continues).
//  2. a process dying mid-checkpoint fails that generation cleanly: the other process resumes,
//     the generation's directory is removed, `latest` still names the previous generation, and
//     that generation restarts.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, readlinkSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { checkpoint as clientCheckpoint, status as clientStatus } from '../lib/client.js'
import { Coordinator } from '../lib/coordinator.js'
import { launch, type Job } from '../lib/launch.js'
import { restart } from '../lib/restart.js'
import { readImage } from '../lib/image.js'
import { readManifest } from '../lib/manifest.js'
import { build } from './helpers/fixtures.js'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const cli = join(root, 'dist', 'lib', 'cli.js')

function ensureNative(): string | undefined {
  const agent = join(root, 'build', 'Release', 'libamber.so')
  if (!existsSync(agent) || !existsSync(join(root, 'build', 'Release', 'amber.node'))) {
    try {
      execFileSync('npx', ['node-gyp', 'rebuild'], { cwd: root, stdio: 'ignore', timeout: 300_000 })
    } catch (e) {
      return `cannot build the native pieces: ${(e as Error).message}`
    }
  }
  if (!existsSync(cli)) return `${cli} is missing (npx tsc -p tsconfig.json)`
  return undefined
}

/** Numbers a counter prints, as they come. */
class Numbers {
  readonly seen: number[] = []
  private buf = ''
  constructor(stream: Readable | null) {
    stream?.setEncoding('utf8')
    stream?.on('data', (d: string) => {
      this.buf += d
      let nl
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const l = this.buf.slice(0, nl).trim()
        this.buf = this.buf.slice(nl + 1)
        if (/^\d+$/.test(l)) this.seen.push(Number(l))
      }
    })
  }
  get last(): number {
    return this.seen[this.seen.length - 1] ?? 0
  }
  async waitCount(n: number, ms = 15_000): Promise<void> {
    const deadline = Date.now() + ms
    while (this.seen.length < n) {
      if (Date.now() > deadline) throw new Error(`timeout: ${this.seen.length} of ${n} numbers`)
      await sleep(20)
    }
  }
  /** Waits for `more` numbers beyond those seen now. */
  async waitMore(more: number, ms = 15_000): Promise<void> {
    await this.waitCount(this.seen.length + more, ms)
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await f().catch(() => undefined)
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timeout waiting for ${what}`)
    await sleep(100)
  }
}

function startCoordinator(dir: string): Promise<ChildProcess> {
  const c = spawn(process.execPath, [cli, 'coordinator', '--dir', dir], { stdio: ['ignore', 'ignore', 'pipe'] })
  return new Promise((res, rej) => {
    let err = ''
    c.stderr!.setEncoding('utf8')
    c.stderr!.on('data', (d: string) => {
      err += d
      if (err.includes('listening at')) res(c)
    })
    c.once('exit', (code) => rej(new Error(`coordinator exited ${code}: ${err}`)))
  })
}

const why = ensureNative()

t.test('the app survives its coordinator; a new coordinator re-adopts it and checkpoints', { skip: why ?? false }, async (t) => {
  const counter = await build('counter')
  const dir = await mkdtemp(join(tmpdir(), 'amber-failover-'))
  const jobs: Job[] = []
  const coords: ChildProcess[] = []
  t.teardown(async () => {
    for (const j of jobs) j.kill('SIGKILL')
    for (const c of coords) c.kill('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  coords.push(await startCoordinator(dir))
  const app = await launch([counter, '50'], { dir, stdio: ['ignore', 'pipe', 'inherit'] })
  jobs.push(app)
  t.equal(app.coordinator, null, 'launch used the running coordinator')
  const nums = new Numbers(app.stdout)
  await nums.waitCount(3)
  const before = await until('registration', async () => {
    const s = await clientStatus({ dir })
    return s.processes.find((p) => p.pid === app.pid && p.state === 'running')
  })
  t.equal(before.vpid, 1)
  const first = await clientCheckpoint({ dir })
  t.equal(first.generation, 1, 'a first generation with the first coordinator')

  // SIGKILL the coordinator: nothing of it is left to say goodbye.
  coords[0]!.kill('SIGKILL')
  await new Promise((r) => coords[0]!.once('exit', r))
  const atKill = nums.last
  await nums.waitMore(20)
  t.ok(nums.last >= atKill + 20, `the app kept running without a coordinator (${atKill} -> ${nums.last})`)
  await t.rejects(clientStatus({ dir }), { code: 'ENOCOORD' }, 'no coordinator now')

  // A new coordinator on the same DIR: the agent reconnects with its vpid and is adopted.
  coords.push(await startCoordinator(dir))
  const adopted = await until('re-adoption', async () => {
    const s = await clientStatus({ dir })
    return s.processes.find((p) => p.pid === app.pid && p.state === 'running')
  })
  t.equal(adopted.vpid, before.vpid, 're-adopted under the same vpid')
  t.equal((await clientStatus({ dir })).processes.length, 1, 'one process, not two')

  const ck = await clientCheckpoint({ dir })
  t.equal(ck.generation, 2, 'the next checkpoint succeeds, numbered after the first')
  t.equal(readlinkSync(join(dir, 'latest')), 'gen-000002')
  const info = readImage(ck.images[0]!)
  t.equal(info.vpid, 1, 'the image is of vpid 1')
  t.equal(info.pid, app.pid, 'and of the running process')
  const atCk = nums.last
  await nums.waitMore(5)
  t.ok(nums.last > atCk, 'the app resumed after the checkpoint')

  // The generation taken by the new coordinator restarts: end the app, restart, it continues.
  const killed = await clientCheckpoint({ dir, kill: true })
  t.equal(killed.generation, 3)
  await app.exited
  const lastBefore = nums.last
  const r = await restart(undefined, { dir, stdio: ['ignore', 'pipe', 'inherit'] })
  jobs.push(r)
  const after = new Numbers(r.stdout)
  await after.waitCount(3)
  t.ok(after.seen[0]! > atCk && after.seen[0]! <= lastBefore + 1, `the restored counter continues (${lastBefore} before, ${after.seen[0]} after)`)
  t.same(after.seen.slice(0, 3), [after.seen[0], after.seen[0]! + 1, after.seen[0]! + 2], 'and counts on')
})

t.test('a process dying mid-checkpoint fails that generation cleanly', { skip: why ?? false }, async (t) => {
  const counter = await build('counter')
  const dir = await mkdtemp(join(tmpdir(), 'amber-failover-'))
  const coord = await Coordinator.start({ dir, timeout: 20 })
  const jobs: Job[] = []
  t.teardown(async () => {
    for (const j of jobs) j.kill('SIGKILL')
    await coord.close()
    await rm(dir, { recursive: true, force: true })
  })
  const a = await launch([counter, '30'], { coordinator: coord, stdio: ['ignore', 'pipe', 'inherit'] })
  const b = await launch([counter, '30'], { coordinator: coord, stdio: ['ignore', 'pipe', 'inherit'] })
  jobs.push(a, b)
  const na = new Numbers(a.stdout)
  const nb = new Numbers(b.stdout)
  await na.waitCount(3)
  await nb.waitCount(3)
  await until('two registrations', async () => (coord.processes().filter((p) => p.state === 'running').length === 2 ? true : undefined))

  const vpidOf = (pid: number) => coord.processes().find((p) => p.pid === pid)!.vpid
  const va = vpidOf(a.pid)
  const preG1 = new Map([[va, na.last], [vpidOf(b.pid), nb.last]])
  const g1 = await coord.checkpoint()
  const postG1 = new Map([[va, na.last], [vpidOf(b.pid), nb.last]])
  t.equal(g1.generation, 1)
  t.equal(g1.images.length, 2)

  // Generation 2: once every process is suspended, b dies.
  const vpidB = coord.processes().find((p) => p.pid === b.pid)!.vpid
  coord.once('suspend', () => {
    process.kill(b.pid, 'SIGKILL')
  })
  const err = await coord.checkpoint().then(
    () => undefined,
    (e: unknown) => e as Error & { code?: string },
  )
  t.match(err, { code: 'ECHECKPOINT', message: new RegExp(`generation 2 failed: vpid ${vpidB} .*disconnected`) }, 'the generation fails')
  t.notOk(existsSync(join(dir, 'gen-000002')), 'its directory is removed')
  t.equal(readlinkSync(join(dir, 'latest')), 'gen-000001', 'latest still names generation 1')
  t.equal(coord.generation, 1)
  const atFail = na.last
  await na.waitMore(10)
  t.ok(na.last >= atFail + 10, `the survivor resumed (${atFail} -> ${na.last})`)
  t.same(coord.processes().map((p) => [p.pid, p.state]), [[a.pid, 'running']], 'the survivor is running, the dead one gone')
  await b.exited

  // A later generation of the survivor works.
  const g3 = await coord.checkpoint()
  t.equal(g3.generation, 3, 'the next generation succeeds (numbers are not reused)')

  // Generation 1 is intact: restart it (both processes) and both counters continue.
  a.kill('SIGKILL')
  await a.exited
  const r = await restart(g1.manifest, { coordinator: coord, stdio: ['ignore', 'pipe', 'inherit'] })
  jobs.push(...r.processes)
  t.equal(r.processes.length, 2, 'both processes of generation 1 restored')
  const restored = r.processes.map((j) => new Numbers(j.stdout))
  for (const n of restored) await n.waitCount(3)
  const m = await readManifest(g1.manifest)
  for (const [i, n] of restored.entries()) {
    // r.processes is in manifest order
    const v = m.processes[i]!.vpid
    const lo = preG1.get(v)!
    const hi = postG1.get(v)!
    t.ok(n.seen[0]! >= lo + 1 && n.seen[0]! <= hi + 1, `restored vpid ${v} continues from generation 1 (printed ${lo}..${hi} around it, restored prints ${n.seen[0]})`)
    t.same(n.seen.slice(0, 3), [n.seen[0], n.seen[0]! + 1, n.seen[0]! + 2], `restored process ${i} counts on`)
  }
})
