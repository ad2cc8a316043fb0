// Coordinator addresses (lib/address.ts), one rule for the CLI and the API: HOST:PORT and
// [IPv6]:PORT are TCP (the older tcp:HOST:PORT too); a path — a "/", a leading "." or "/", or a
// ".sock" suffix — is a Unix socket; anything else (foo, 7779, host:, :7779, [::1], a port out of
// range) is refused: exit 2 with a message naming the forms from the CLI, AmberError 'EINVAL' from
// the API, and nothing is created — in particular no socket file named after the address in the
// current directory (what `--listen 127.0.0.1:7779` used to leave behind).
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const cli = join(root, 'dist', 'lib', 'cli.js')
const haveAgent = existsSync(join(root, 'build', 'Release', 'libamber.so'))

type Result = { code: number | null; stdout: string; stderr: string }

function amber(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Result> {
  return new Promise((res) => {
    execFile(process.execPath, [cli, ...args], { env: { ...process.env, AMBER_DIR: undefined, AMBER_TOKEN: undefined, ...opts.env }, cwd: opts.cwd, timeout: 30_000 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number | string }) | null
      res({ code: e === null ? 0 : typeof e.code === 'number' ? e.code : null, stdout, stderr })
    })
  })
}

async function tempDir(t: { teardown(f: () => unknown): void }, prefix = 'amber-addr-'): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix))
  // (a background coordinator may still be writing its last words in there)
  t.teardown(() => rm(d, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 }))
  return d
}

/** `amber coordinator ARGS` in the background (cwd given); resolves once it listens. */
async function coordinator(t: { teardown(f: () => unknown): void }, args: string[], cwd: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [cli, 'coordinator', ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, AMBER_DIR: undefined } })
  t.teardown(() => {
    child.kill('SIGKILL')
  })
  let err = ''
  await new Promise<void>((res, rej) => {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d
      if (err.includes('listening at')) res()
    })
    child.once('exit', (c) => rej(new Error(`coordinator exited ${c}: ${err}`)))
  })
  return child
}

const { parseAddress, formatAddress, ADDRESS_FORMS } = await import(join(root, 'dist', 'lib', 'address.js'))
const { AmberError, Coordinator, launch, status } = await import(join(root, 'dist', 'lib', 'index.js'))

/** Ambiguous or malformed: refused everywhere. */
const BAD = ['foo', '7779', 'host:', ':7779', '[::1]', '127.0.0.1:65536', '127.0.0.1:99999', '', 'tcp:foo', '::1:7779', '[foo]:1', 'ho st:1', '127.0.0.1:12ab', '[::1]7779']

t.test('the parser: each form, and each ambiguous one refused with the forms named', async (t) => {
  const cases: Array<[string, object, boolean?]> = [
    ['127.0.0.1:7779', { kind: 'tcp', host: '127.0.0.1', port: 7779 }],
    ['localhost:7779', { kind: 'tcp', host: 'localhost', port: 7779 }],
    ['node-01.cluster:80', { kind: 'tcp', host: 'node-01.cluster', port: 80 }],
    ['[::1]:7779', { kind: 'tcp', host: '::1', port: 7779 }],
    ['[fe80::1]:1', { kind: 'tcp', host: 'fe80::1', port: 1 }],
    ['tcp:127.0.0.1:7779', { kind: 'tcp', host: '127.0.0.1', port: 7779 }],
    ['tcp:[::1]:7779', { kind: 'tcp', host: '::1', port: 7779 }],
    ['0.0.0.0:0', { kind: 'tcp', host: '0.0.0.0', port: 0 }, true],
    ['./coord.sock', { kind: 'unix', path: resolve('coord.sock') }],
    ['/run/amber/c', { kind: 'unix', path: '/run/amber/c' }],
    ['coord.sock', { kind: 'unix', path: resolve('coord.sock') }],
    ['dir/c', { kind: 'unix', path: resolve('dir/c') }],
    ['.hidden', { kind: 'unix', path: resolve('.hidden') }],
    ['./127.0.0.1:7779', { kind: 'unix', path: resolve('127.0.0.1:7779') }],
  ]
  for (const [text, want, listen] of cases) t.same(parseAddress(text, { listen: listen === true }), want, `${JSON.stringify(text)} → ${JSON.stringify(want)}`)
  t.equal(formatAddress(parseAddress('[::1]:7779')), 'tcp:[::1]:7779', 'canonical TCP text (what agents get)')
  t.equal(formatAddress(parseAddress('127.0.0.1:7779')), 'tcp:127.0.0.1:7779')
  t.throws(() => parseAddress('127.0.0.1:0'), { code: 'EINVAL' }, 'port 0 only to listen on')
  for (const bad of BAD) {
    try {
      parseAddress(bad, { listen: true, what: '--listen address' })
      t.fail(`${JSON.stringify(bad)} was accepted`)
    } catch (e) {
      t.ok(e instanceof AmberError, `${JSON.stringify(bad)}: an AmberError`)
      t.equal((e as { code: string }).code, 'EINVAL', `${JSON.stringify(bad)}: EINVAL`)
      t.ok((e as Error).message.startsWith(`bad --listen address ${JSON.stringify(bad)}: `), (e as Error).message)
      t.ok((e as Error).message.endsWith(ADDRESS_FORMS), 'the message names the forms that exist')
    }
  }
})

/**
 * The CLI's own entry (dist/lib/cli.js main + report), in this process with stderr captured:
 * what `amber ARGS` would exit with and print, without a node start per case.
 */
async function amberHere(args: string[], cwd: string): Promise<Result> {
  const { main, report } = (await import(cli)) as { main: (a: string[]) => Promise<number>; report: (e: unknown) => number }
  const saved = { cwd: process.cwd(), out: process.stdout.write, err: process.stderr.write }
  let stdout = ''
  let stderr = ''
  process.chdir(cwd)
  process.stdout.write = ((c: string | Uint8Array) => ((stdout += String(c)), true)) as typeof process.stdout.write
  process.stderr.write = ((c: string | Uint8Array) => ((stderr += String(c)), true)) as typeof process.stderr.write
  try {
    let code: number
    try {
      code = await main(args)
    } catch (e) {
      code = report(e)
    }
    return { code, stdout, stderr }
  } finally {
    process.stdout.write = saved.out
    process.stderr.write = saved.err
    process.chdir(saved.cwd)
  }
}

const USAGE_RE = /^amber: bad --(listen|coord) address .*; use HOST:PORT or \[IPv6\]:PORT for TCP .* or a Unix socket path .*\(see amber --help\)\n$/

t.test('CLI: an ambiguous address is a usage error (exit 2) and leaves nothing behind', async (t) => {
  const cwd = await tempDir(t)
  const dir = join(await tempDir(t), 'ck')
  // each form the issue names (the parser test above has the rest), with each command taking one
  const runs: string[][] = [
    ...['foo', '7779', 'host:', ':7779', '[::1]', '127.0.0.1:65536', ''].map((a) => ['coordinator', '--dir', dir, '--listen', a]),
    ...['foo', ':7779', '[::1]'].map((a) => ['status', '--coord', a]),
    ['launch', '--dir', dir, '--listen', '127.0.0.1:7779x', '--', 'true'],
    ['launch', '--dir', dir, '--listen', 'foo', '--', 'true'],
    ['launch', '--dir', dir, '--coord', 'host:', '--', 'true'],
    ['checkpoint', '--coord', '7779'],
    ['restart', '--coord', '[::1]'],
    ['plugins', '--coord', 'foo'],
    ['job', '--dir', dir, '--listen', ':7779', '--', 'true'],
  ]
  for (const args of runs) {
    const r = await amberHere(args, cwd)
    const what = `amber ${args.map((a) => (a === '' ? "''" : a)).join(' ')}`
    t.equal(r.code, 2, `${what}: exit 2`)
    t.match(r.stderr, USAGE_RE, `${what}: says which forms exist`)
    t.equal(r.stdout, '', `${what}: nothing on stdout`)
  }
  // and end to end, as a user runs it
  for (const args of [['coordinator', '--dir', dir, '--listen', '127.0.0.1:7779x'], ['status', '--coord', '7779']]) {
    const r = await amber(args, { cwd })
    t.equal(r.code, 2, `amber ${args.join(' ')}: exit 2`)
    t.match(r.stderr, USAGE_RE)
  }
  t.same(readdirSync(cwd), [], 'no file was created in the current directory')
  t.notOk(existsSync(dir), 'nor the checkpoint directory')
})

t.test('CLI: HOST:PORT listens on TCP, with no file in the cwd; --coord HOST:PORT reaches it', async (t) => {
  const cwd = await tempDir(t)
  const dir = join(await tempDir(t), 'ck')
  const child = await coordinator(t, ['--dir', dir, '--listen', '127.0.0.1:0'], cwd)
  const st = await amber(['status', '--dir', dir, '--json'])
  t.equal(st.code, 0, st.stderr)
  const j = JSON.parse(st.stdout) as { coordinator: { tcp?: string; socket?: string } }
  t.match(j.coordinator.tcp, /^tcp:127\.0\.0\.1:\d+$/, `listening on TCP: ${j.coordinator.tcp}`)
  t.equal(j.coordinator.socket, join(dir, '.amber', 'coord.sock'), 'and on the usual Unix socket')
  t.same(readdirSync(cwd), [], 'no socket file named after the address in the current directory')
  const hostPort = j.coordinator.tcp!.slice('tcp:'.length)
  const token = readFileSync(join(dir, '.amber', 'token'), 'utf8').trim()
  for (const coord of [hostPort, `tcp:${hostPort}`]) {
    const r = await amber(['status', '--coord', coord, '--json'], { env: { AMBER_TOKEN: token }, cwd })
    t.equal(r.code, 0, `status --coord ${coord}: ${r.stderr}`)
    t.equal(JSON.parse(r.stdout).coordinator.dir, dir, `status --coord ${coord} reached it over TCP`)
  }
  child.kill('SIGTERM')
})

const haveV6 = await new Promise<boolean>((res) => {
  const s = net.createServer()
  s.once('error', () => res(false))
  s.listen(0, '::1', () => s.close(() => res(true)))
})

t.test('CLI: [IPv6]:PORT listens on TCP over IPv6', { skip: haveV6 ? false : 'no IPv6 loopback here' }, async (t) => {
  const cwd = await tempDir(t)
  const dir = join(await tempDir(t), 'ck')
  await coordinator(t, ['--dir', dir, '--listen', '[::1]:0'], cwd)
  const st = JSON.parse((await amber(['status', '--dir', dir, '--json'])).stdout) as { coordinator: { tcp?: string } }
  t.match(st.coordinator.tcp, /^tcp:\[::1\]:\d+$/, `listening on ${st.coordinator.tcp}`)
  const token = readFileSync(join(dir, '.amber', 'token'), 'utf8').trim()
  const r = await amber(['status', '--coord', st.coordinator.tcp!.slice(4), '--json'], { env: { AMBER_TOKEN: token }, cwd })
  t.equal(r.code, 0, r.stderr)
  t.same(readdirSync(cwd), [], 'no file in the current directory')
})

t.test('CLI: a path listens on a Unix socket there (./x.sock, x.sock), and --coord PATH reaches it', async (t) => {
  const cwd = await tempDir(t)
  const dir = join(await tempDir(t), 'ck')
  for (const [listen, file] of [['./here.sock', 'here.sock'], ['there.sock', 'there.sock']] as const) {
    const child = await coordinator(t, ['--dir', dir, '--listen', listen], cwd)
    t.ok(statSync(join(cwd, file)).isSocket(), `--listen ${listen}: a Unix socket at ${join(cwd, file)}`)
    const r = await amber(['status', '--coord', listen, '--json'], { cwd })
    t.equal(r.code, 0, `status --coord ${listen}: ${r.stderr}`)
    t.equal(JSON.parse(r.stdout).coordinator.socket, join(cwd, file))
    child.kill('SIGTERM')
    await new Promise((r) => child.once('exit', r))
    t.notOk(existsSync(join(cwd, file)), 'removed when the coordinator exits')
  }
})

t.test('CLI: launch --listen HOST:PORT gives the agents TCP; no file in the cwd', { skip: haveAgent ? false : 'no build/Release/libamber.so' }, async (t) => {
  const cwd = await tempDir(t)
  const dir = join(await tempDir(t), 'ck')
  const r = await amber(['launch', '--dir', dir, '--listen', '127.0.0.1:0', '--', '/bin/sh', '-c', 'echo "$AMBER_COORD"'], { cwd })
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout.trim(), /^tcp:127\.0\.0\.1:\d+$/, `AMBER_COORD=${r.stdout.trim()}`)
  t.same(readdirSync(cwd), [], 'no file in the current directory')
  if (haveV6) {
    // the agent dials IPv4 only: local agents of an IPv6 coordinator use its Unix socket
    const v6 = await amber(['launch', '--dir', dir, '--listen', '[::1]:0', '--', '/bin/sh', '-c', 'echo "$AMBER_COORD"'], { cwd })
    t.equal(v6.code, 0, v6.stderr)
    t.equal(v6.stdout.trim(), join(dir, '.amber', 'coord.sock'), '--listen [::1]:0: the agents get the Unix socket')
  }
})

t.test("CLI: launch shows the background coordinator's errors (a TCP peer with a wrong token)", { skip: haveAgent ? false : 'no build/Release/libamber.so' }, async (t) => {
  const dir = join(await tempDir(t), 'ck')
  const launched = spawn(process.execPath, [cli, 'launch', '--dir', dir, '--listen', '127.0.0.1:0', '--', 'sleep', '30'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, AMBER_DIR: undefined } })
  t.teardown(() => {
    launched.kill('SIGKILL')
  })
  let err = ''
  launched.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d))
  let tcp: string | undefined
  for (let i = 0; i < 100 && tcp === undefined; i++) {
    const r = await amber(['status', '--dir', dir, '--json'])
    if (r.code === 0) {
      const s = JSON.parse(r.stdout) as { coordinator: { tcp?: string }; processes: unknown[] }
      if (s.processes.length > 0) tcp = s.coordinator.tcp
    }
    if (tcp === undefined) await new Promise((r) => setTimeout(r, 200))
  }
  t.ok(tcp, `the coordinator listens on ${tcp}`)
  const bad = await amber(['status', '--coord', tcp!.slice(4)], { env: { AMBER_TOKEN: '0'.repeat(32) } })
  t.not(bad.code, 0, 'a wrong token is refused')
  for (let i = 0; i < 50 && !/EAUTH|wrong token/.test(err); i++) await new Promise((r) => setTimeout(r, 100))
  t.match(err, /^amber: refused a TCP connection from .*a wrong token/m, "launch's stderr shows the coordinator's error")
  const gone = new Promise((r) => launched.once('exit', r))
  launched.kill('SIGTERM')
  await gone
})

t.test('API: the same parser, AmberError EINVAL, nothing created', async (t) => {
  const base = await tempDir(t)
  const dir = join(base, 'ck')
  await t.rejects(Coordinator.start({ dir, listen: 'foo' }), { code: 'EINVAL', message: /bad listen address "foo"/ }, 'Coordinator.start({ listen: "foo" })')
  await t.rejects(Coordinator.start({ dir, listen: '127.0.0.1:7779x' }), { code: 'EINVAL' })
  await t.rejects(status({ coord: '7779' }), { code: 'EINVAL', message: /bad coordinator address "7779"/ }, 'status({ coord: "7779" })')
  await t.rejects(launch(['true'], { dir, coord: 'host:' }), { code: 'EINVAL' }, 'launch({ coord: "host:" })')
  await t.rejects(launch(['true'], { dir, listen: ':7779' }), { code: 'EINVAL' }, 'launch({ listen: ":7779" })')
  t.notOk(existsSync(dir), 'nothing was created')
  const c = await Coordinator.start({ dir, listen: '127.0.0.1:0' })
  t.match(c.tcpAddress, /^tcp:127\.0\.0\.1:\d+$/, 'listen: HOST:PORT is TCP')
  await c.close()
  t.same(readdirSync(base), ['ck'], 'and left no socket file named 127.0.0.1:0 anywhere')
})
