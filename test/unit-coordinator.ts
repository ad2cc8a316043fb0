// The coordinator's barrier logic, driven by real Unix-socket clients that speak the agent protocol
// of docs/PROTOCOL.md line for line (simulated agents: the protocol is the real one, the processes
// are not). Covers vpid assignment, a good generation (manifest 0600, `latest` flipped), a failing
// generation (error → abort to the others, gen dir removed, latest untouched), a disconnect
// mid-barrier, a timeout, held registrations, restart release, and the status JSON shape.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, lstatSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs'
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { Coordinator } from '../lib/coordinator.js'
import { checkpoint as clientCheckpoint, status as clientStatus } from '../lib/client.js'
import { AmberError } from '../lib/errors.js'

type Behavior = {
  /** Answer for a coordinator line; return undefined to stay silent. */
  onSuspend?: (gen: number) => object | undefined | 'close'
  onWrite?: (gen: number, path: string) => Promise<object | undefined | 'close'>
  onResume?: (gen: number) => object | undefined
}

/** A protocol-level agent: says hello, records every line it receives, answers per `behavior`. */
class FakeAgent {
  sock: net.Socket
  received: string[] = []
  vpid = 0
  private buf = ''
  private waiters: Array<() => void> = []
  closed = false

  constructor(sock: net.Socket, public behavior: Behavior) {
    this.sock = sock
    sock.setEncoding('utf8')
    sock.on('data', (d: string) => {
      this.buf += d
      let nl
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl)
        this.buf = this.buf.slice(nl + 1)
        this.received.push(line)
        void this.react(line)
        for (const w of this.waiters.splice(0)) w()
      }
    })
    sock.on('close', () => {
      this.closed = true
      for (const w of this.waiters.splice(0)) w()
    })
  }

  static async connect(path: string, hello: Record<string, unknown>, behavior: Behavior = okBehavior()): Promise<FakeAgent> {
    const sock = net.connect(path)
    await once(sock, 'connect')
    const a = new FakeAgent(sock, behavior)
    a.send({ t: 'hello', pid: 1000, ppid: 1, vpid: 0, cmd: 'fake', host: 'testhost', restored: false, gen: 0, image: '', ...hello })
    const line = await a.waitFor((l) => l.startsWith('vpid '))
    a.vpid = Number(line.split(' ')[1])
    return a
  }

  send(o: object) {
    this.sock.write(JSON.stringify(o) + '\n')
  }

  /** Resolves with the first received line matching pred (looking at lines already received too). */
  async waitFor(pred: (l: string) => boolean, ms = 5000): Promise<string> {
    const deadline = Date.now() + ms
    for (;;) {
      const hit = this.received.find(pred)
      if (hit !== undefined) return hit
      if (this.closed) throw new Error('agent socket closed while waiting')
      if (Date.now() > deadline) throw new Error(`timeout waiting; received ${JSON.stringify(this.received)}`)
      await new Promise<void>((r) => {
        this.waiters.push(r)
        setTimeout(r, 50)
      })
    }
  }

  private async react(line: string) {
    const [verb, g, ...rest] = line.split(' ')
    const gen = Number(g)
    let ans: object | undefined | 'close'
    if (verb === 'suspend') ans = this.behavior.onSuspend?.(gen)
    else if (verb === 'write') ans = await this.behavior.onWrite?.(gen, rest.join(' '))
    else if (verb === 'resume') ans = this.behavior.onResume?.(gen)
    if (ans === 'close') this.sock.destroy()
    else if (ans !== undefined) this.send(ans)
  }

  close() {
    this.sock.destroy()
  }
}

/** A well-behaved agent: writes a small image durably (tmp + rename) and answers every step. */
function okBehavior(): Behavior {
  return {
    onSuspend: (gen) => ({ t: 'suspended', gen }),
    onWrite: async (gen, path) => {
      const data = Buffer.alloc(8192, 7)
      try {
        await writeFile(`${path}.tmp`, data, { mode: 0o600 })
        await rename(`${path}.tmp`, path)
      } catch (e) {
        // The generation may already have failed elsewhere and its directory been removed
        // (that is the coordinator's job): answer as a real agent would.
        return { t: 'error', gen, message: (e as Error).message }
      }
      return { t: 'written', gen, image: path, bytes: data.length, seconds: 0.001 }
    },
    onResume: (gen) => ({ t: 'resumed', gen }),
  }
}

async function setup(t: TestLike, opts: { timeout?: number } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'amber-unit-'))
  const coord = await Coordinator.start({ dir, ...opts })
  const agents: FakeAgent[] = []
  t.teardown(async () => {
    for (const a of agents) a.close()
    await coord.close()
    await rm(dir, { recursive: true, force: true })
  })
  const agent = async (hello: Record<string, unknown> = {}, behavior?: Behavior) => {
    const a = await FakeAgent.connect(coord.socketPath, hello, behavior)
    agents.push(a)
    return a
  }
  return { dir, coord, agent }
}

/** All these helpers need of a tap test. */
type TestLike = { teardown(fn: () => unknown): void }

t.test('socket, vpids, parents and status shape', async (t) => {
  const { dir, coord, agent } = await setup(t)
  t.equal(coord.socketPath, join(dir, '.amber', 'coord.sock'))
  t.equal(statSync(join(dir, '.amber')).mode & 0o777, 0o700, '.amber is 0700')
  t.equal(statSync(coord.socketPath).mode & 0o777, 0o600, 'socket is 0600')

  const registered: number[] = []
  coord.on('register', (p) => registered.push(p.vpid))
  const a = await agent({ pid: 2001, ppid: 1, cmd: 'parent prog' })
  const b = await agent({ pid: 2002, ppid: 2001, cmd: 'child prog' })
  t.equal(a.vpid, 1, 'first vpid is 1')
  t.equal(b.vpid, 2, 'second vpid is 2')
  t.same(registered, [1, 2], 'register events')

  const st = await clientStatus({ dir })
  t.equal(st.ok, true)
  t.match(st.coordinator, { pid: process.pid, dir, listen: coord.socketPath })
  t.equal(st.generation, 0, 'no generation yet')
  t.same(st.processes, [
    { vpid: 1, pid: 2001, parent: 0, host: 'testhost', cmd: 'parent prog', state: 'running' },
    { vpid: 2, pid: 2002, parent: 1, host: 'testhost', cmd: 'child prog', state: 'running' },
  ])

  const exited = once(coord, 'exit')
  b.close()
  const [ex] = (await exited) as [{ vpid: number; state: string }]
  t.equal(ex.vpid, 2, 'exit event for the closed agent')
  t.equal(ex.state, 'exited')
  t.equal(coord.processes().length, 1)

  // a live coordinator refuses a second one on the same socket
  await t.rejects(Coordinator.start({ dir }), { code: 'EBUSY' })
})

t.test('stale socket is replaced', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'amber-unit-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await mkdir(join(dir, '.amber'), { mode: 0o700 })
  writeFileSync(join(dir, '.amber', 'coord.sock'), '') // nothing answers there: ECONNREFUSED
  const c = await Coordinator.start({ dir })
  t.ok(statSync(c.socketPath).isSocket(), 'a socket now')
  await c.close()
  t.notOk(existsSync(c.socketPath), 'close() removes the socket')
})

t.test('a good generation: manifest 0600, latest flipped, resume', async (t) => {
  const { dir, coord, agent } = await setup(t)
  await mkdir(join(dir, 'gen-000041')) // numbering continues after what DIR holds
  const a = await agent({ pid: 3001, cmd: 'a' })
  const b = await agent({ pid: 3002, ppid: 3001, cmd: 'b' })
  const events: string[] = []
  coord.on('suspend', (e) => events.push(`suspend ${e.generation} ${e.processes}`))
  coord.on('checkpoint', (e) => events.push(`checkpoint ${e.generation}`))
  coord.on('resume', (e) => events.push(`resume ${e.generation}`))

  const r = await clientCheckpoint({ dir })
  t.equal(r.generation, 42, 'generation after the highest gen-* in DIR')
  const gdir = join(dir, 'gen-000042')
  t.equal(r.manifest, join(gdir, 'manifest.json'))
  t.same(r.images, [join(gdir, 'p1.img'), join(gdir, 'p2.img')])
  t.equal(r.bytes, 16384)
  t.type(r.seconds, 'number')
  t.same(events, ['suspend 42 2', 'checkpoint 42', 'resume 42'])

  for (const ag of [a, b]) {
    t.ok(ag.received.includes('suspend 42'), `vpid ${ag.vpid} got suspend`)
    t.ok(ag.received.includes(`write 42 ${join(gdir, `p${ag.vpid}.img`)}`), `vpid ${ag.vpid} got write with its path`)
    t.ok(ag.received.includes('resume 42'), `vpid ${ag.vpid} got resume`)
  }
  const st = statSync(r.manifest)
  t.equal(st.mode & 0o777, 0o600, 'manifest is 0600')
  t.equal(statSync(gdir).mode & 0o777, 0o700, 'gen dir is 0700')
  t.notOk(existsSync(`${r.manifest}.tmp`), 'no manifest.json.tmp left')
  const m = JSON.parse(readFileSync(r.manifest, 'utf8'))
  t.match(m, {
    amber: 1,
    generation: 42,
    dir,
    bytes: 16384,
    processes: [
      { vpid: 1, pid: 3001, parent: 0, host: 'testhost', cmd: 'a', image: 'p1.img', bytes: 8192 },
      { vpid: 2, pid: 3002, parent: 1, host: 'testhost', cmd: 'b', image: 'p2.img', bytes: 8192 },
    ],
  })
  t.ok(!Number.isNaN(Date.parse(m.time)), 'time is ISO')
  t.ok(lstatSync(join(dir, 'latest')).isSymbolicLink(), 'latest is a symlink')
  t.equal(readlinkSync(join(dir, 'latest')), 'gen-000042', 'latest -> gen-000042 (relative)')
  t.notOk(existsSync(join(dir, 'latest.tmp')))
  t.equal(coord.generation, 42)
  t.same(coord.processes().map((p) => p.state), ['running', 'running'], 'running again')

  const r2 = await coord.checkpoint()
  t.equal(r2.generation, 43)
  t.equal(readlinkSync(join(dir, 'latest')), 'gen-000043', 'latest flipped to the new generation')
  t.equal((await clientStatus({ dir })).generation, 43, 'status reports the latest generation')
})

t.test('concurrent checkpoints run one after the other', async (t) => {
  const { coord, agent } = await setup(t)
  await agent()
  const [x, y] = await Promise.all([coord.checkpoint(), coord.checkpoint()])
  t.same([x.generation, y.generation], [1, 2])
})

t.test('an agent error fails the generation: abort to all, gen dir removed, latest unchanged', async (t) => {
  const { dir, coord, agent } = await setup(t)
  const a = await agent({ pid: 4001 })
  const bad = okBehavior()
  let failWrites = false
  const b = await agent(
    { pid: 4002 },
    {
      ...bad,
      onWrite: async (gen, path) => (failWrites ? { t: 'error', gen, message: 'disk full (simulated)' } : bad.onWrite!(gen, path)),
    },
  )
  const good = await coord.checkpoint()
  t.equal(good.generation, 1)

  failWrites = true
  const err = await coord.checkpoint().then(
    () => undefined,
    (e: unknown) => e,
  )
  t.ok(err instanceof AmberError, 'rejects with an AmberError')
  t.match(err, { code: 'ECHECKPOINT', message: /generation 2 failed: vpid 2 \(pid 4002.*disk full \(simulated\)/ })
  t.notOk(existsSync(join(dir, 'gen-000002')), 'the incomplete gen dir is removed')
  t.equal(readlinkSync(join(dir, 'latest')), 'gen-000001', 'latest still names the good generation')
  await a.waitFor((l) => l === 'abort 2')
  await b.waitFor((l) => l === 'abort 2')
  t.notOk(a.received.includes('resume 2'), 'no resume for a failed generation')
  t.equal(coord.generation, 1)
  t.same(coord.processes().map((p) => p.state), ['running', 'running'])

  // the failure leaves the coordinator usable
  failWrites = false
  const again = await coord.checkpoint()
  t.equal(again.generation, 3, 'generation numbers are not reused')
  t.equal(readlinkSync(join(dir, 'latest')), 'gen-000003')
})

t.test('an agent disconnecting mid-barrier fails the generation', async (t) => {
  const { dir, coord, agent } = await setup(t)
  const a = await agent({ pid: 5001 })
  await agent({ pid: 5002 }, { ...okBehavior(), onSuspend: () => 'close' })
  const exits: number[] = []
  coord.on('exit', (p) => exits.push(p.vpid))
  await t.rejects(coord.checkpoint(), { code: 'ECHECKPOINT', message: /vpid 2 \(pid 5002\b.*\) disconnected during the checkpoint/ })
  await a.waitFor((l) => l === 'abort 1')
  t.notOk(existsSync(join(dir, 'gen-000001')), 'no gen dir')
  t.notOk(existsSync(join(dir, 'latest')), 'no latest')
  t.same(exits, [2], 'exit event')

  // disconnect during write, after the gen dir exists
  const { dir: dir2, coord: c2, agent: agent2 } = await setup(t)
  const x = await agent2({ pid: 5101 })
  await agent2({ pid: 5102 }, { ...okBehavior(), onWrite: async () => 'close' })
  await t.rejects(c2.checkpoint(), { code: 'ECHECKPOINT' })
  await x.waitFor((l) => l === 'abort 1')
  t.notOk(existsSync(join(dir2, 'gen-000001')), 'gen dir removed after a disconnect in the write phase')
})

t.test('a phase timeout fails the generation', async (t) => {
  const { dir, coord, agent } = await setup(t, { timeout: 0.3 })
  const a = await agent({ pid: 6001 })
  await agent({ pid: 6002 }, { ...okBehavior(), onSuspend: () => undefined })
  await t.rejects(coord.checkpoint(), { code: 'ECHECKPOINT', message: /no 'suspended' within 0\.3 s from vpid 2/ })
  await a.waitFor((l) => l === 'abort 1')
  t.notOk(existsSync(join(dir, 'gen-000001')))
})

t.test('interval checkpoints', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'amber-unit-'))
  const coord = await Coordinator.start({ dir, interval: 0.2 })
  const a = await FakeAgent.connect(coord.socketPath, { pid: 6501 })
  t.teardown(async () => {
    a.close()
    await coord.close()
    await rm(dir, { recursive: true, force: true })
  })
  await a.waitFor((l) => l === 'resume 2', 5000)
  t.ok(coord.generation >= 2, 'two generations taken on their own')
  t.equal(readlinkSync(join(dir, 'latest')), `gen-00000${coord.generation}`)
})

t.test('checkpoint with nothing registered', async (t) => {
  const { coord } = await setup(t)
  await t.rejects(coord.checkpoint(), { code: 'ENOPROC' })
})

t.test('a process registering during the barrier waits for its vpid until the barrier ends', async (t) => {
  const { coord, agent } = await setup(t)
  let release!: () => void
  const gate = new Promise<void>((r) => (release = r))
  const ok = okBehavior()
  await agent({ pid: 7001 }, { ...ok, onWrite: async (g, p) => (await gate, ok.onWrite!(g, p)) })
  const done = coord.checkpoint()
  await new Promise((r) => setTimeout(r, 100))
  const sock = net.connect(coord.socketPath)
  await once(sock, 'connect')
  let got = ''
  sock.setEncoding('utf8')
  sock.on('data', (d: string) => (got += d))
  sock.write(JSON.stringify({ t: 'hello', pid: 7002, ppid: 7001, vpid: 0, cmd: 'late', host: 'testhost', restored: false, gen: 0, image: '' }) + '\n')
  await new Promise((r) => setTimeout(r, 150))
  t.equal(got, '', 'no vpid while the barrier runs')
  release()
  const r = await done
  t.equal(r.images.length, 1, 'the late process is not in this generation')
  await new Promise((r) => setTimeout(r, 100))
  t.equal(got, 'vpid 2\n', 'answered after the barrier')
  sock.destroy()
})

t.test('checkpoint --kill SIGKILLs every process instead of resuming', async (t) => {
  const { dir, coord, agent } = await setup(t)
  const sleeper = spawn('sleep', ['100'], { stdio: 'ignore' })
  await once(sleeper, 'spawn')
  const gone = once(sleeper, 'exit')
  const { hostname } = await import('node:os')
  const a = await agent({ pid: sleeper.pid, host: hostname() })
  const r = await clientCheckpoint({ dir, kill: true })
  t.equal(r.generation, 1)
  const [code, sig] = await gone
  t.same([code, sig], [null, 'SIGKILL'], 'the process was SIGKILLed')
  t.notOk(a.received.some((l) => l.startsWith('resume')), 'no resume sent')
  t.equal(coord.generation, 1)
})

t.test('restart: restored processes are released together with resume 0', async (t) => {
  const { coord, agent } = await setup(t)
  const restartEvents: number[] = []
  coord.on('restart', (e) => restartEvents.push(e.processes.length))
  const resumed = coord.expectRestart(2)
  const quiet: Behavior = { onResume: (gen) => ({ t: 'resumed', gen }) }
  const a = await agent({ pid: 8001, vpid: 5, restored: true, gen: 3, image: '/x/p5.img' }, quiet)
  const b = await agent({ pid: 8002, vpid: 7, restored: true, gen: 3, image: '/x/p7.img', parent: 5 }, quiet)
  t.equal(a.vpid, 5, 'a restored process keeps its vpid')
  t.equal(b.vpid, 7)
  a.send({ t: 'restarted', gen: 3, pid: 8001 })
  await new Promise((r) => setTimeout(r, 150))
  t.notOk(a.received.includes('resume 0'), 'held until every restored process has restarted')
  t.equal(coord.processes().find((p) => p.vpid === 5)?.state, 'restarting')
  b.send({ t: 'restarted', gen: 3, pid: 8002 })
  const res = await resumed
  t.ok(a.received.includes('resume 0') && b.received.includes('resume 0'), 'both got resume 0')
  t.same(res.processes.map((p) => [p.vpid, p.parent, p.state]), [[5, 0, 'running'], [7, 5, 'running']])
  t.same(restartEvents, [2])
  const c = await agent({ pid: 8003 })
  t.equal(c.vpid, 8, 'new vpids continue after restored ones')
})

t.test('restart fails when a restored process exits before resuming', async (t) => {
  const { coord, agent } = await setup(t)
  const resumed = coord.expectRestart(2)
  const a = await agent({ pid: 9001, vpid: 1, restored: true })
  a.close()
  await t.rejects(resumed, { code: 'ERESTART' })
})

t.test('control protocol errors', async (t) => {
  const { coord } = await setup(t)
  const ask = async (line: string) => {
    const s = net.connect(coord.socketPath)
    await once(s, 'connect')
    s.write(line + '\n')
    let got = ''
    s.setEncoding('utf8')
    s.on('data', (d: string) => (got += d))
    await once(s, 'end')
    return JSON.parse(got)
  }
  t.match(await ask('{"t":"ctl","op":"frobnicate"}'), { ok: false, code: 'EPROTO' })
  t.match(await ask('not json'), { ok: false, code: 'EPROTO' })
  t.match(await ask('{"t":"ctl","op":"checkpoint"}'), { ok: false, code: 'ENOPROC' })
})
