// CLI conventions of issue 4 §6 and the v1.1 commands, on the real CLI (node dist/lib/cli.js):
// --help everywhere (plugins included), `amber plugins [--json]`, `amber coordinator --json`
// events and SIGUSR1 → checkpoint, --keep, `amber launch --listen tcp:` giving the agents a numeric
// TCP address and the token, SIGUSR1 to `amber launch`, the progress line only on a TTY (a real
// pseudo-terminal through script(1)) and never with --no-progress, and NO_COLOR.
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { build } from './helpers/fixtures.js'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const cli = join(root, 'dist', 'lib', 'cli.js')
const haveScript = existsSync('/usr/bin/script')
const haveAgent = existsSync(join(root, 'build', 'Release', 'libamber.so'))

type Result = { code: number | null; stdout: string; stderr: string }

function amber(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((res) => {
    execFile(process.execPath, [cli, ...args], { env: { ...process.env, AMBER_DIR: undefined, NO_COLOR: undefined, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number | string }) | null
      res({ code: e === null ? 0 : typeof e.code === 'number' ? e.code : null, stdout, stderr })
    })
  })
}

/** Runs the CLI with stdin/stdout/stderr on a pseudo-terminal (script -qec), output as one stream. */
function amberTty(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  const cmd = [process.execPath, cli, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')
  return new Promise((res) => {
    execFile('script', ['-qec', cmd, '/dev/null'], { env: { ...process.env, AMBER_DIR: undefined, NO_COLOR: undefined, TERM: 'xterm', ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number | string }) | null
      res({ code: e === null ? 0 : typeof e.code === 'number' ? e.code : null, stdout, stderr })
    })
  })
}

/** A protocol-level agent; `writeDelay` ms before answering `written`. */
async function fakeAgent(socketPath: string, hello: object = {}, writeDelay = 0): Promise<net.Socket> {
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
  s.write(JSON.stringify({ t: 'hello', pid: process.pid, ppid: 1, vpid: 0, cmd: 'fake', host: 'h', restored: false, gen: 0, image: '', ...hello }) + '\n')
  await once(s, 'data')
  return s
}

/** `amber coordinator` in the background; resolves once it listens. */
async function coordinator(t: { teardown(f: () => unknown): void }, args: string[]): Promise<{ child: ChildProcess; out: string[] }> {
  const child = spawn(process.execPath, [cli, 'coordinator', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => {
    child.kill('SIGKILL')
  })
  const out: string[] = []
  let buf = ''
  child.stdout!.setEncoding('utf8')
  child.stdout!.on('data', (d: string) => {
    buf += d
    let nl
    while ((nl = buf.indexOf('\n')) >= 0) {
      out.push(buf.slice(0, nl))
      buf = buf.slice(nl + 1)
    }
  })
  let err = ''
  child.stderr!.setEncoding('utf8')
  await new Promise<void>((res, rej) => {
    child.stderr!.on('data', (d: string) => {
      err += d
      if (err.includes('listening at')) res()
    })
    child.once('exit', (c) => rej(new Error(`coordinator exited ${c}: ${err}`)))
  })
  return { child, out }
}

async function until(pred: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('timeout')
    await new Promise((r) => setTimeout(r, 25))
  }
}

t.test('--help for every command', async (t) => {
  for (const cmd of ['launch', 'checkpoint', 'restart', 'status', 'inspect', 'coordinator', 'plugins']) {
    const r = await amber([cmd, '--help'])
    t.equal(r.code, 0, `${cmd} --help exits 0`)
    t.match(r.stdout, new RegExp(`^usage: amber ${cmd}`), `${cmd} --help prints its usage`)
  }
  t.match((await amber(['--help'])).stdout, /plugins\s+list the plugins/)
  for (const bad of [['coordinator', '--keep', '0'], ['launch', '--keep', 'x', '--', 'true'], ['plugins', 'extra']]) {
    t.equal((await amber(bad)).code, 2, `amber ${bad.join(' ')}: usage error`)
  }
})

t.test('coordinator --json, SIGUSR1, --keep, plugins [--json]', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'amber-clic-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const { child, out } = await coordinator(t, ['--dir', dir, '--json', '--keep', '2'])
  const sock = join(dir, '.amber', 'coord.sock')
  const a = await fakeAgent(sock, { cmd: 'app', plugins: [{ name: 'sleep', path: '/x/sleep.so', wraps: ['sleep', 'nanosleep'] }] })
  t.teardown(() => a.destroy())
  await until(() => out.some((l) => JSON.parse(l).event === 'register'))
  t.match(JSON.parse(out[0]!), { event: 'listen', dir, socket: sock })
  t.match(JSON.parse(out.find((l) => l.includes('"register"'))!), { event: 'register', vpid: 1, cmd: 'app', state: 'running' })

  for (let i = 1; i <= 3; i++) {
    child.kill('SIGUSR1')
    await until(() => out.some((l) => l.includes('"checkpoint"') && JSON.parse(l).generation === i))
  }
  t.pass('SIGUSR1 to amber coordinator took three checkpoints')
  // older generations are pruned after the resume, i.e. after the checkpoint event
  const gens = () => readdirSync(dir).filter((n) => n.startsWith('gen-')).sort()
  await until(() => gens().length <= 2).catch(() => undefined)
  t.same(gens(), ['gen-000002', 'gen-000003'], '--keep 2')
  t.ok(out.some((l) => JSON.parse(l).event === 'suspend'), 'suspend events')

  const p = await amber(['plugins', '--dir', dir, '--json'])
  t.equal(p.code, 0)
  t.same(JSON.parse(p.stdout), { processes: [{ vpid: 1, pid: process.pid, cmd: 'app', plugins: [{ name: 'sleep', path: '/x/sleep.so', wraps: ['sleep', 'nanosleep'] }] }] })
  const ptext = await amber(['plugins', '--dir', dir])
  t.match(ptext.stdout, /VPID\s+PID\s+PLUGIN\s+WRAPS\s+PATH\n1\s+\d+\s+sleep\s+sleep,nanosleep\s+\/x\/sleep\.so/)
  t.equal((await amber(['plugins', '--dir', join(dir, 'none')])).code, 4, 'no coordinator: exit 4')

  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  t.equal(code, 0, 'SIGTERM ends it cleanly')
})

t.test('progress line: only on a TTY, never with --no-progress', { skip: haveScript ? false : 'script(1) is not installed' }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'amber-clic-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await coordinator(t, ['--dir', dir])
  const a = await fakeAgent(join(dir, '.amber', 'coord.sock'), {}, 1500) // a slow write: a "long" checkpoint
  t.teardown(() => a.destroy())

  const tty = await amberTty(['checkpoint', '--dir', dir])
  t.equal(tty.code, 0)
  t.match(tty.stdout, /\r\x1b\[K.*amber:.* checkpoint 1: writing 0\/1 processes/, 'a progress line on the terminal')
  t.match(tty.stdout, /gen-000001\/manifest\.json/, 'then the result')

  const off = await amberTty(['checkpoint', '--dir', dir, '--no-progress'])
  t.equal(off.code, 0)
  t.notMatch(off.stdout, /writing|\x1b\[K/, '--no-progress: none')

  const pipe = await amber(['checkpoint', '--dir', dir])
  t.equal(pipe.code, 0)
  t.equal(pipe.stderr, '', 'stderr not a TTY: nothing on stderr')
  t.match(pipe.stdout, /gen-000003\/manifest\.json\n$/)

  const fast = await fakeAgent(join(dir, '.amber', 'coord.sock'), {}, 0)
  a.destroy()
  await new Promise((r) => setTimeout(r, 200))
  const quick = await amberTty(['checkpoint', '--dir', dir])
  t.equal(quick.code, 0)
  t.notMatch(quick.stdout, /writing/, 'a quick checkpoint shows no progress line')
  fast.destroy()
})

t.test('NO_COLOR', { skip: haveScript ? false : 'script(1) is not installed' }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'amber-clic-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const colored = await amberTty(['status', '--dir', dir])
  t.equal(colored.code, 4)
  t.match(colored.stdout, /\x1b\[1;31mamber:\x1b\[0m no coordinator/, 'on a terminal the prefix is coloured')
  const plain = await amberTty(['status', '--dir', dir], { NO_COLOR: '1' })
  t.equal(plain.code, 4)
  t.notMatch(plain.stdout, /\x1b\[/, 'NO_COLOR: no escape sequences')
  t.match(plain.stdout, /^amber: no coordinator/m)
  const piped = await amber(['status', '--dir', dir])
  t.notMatch(piped.stderr, /\x1b\[/, 'not a terminal: no colour')
})

t.test('launch --listen tcp: numeric AMBER_COORD and the token for the agents', { skip: haveAgent ? false : 'no build/Release/libamber.so' }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'amber-clic-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const r = await amber(['launch', '--dir', dir, '--listen', 'tcp:localhost:0', '--', '/bin/sh', '-c', 'echo "$AMBER_COORD $AMBER_TOKEN"'])
  t.equal(r.code, 0, r.stderr)
  const [coord, token] = r.stdout.trim().split(' ')
  t.match(coord, /^tcp:(127\.0\.0\.1|\[::1\]):\d+$/, 'a numeric tcp: address (localhost resolved)')
  t.equal(token, readFileSync(join(dir, '.amber', 'token'), 'utf8').trim(), 'AMBER_TOKEN is the computation token')
  const u = await amber(['launch', '--dir', dir, '--', '/bin/sh', '-c', 'echo "$AMBER_COORD|${AMBER_TOKEN-unset}"'], { AMBER_TOKEN: 'stale' })
  t.equal(u.stdout.trim(), `${join(dir, '.amber', 'coord.sock')}|unset`, 'Unix socket: no token passed on')
})

t.test('SIGUSR1 to amber launch takes a checkpoint', { skip: haveAgent ? false : 'no build/Release/libamber.so' }, async (t) => {
  const counter = await build('counter')
  const dir = await mkdtemp(join(tmpdir(), 'amber-clic-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const child = spawn(process.execPath, [cli, 'launch', '--dir', dir, '--', counter, '50'], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => {
    child.kill('SIGKILL')
  })
  let out = ''
  let err = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d))
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d))
  await until(() => out.split('\n').length > 3)
  await until(() => existsSync(join(dir, '.amber', 'state.json')) && readFileSync(join(dir, '.amber', 'state.json'), 'utf8').includes('"vpid":1'))
  child.kill('SIGUSR1')
  await until(() => /checkpoint 1 written/.test(err), 20_000)
  t.match(err, /amber: checkpoint 1 written: .*gen-000001\/manifest\.json/)
  const before = out.trim().split('\n').length
  await until(() => out.trim().split('\n').length > before + 3)
  t.pass('the application kept running')
  child.kill('SIGTERM')
  const [, sig] = await once(child, 'exit')
  t.ok(sig === 'SIGTERM' || sig === null, 'SIGTERM was passed to the application')
})
