// Security of the coordinator (issue 4 §2): the Unix socket is 0600 in a 0700 directory, and a
// peer of another uid is refused by SO_PEERCRED even when the file modes would let it in; a TCP
// coordinator requires the per-computation token (DIR/.amber/token, 0600) from control clients and
// agents alike. Every refusal is shown with a real client: real sockets, and for the other uid a
// real child process run through setpriv.
import { execFile } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import t from 'tap'
import { Coordinator } from '../lib/coordinator.js'
import { status as clientStatus } from '../lib/client.js'
import { AmberError } from '../lib/errors.js'

const OTHER = 65534

function setprivAvailable(): boolean {
  return existsSync('/usr/bin/setpriv') || existsSync('/bin/setpriv')
}

/**
 * Runs, as uid/gid 65534, a node client that connects to `path`, sends `line` and prints what it
 * got back as JSON: { error?: code, data: string }.
 */
function otherUidClient(path: string, line: string): Promise<{ error?: string; data: string }> {
  const script = `
    const net = require('node:net');
    const s = net.connect(process.argv[1]);
    let data = '';
    s.setEncoding('utf8');
    s.on('connect', () => s.write(process.argv[2] + '\\n'));
    s.on('data', (d) => (data += d));
    s.on('error', (e) => { console.log(JSON.stringify({ error: e.code, data })); process.exit(0); });
    s.on('close', () => { console.log(JSON.stringify({ data })); process.exit(0); });
    setTimeout(() => { console.log(JSON.stringify({ error: 'TIMEOUT', data })); process.exit(0); }, 10000);
  `
  return new Promise((res, rej) => {
    execFile(
      'setpriv',
      [`--reuid=${OTHER}`, `--regid=${OTHER}`, '--clear-groups', process.execPath, '-e', script, path, line],
      { timeout: 20_000, cwd: '/' },
      (err, stdout, stderr) => {
        if (err) return rej(new Error(`${err.message}\n${stderr}`))
        try {
          res(JSON.parse(stdout.trim().split('\n').pop() as string))
        } catch (e) {
          rej(new Error(`bad output ${JSON.stringify(stdout)} ${stderr}`))
        }
      },
    )
  })
}

/** Connects to a TCP or Unix address, sends one line, collects everything until the peer closes. */
async function exchange(connect: () => net.Socket, line: string): Promise<string> {
  const s = connect()
  await once(s, 'connect')
  let got = ''
  s.setEncoding('utf8')
  s.on('data', (d: string) => (got += d))
  s.write(line + '\n')
  await once(s, 'close')
  return got
}

const hello = (extra: object = {}) =>
  JSON.stringify({ t: 'hello', pid: 4242, ppid: 1, vpid: 0, cmd: 'fake', host: 'h', restored: false, gen: 0, image: '', ...extra })

t.test('unix socket: 0600 in a 0700 dir', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'amber-sec-'))
  const c = await Coordinator.start({ dir })
  t.teardown(async () => {
    await c.close()
    await rm(dir, { recursive: true, force: true })
  })
  t.equal(statSync(c.socketPath).mode & 0o777, 0o600)
  t.equal(statSync(dirname(c.socketPath)).mode & 0o777, 0o700)
  // our own uid is let in
  t.equal((await clientStatus({ dir })).ok, true)
})

t.test('a client of another uid is refused', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root to run a client as another uid (setpriv)')
  if (!setprivAvailable()) return t.skip('setpriv (util-linux) is not installed')
  const dir = await mkdtemp(join(tmpdir(), 'amber-sec-'))
  const c = await Coordinator.start({ dir })
  const errors: AmberError[] = []
  c.on('error', (e) => errors.push(e))
  t.teardown(async () => {
    await c.close()
    await rm(dir, { recursive: true, force: true })
  })

  // 1. With the default modes the kernel refuses it already (0700 dir, 0600 socket).
  await chmod(dir, 0o755)
  const r1 = await otherUidClient(c.socketPath, JSON.stringify({ t: 'ctl', op: 'status' }))
  t.equal(r1.error, 'EACCES', `the file modes refuse uid ${OTHER}: ${JSON.stringify(r1)}`)

  // 2. Even when the modes are opened up (a careless chmod), SO_PEERCRED refuses it.
  await chmod(join(dir, '.amber'), 0o711)
  await chmod(c.socketPath, 0o777)
  const r2 = await otherUidClient(c.socketPath, JSON.stringify({ t: 'ctl', op: 'status' }))
  t.notOk(r2.error, 'the connection itself succeeds now')
  const ans = JSON.parse(r2.data)
  t.match(ans, { ok: false, code: 'EPERM', message: new RegExp(`uid ${OTHER} is not the coordinator's uid 0`) }, 'control client refused by uid')
  t.notOk('processes' in ans, 'no status leaked')

  const r3 = await otherUidClient(c.socketPath, hello())
  t.equal(r3.data, 'refused EPERM\n', 'an agent of another uid is refused')
  t.equal(c.processes().length, 0, 'nothing registered')
  t.ok(errors.some((e) => e.code === 'EPERM'), 'the refusal is reported as an error event')

  // 3. The same uid still gets in through the opened socket.
  t.equal((await clientStatus({ dir })).ok, true)
})

t.test('TCP requires the computation token', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'amber-sec-'))
  const c = await Coordinator.start({ dir, listen: 'tcp:127.0.0.1:0' })
  t.teardown(async () => {
    await c.close()
    await rm(dir, { recursive: true, force: true })
  })
  t.match(c.tcpAddress, /^tcp:127\.0\.0\.1:\d+$/)
  const port = Number(c.tcpAddress!.split(':')[2])
  t.ok(port > 0, 'a port was chosen')
  const tokenPath = join(dir, '.amber', 'token')
  t.equal(statSync(tokenPath).mode & 0o777, 0o600, 'token file is 0600')
  const token = readFileSync(tokenPath, 'utf8').trim()
  t.match(token, /^[0-9a-f]{32}$/, '32 hex chars')
  const tcp = () => net.connect(port, '127.0.0.1')

  // control clients
  t.match(JSON.parse(await exchange(tcp, JSON.stringify({ t: 'ctl', op: 'status' }))), { ok: false, code: 'EAUTH' }, 'no token: EAUTH')
  t.match(
    JSON.parse(await exchange(tcp, JSON.stringify({ t: 'ctl', op: 'status', token: 'f'.repeat(32) }))),
    { ok: false, code: 'EAUTH' },
    'wrong token: EAUTH',
  )
  t.match(JSON.parse(await exchange(tcp, JSON.stringify({ t: 'ctl', op: 'status', token }))), { ok: true, coordinator: { listen: c.tcpAddress, tcp: c.tcpAddress } }, 'right token: answered')

  // agents
  t.equal(await exchange(tcp, hello()), 'refused EAUTH\n', 'agent without a token: refused EAUTH')
  t.equal(await exchange(tcp, hello({ token: token.replace(/.$/, (x) => (x === '0' ? '1' : '0')) })), 'refused EAUTH\n', 'agent with a wrong token')
  t.equal(c.processes().length, 0)
  const s = tcp()
  await once(s, 'connect')
  s.setEncoding('utf8')
  s.write(hello({ token }) + '\n')
  const [line] = (await once(s, 'data')) as [string]
  t.equal(line, 'vpid 1\n', 'agent with the token registers')
  s.destroy()

  // the client API finds the token in DIR, or takes it explicitly
  const st = await clientStatus({ coord: c.tcpAddress!, dir })
  t.equal(st.coordinator.tcp, c.tcpAddress)
  await t.rejects(clientStatus({ coord: c.tcpAddress!, token: '0'.repeat(32) }), { code: 'EAUTH' })
  const old = process.env.AMBER_TOKEN
  process.env.AMBER_TOKEN = token
  t.teardown(() => {
    if (old === undefined) delete process.env.AMBER_TOKEN
    else process.env.AMBER_TOKEN = old
  })
  t.equal((await clientStatus({ coord: c.tcpAddress! })).ok, true, 'AMBER_TOKEN is used')
})

t.test('a coordinator started again on the same DIR keeps the token', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'amber-sec-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const a = await Coordinator.start({ dir, listen: 'tcp:127.0.0.1:0' })
  const t1 = readFileSync(join(dir, '.amber', 'token'), 'utf8')
  await a.close()
  const b = await Coordinator.start({ dir, listen: 'tcp:127.0.0.1:0' })
  t.equal(readFileSync(join(dir, '.amber', 'token'), 'utf8'), t1, 'same token: agents holding it can reconnect')
  await b.close()
  await t.rejects(Coordinator.start({ dir, listen: 'tcp:nonsense' }), { code: 'EINVAL' })
})
