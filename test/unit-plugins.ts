// Protocol v1.1 on the coordinator side, with real socket clients speaking the agent protocol:
// plugins in hello (and the later `plugins` message), the `plugins` control op, plugin `event`s
// re-emitted as typed `plugin` events, publish/lookup (with and without wait), barrier progress
// lines for control clients that ask, re-adoption from DIR/.amber/state.json, and --keep.
import { once } from 'node:events'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { Coordinator } from '../lib/coordinator.js'
import { checkpoint as clientCheckpoint, plugins as clientPlugins, status as clientStatus } from '../lib/client.js'
import type { PluginEvent, ProgressEvent } from '../lib/types.js'

class Peer {
  lines: string[] = []
  private buf = ''
  constructor(readonly sock: net.Socket, readonly autoAnswer = true) {
    sock.setEncoding('utf8')
    sock.on('data', (d: string) => {
      this.buf += d
      let nl
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl)
        this.buf = this.buf.slice(nl + 1)
        this.lines.push(line)
        if (this.autoAnswer) void this.react(line)
      }
    })
  }
  static async agent(path: string, hello: object, autoAnswer = true): Promise<Peer> {
    const s = net.connect(path)
    await once(s, 'connect')
    const p = new Peer(s, autoAnswer)
    p.send({ t: 'hello', pid: process.pid, ppid: 1, vpid: 0, cmd: 'fake', host: 'testhost', restored: false, gen: 0, image: '', ...hello })
    await p.waitFor((l) => l.startsWith('vpid '))
    return p
  }
  get vpid(): number {
    return Number(this.lines.find((l) => l.startsWith('vpid '))!.split(' ')[1])
  }
  send(o: object) {
    this.sock.write(JSON.stringify(o) + '\n')
  }
  async waitFor(pred: (l: string) => boolean, ms = 5000): Promise<string> {
    const deadline = Date.now() + ms
    for (;;) {
      const hit = this.lines.find(pred)
      if (hit !== undefined) return hit
      if (Date.now() > deadline) throw new Error(`timeout; got ${JSON.stringify(this.lines)}`)
      await new Promise((r) => setTimeout(r, 10))
    }
  }
  private async react(line: string) {
    const [verb, g, path] = line.split(' ')
    const gen = Number(g)
    if (verb === 'suspend') this.send({ t: 'suspended', gen })
    else if (verb === 'write') {
      await writeFile(`${path}.tmp`, Buffer.alloc(4096, 1))
      await rename(`${path}.tmp`, path!)
      this.send({ t: 'written', gen, image: path, bytes: 4096, seconds: 0.001 })
    } else if (verb === 'resume' || verb === 'abort') this.send({ t: 'resumed', gen })
  }
  close() {
    this.sock.destroy()
  }
}

async function setup(t: { teardown(f: () => unknown): void }, opts: { keep?: number; adoptTimeout?: number } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'amber-v11-'))
  const coord = await Coordinator.start({ dir, ...opts })
  const peers: Peer[] = []
  t.teardown(async () => {
    for (const p of peers) p.close()
    await coord.close()
    await rm(dir, { recursive: true, force: true })
  })
  const agent = async (hello: object = {}, auto = true) => {
    const p = await Peer.agent(coord.socketPath, hello, auto)
    peers.push(p)
    return p
  }
  return { dir, coord, agent }
}

const sleepPlugin = { name: 'sleep', path: '/opt/x/libsleep.so', wraps: ['sleep', 'usleep'] }

t.test('plugins from hello and later messages; the plugins op and API', async (t) => {
  const { dir, coord, agent } = await setup(t)
  const a = await agent({ pid: 101, cmd: 'app one', plugins: [sleepPlugin] })
  const b = await agent({ pid: 102, cmd: 'app two' })
  t.same(coord.plugins(), {
    processes: [
      { vpid: a.vpid, pid: 101, cmd: 'app one', plugins: [sleepPlugin] },
      { vpid: b.vpid, pid: 102, cmd: 'app two', plugins: [] },
    ],
  })
  // a plugin whose constructor ran after the agent's registers later
  b.send({ t: 'plugins', plugins: [{ name: 'late', path: '/l.so', wraps: ['read'] }, { name: 'bad', wraps: [1, 'x'] }] })
  await new Promise((r) => setTimeout(r, 100))
  const r = await clientPlugins({ dir })
  t.same(r.processes[1]!.plugins, [
    { name: 'late', path: '/l.so', wraps: ['read'] },
    { name: 'bad', path: '', wraps: ['x'] },
  ], 'the plugins op answers per process; malformed fields are sanitized')
})

t.test('plugin events are re-emitted as typed plugin events', async (t) => {
  const { coord, agent } = await setup(t)
  const a = await agent({ pid: 201, plugins: [sleepPlugin] })
  const got = once(coord, 'plugin') as Promise<[PluginEvent]>
  a.send({ t: 'event', plugin: 'sleep', name: 'RESTART', data: 'slept 3 times' })
  const [e] = await got
  t.same(e, { vpid: a.vpid, pid: 201, plugin: 'sleep', name: 'RESTART', data: 'slept 3 times' })
})

t.test('publish and lookup, with and without wait', async (t) => {
  const { coord, agent } = await setup(t)
  const a = await agent({ pid: 301 }, false)
  const b = await agent({ pid: 302 }, false)
  const hex = (s: string) => Buffer.from(s).toString('hex')

  b.send({ t: 'lookup', key: 'qp/1', wait: false })
  t.equal(await b.waitFor((l) => l.startsWith('novalue')), 'novalue qp/1', 'absent key without wait: novalue')

  b.send({ t: 'lookup', key: 'qp/2', wait: true })
  await new Promise((r) => setTimeout(r, 100))
  t.notOk(b.lines.some((l) => l.includes('qp/2')), 'with wait: no answer until published')
  a.send({ t: 'publish', key: 'qp/2', value: hex('lid=7 qpn=42') })
  t.equal(await b.waitFor((l) => l.startsWith('value qp/2')), `value qp/2 ${hex('lid=7 qpn=42')}`, 'answered when published')

  a.send({ t: 'lookup', key: 'qp/2', wait: false })
  t.equal(await a.waitFor((l) => l.startsWith('value')), `value qp/2 ${hex('lid=7 qpn=42')}`, 'present key: value at once')
  t.equal(coord.lookup('qp/2')?.toString(), 'lid=7 qpn=42', 'the API sees it')

  coord.publish('from-ts', 'hello')
  a.send({ t: 'lookup', key: 'from-ts', wait: false })
  t.equal(await a.waitFor((l) => l.startsWith('value from-ts')), `value from-ts ${hex('hello')}`, 'published from the API')
  t.throws(() => coord.publish('has space', 'x'), { code: 'EINVAL' })

  const errs: string[] = []
  coord.on('error', (e) => errs.push(e.code))
  a.send({ t: 'publish', key: 'k', value: 'not hex!' })
  await new Promise((r) => setTimeout(r, 100))
  t.same(errs, ['EPROTO'], 'a non-hex value is refused')
  t.equal(coord.lookup('k'), undefined)
})

t.test('checkpoint progress reaches the events and control clients that ask for it', async (t) => {
  const { dir, coord, agent } = await setup(t)
  await agent({ pid: 401 })
  await agent({ pid: 402 })
  const events: ProgressEvent[] = []
  coord.on('progress', (p) => events.push(p))
  const streamed: ProgressEvent[] = []
  const r = await clientCheckpoint({ dir, onProgress: (p) => streamed.push(p) })
  t.equal(r.generation, 1)
  t.same(
    events.map((e) => `${e.phase} ${e.done}/${e.total}`),
    ['suspend 0/2', 'suspend 1/2', 'suspend 2/2', 'write 0/2', 'write 1/2', 'write 2/2', 'resume 0/2', 'resume 1/2', 'resume 2/2'],
  )
  t.equal(events.find((e) => e.phase === 'write' && e.done === 2)!.bytes, 8192, 'bytes accumulate')
  t.same(streamed, events, 'the control client received the same progress lines')
  // a client that does not ask gets only the answer
  const plain = await clientCheckpoint({ dir })
  t.equal(plain.generation, 2)
})

t.test('--keep K keeps the last K generations', async (t) => {
  const { dir, coord, agent } = await setup(t, { keep: 2 })
  await agent({ pid: 501 })
  for (let i = 1; i <= 4; i++) await coord.checkpoint()
  t.same(readdirSync(dir).filter((n) => n.startsWith('gen-')).sort(), ['gen-000003', 'gen-000004'])
  t.ok(existsSync(join(dir, 'latest', 'manifest.json')))
})

t.test('a coordinator started again re-adopts processes from the saved state', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'amber-v11-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const c1 = await Coordinator.start({ dir })
  // pids that exist (ours) so the successor does not drop them as gone
  const a = await Peer.agent(c1.socketPath, { pid: process.pid, cmd: 'one', plugins: [sleepPlugin] })
  const b = await Peer.agent(c1.socketPath, { pid: process.ppid, cmd: 'two' })
  const pub = await Peer.agent(c1.socketPath, { pid: process.pid, cmd: 'publisher' }, false)
  pub.send({ t: 'publish', key: 'addr', value: 'abcd' })
  await new Promise((r) => setTimeout(r, 100))
  pub.close()
  await new Promise((r) => setTimeout(r, 100))
  const state = JSON.parse(readFileSync(join(dir, '.amber', 'state.json'), 'utf8'))
  t.same(state.processes.map((p: { vpid: number }) => p.vpid), [1, 2], 'state.json lists the live processes')
  t.equal(state.kv.addr, 'abcd')
  // The coordinator dies without cleaning up: simulate by closing (state is kept) and leaving the agents.
  await c1.close()
  a.close()
  b.close()

  const c2 = await Coordinator.start({ dir, adoptTimeout: 1 })
  t.teardown(() => c2.close())
  t.same(c2.processes().map((p) => [p.vpid, p.state]), [[1, 'detached'], [2, 'detached']], 'known processes are detached until they reconnect')
  t.equal(c2.lookup('addr')?.toString('hex'), 'abcd', 'published keys survive')
  // a new process does not get a vpid that is still owed to a detached one
  const fresh = await Peer.agent(c2.socketPath, { pid: 99999, cmd: 'new' })
  t.equal(fresh.vpid, 4, 'new vpids continue after the saved ones')
  // a checkpoint now waits for the detached ones, then fails naming them
  await t.rejects(c2.checkpoint(), { code: 'ECHECKPOINT', message: /have not reconnected within 1 s: vpid 1 .*vpid 2/ })
  // they reconnect with their vpid (restored:false), as the agent does every second
  const a2 = await Peer.agent(c2.socketPath, { pid: process.pid, vpid: 1, cmd: 'one' })
  const b2 = await Peer.agent(c2.socketPath, { pid: process.ppid, vpid: 2, cmd: 'two' })
  t.teardown(() => {
    a2.close()
    b2.close()
    fresh.close()
  })
  t.equal(a2.vpid, 1, 're-adopted as vpid 1')
  t.equal(b2.vpid, 2, 're-adopted as vpid 2')
  t.same(c2.processes().map((p) => [p.vpid, p.state]), [[1, 'running'], [2, 'running'], [4, 'running']])
  t.same(c2.plugins().processes[0]!.plugins, [sleepPlugin], 'plugins known from the saved state')
  const st = await clientStatus({ dir })
  t.equal(st.processes.length, 3)
  const ck = await c2.checkpoint()
  t.equal(ck.images.length, 3, 'the next checkpoint includes the re-adopted processes')
})

t.test('detached processes that are gone are dropped', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'amber-v11-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const { hostname } = await import('node:os')
  const c1 = await Coordinator.start({ dir })
  // a pid that cannot exist on this host
  const a = await Peer.agent(c1.socketPath, { pid: 2 ** 22 + 17, host: hostname(), cmd: 'gone' })
  await new Promise((r) => setTimeout(r, 100))
  await c1.close()
  a.close()
  const c2 = await Coordinator.start({ dir })
  t.teardown(() => c2.close())
  t.same(c2.processes(), [], 'a process that no longer exists is not waited for')
})
