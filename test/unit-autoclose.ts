// A coordinator that closes by itself once its computation has ended (autoClose: what launch and
// restart start, so that a daemon keeps it and nothing outlives the last process): simulated
// agents speaking the real protocol, plus real processes where "alive" matters.
//   - held (hold(), or the control op `hold`): open; released with nothing left: closed, socket
//     gone, 'close' emitted — and the release learns it;
//   - a registered process keeps it open; its disconnect closes it;
//   - a process of the computation between fork and hello (AMBER_COORD in its environment, not yet
//     registered) keeps it open; a checkpoint in progress delays the verdict until it is done;
//   - a holder hears of the coordinator's errors;
//   - a coordinator without autoClose never closes by itself;
//   - closing removes the socket only while it is still this coordinator's;
//   - a socket left by a killed coordinator does not confuse the next launch.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, unlinkSync } from 'node:fs'
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { hostname, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { Coordinator } from '../lib/coordinator.js'
import { hold as clientHold, status as clientStatus } from '../lib/client.js'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const cli = join(root, 'dist', 'lib', 'cli.js')
const haveAgent = existsSync(join(root, 'build', 'Release', 'libamber.so'))

async function tempDir(t: { teardown(f: () => unknown): void }): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'amber-auto-'))
  t.teardown(() => rm(d, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 }))
  return d
}

/** A protocol-level agent answering suspend/write/resume (the write after `writeDelay` ms). */
async function fakeAgent(socketPath: string, hello: object, writeDelay = 0): Promise<net.Socket> {
  const s = net.connect(socketPath)
  await once(s, 'connect')
  s.setEncoding('utf8')
  let buf = ''
  s.on('data', async (d: string) => {
    buf += d
    let nl
    while ((nl = buf.indexOf('\n')) >= 0) {
      const [verb, g, path] = buf.slice(0, nl).split(' ')
      buf = buf.slice(nl + 1)
      const gen = Number(g)
      if (verb === 'suspend') s.write(JSON.stringify({ t: 'suspended', gen }) + '\n')
      else if (verb === 'write') {
        await new Promise((r) => setTimeout(r, writeDelay))
        await writeFile(`${path}.tmp`, 'x')
        await rename(`${path}.tmp`, path!)
        s.write(JSON.stringify({ t: 'written', gen, image: path, bytes: 1, seconds: 0 }) + '\n')
      } else if (verb === 'resume' || verb === 'abort') s.write(JSON.stringify({ t: 'resumed', gen }) + '\n')
    }
  })
  s.write(JSON.stringify({ t: 'hello', pid: 4242, ppid: 1, vpid: 0, cmd: 'fake', host: 'testhost', restored: false, gen: 0, image: '', ...hello }) + '\n')
  await once(s, 'data')
  return s
}

function closeEvent(c: Coordinator): { seen: () => boolean; promise: Promise<void> } {
  let seen = false
  const promise = new Promise<void>((r) =>
    c.once('close', () => {
      seen = true
      r()
    }),
  )
  return { seen: () => seen, promise }
}

t.test('held, then released with nothing left: closes, and the release says so', async (t) => {
  const dir = await tempDir(t)
  const c = await Coordinator.start({ dir, autoClose: true })
  t.teardown(() => c.close())
  const closed = closeEvent(c)
  const release = c.hold()
  await new Promise((r) => setTimeout(r, 300))
  t.notOk(closed.seen(), 'open while held')
  t.equal(await release(), true, 'release: it closed')
  t.ok(closed.seen(), "'close' was emitted before the release resolved")
  t.notOk(existsSync(c.socketPath), 'the socket is gone')
})

t.test('a registered process keeps it open; its exit closes it', async (t) => {
  const dir = await tempDir(t)
  const c = await Coordinator.start({ dir, autoClose: true })
  t.teardown(() => c.close())
  const closed = closeEvent(c)
  const release = c.hold()
  const a = await fakeAgent(c.socketPath, { cmd: 'daemon' })
  t.equal(await release(), false, 'released while a process runs: it stays')
  t.same(c.processes().map((p) => p.cmd), ['daemon'])
  await new Promise((r) => setTimeout(r, 300))
  t.notOk(closed.seen(), 'still open')
  a.destroy()
  await closed.promise
  t.notOk(existsSync(c.socketPath), 'the last process gone: closed, socket removed')
})

t.test('the control op `hold`: a client holds it; its release learns the verdict', async (t) => {
  const dir = await tempDir(t)
  const c = await Coordinator.start({ dir, autoClose: true })
  t.teardown(() => c.close())
  const h1 = await clientHold({ socketPath: c.socketPath })
  t.match(h1.status, { ok: true, coordinator: { pid: process.pid, dir, socket: c.socketPath } }, 'the hold answers with the status')
  const h2 = await clientHold({ socketPath: c.socketPath })
  t.equal(await h1.release(), false, 'one of two holds released: it stays')
  t.ok(existsSync(c.socketPath))
  t.equal(await h2.release(), true, 'the last released: it closed')
  t.notOk(existsSync(c.socketPath), 'its socket was gone when the answer came')
  await t.rejects(clientHold({ socketPath: c.socketPath }), { code: 'ENOCOORD' }, 'nobody to hold any more')
})

t.test("a holder hears of the coordinator's errors while it holds it", async (t) => {
  const dir = await tempDir(t)
  const c = await Coordinator.start({ dir, autoClose: true })
  t.teardown(() => c.close())
  const errors: Array<{ code: string; message: string }> = []
  const h = await clientHold({ socketPath: c.socketPath, onError: (e) => errors.push({ code: e.code, message: e.message }) })
  const a = await fakeAgent(c.socketPath, {})
  a.write(JSON.stringify({ t: 'publish', key: 'bad key', value: 'zz' }) + '\n')
  for (let i = 0; i < 50 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 100))
  t.match(errors, [{ code: 'EPROTO', message: /bad publish/ }], 'the error reached the holder')
  await h.release()
  a.write(JSON.stringify({ t: 'publish', key: 'bad key', value: 'zz' }) + '\n')
  await new Promise((r) => setTimeout(r, 300))
  t.equal(errors.length, 1, 'and no more once released')
  a.destroy()
})

t.test('a hold ends with the connection (the holder died)', async (t) => {
  const dir = await tempDir(t)
  const c = await Coordinator.start({ dir, autoClose: true })
  t.teardown(() => c.close())
  const closed = closeEvent(c)
  const s = net.connect(c.socketPath)
  await once(s, 'connect')
  s.write(JSON.stringify({ t: 'ctl', op: 'hold' }) + '\n')
  await once(s, 'data')
  await new Promise((r) => setTimeout(r, 200))
  t.notOk(closed.seen(), 'open while the holder is connected')
  s.destroy()
  await closed.promise
  t.pass('closed once the holder went away')
})

t.test('a process starting up (AMBER_COORD set, not registered yet) keeps it open', async (t) => {
  const dir = await tempDir(t)
  const c = await Coordinator.start({ dir, autoClose: true })
  t.teardown(() => c.close())
  const closed = closeEvent(c)
  // like a forked child between fork and hello: in the computation, not registered
  const child = spawn('sleep', ['30'], { env: { ...process.env, AMBER_COORD: c.socketPath }, stdio: 'ignore' })
  t.teardown(() => {
    child.kill('SIGKILL')
  })
  await once(child, 'spawn')
  await new Promise((r) => setTimeout(r, 100))
  const release = c.hold()
  t.equal(await release(), false, 'released: it stays for the process starting up (and says so at once)')
  await new Promise((r) => setTimeout(r, 500))
  t.notOk(closed.seen(), 'still open')
  child.kill('SIGKILL')
  await closed.promise
  t.pass('closed once that process was gone')
})

t.test('a checkpoint in progress: the verdict waits for it', async (t) => {
  const dir = await tempDir(t)
  const c = await Coordinator.start({ dir, autoClose: true })
  t.teardown(() => c.close())
  // a real process to be killed by checkpoint --kill, registered through a simulated agent
  const victim = spawn('sleep', ['30'], { stdio: 'ignore' })
  t.teardown(() => {
    victim.kill('SIGKILL')
  })
  await once(victim, 'spawn')
  const a = await fakeAgent(c.socketPath, { pid: victim.pid, host: hostname() }, 500)
  t.teardown(() => a.destroy())
  const order: string[] = []
  const release = c.hold()
  const ck = c.checkpoint({ kill: true }).then((r) => (order.push('checkpoint'), r))
  await new Promise((r) => setTimeout(r, 100))
  // the process dies while its image is being written (its connection lingers): released now,
  // nothing is left but the checkpoint under way
  victim.kill('SIGKILL')
  await once(victim, 'exit')
  const verdict = release().then((closed) => (order.push('release'), closed))
  const r = await ck
  t.equal(r.generation, 1, 'the checkpoint completed')
  t.equal(await verdict, true, 'then, the process killed and nothing left, it closed')
  t.same(order, ['checkpoint', 'release'], 'the release was answered after the checkpoint, not during it')
})

t.test('without autoClose it never closes by itself', async (t) => {
  const dir = await tempDir(t)
  const c = await Coordinator.start({ dir })
  t.teardown(() => c.close())
  const a = await fakeAgent(c.socketPath, {})
  a.destroy()
  t.equal(await c.hold()(), false, 'released with nothing left: it stays')
  await new Promise((r) => setTimeout(r, 300))
  t.ok(existsSync(c.socketPath), 'listening still')
  t.equal((await clientStatus({ socketPath: c.socketPath })).ok, true)
})

t.test('close removes the socket only while it is still its own', async (t) => {
  const dir = await tempDir(t)
  const sp = join(dir, 'shared.sock')
  const a = await Coordinator.start({ dir: join(dir, 'a'), socketPath: sp })
  t.teardown(() => a.close())
  unlinkSync(sp) // someone removed it; another coordinator binds the path again
  const b = await Coordinator.start({ dir: join(dir, 'b'), socketPath: sp })
  t.teardown(() => b.close())
  await a.close()
  t.ok(existsSync(sp), "closing the first did not remove the second's socket")
  t.equal((await clientStatus({ socketPath: sp })).coordinator.dir, join(dir, 'b'), 'the second still answers there')
})

t.test('a socket left by a killed coordinator does not confuse the next launch', { skip: haveAgent ? false : 'no build/Release/libamber.so' }, async (t) => {
  const dir = await tempDir(t)
  const sock = join(dir, '.amber', 'coord.sock')
  const killed = spawn(process.execPath, [cli, 'coordinator', '--dir', dir, '--exit-when-done'], { stdio: ['ignore', 'ignore', 'pipe'] })
  t.teardown(() => {
    killed.kill('SIGKILL')
  })
  await new Promise<void>((res) => killed.stderr!.on('data', (d: Buffer) => d.toString().includes('listening at') && res()))
  killed.kill('SIGKILL')
  await once(killed, 'exit')
  t.ok(existsSync(sock), 'the killed coordinator left its socket')
  const out: string[] = []
  const launch = spawn(process.execPath, [cli, 'launch', '--dir', dir, '--', '/bin/sh', '-c', 'echo "$AMBER_COORD"'], { stdio: ['ignore', 'pipe', 'inherit'] })
  launch.stdout!.setEncoding('utf8').on('data', (d: string) => out.push(d))
  const [code] = await once(launch, 'exit')
  t.equal(code, 0, 'the next launch works')
  t.equal(out.join('').trim(), sock, 'with a new coordinator at the same socket')
  t.notOk(existsSync(sock), 'which removed its socket before that launch returned')
})
