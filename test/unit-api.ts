// The package's public API as users load it: `import ... from 'amber'` and `require('amber')` in
// real `node` child processes (package self-reference through the "exports" map: ESM gets
// dist/lib, CommonJS gets dist/cjs/lib). Each drives a real Coordinator with a real socket client,
// checks errors are AmberError subclasses of Error with a string code, and that the library
// printed nothing (only the script's one JSON line reaches stdout; stderr stays empty).
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const root = dirname(dirname(fileURLToPath(import.meta.url)))

function node(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, args, { cwd: root, env: { ...process.env, NODE_DEBUG: '', ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      res({ code: err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null, stdout, stderr })
    })
  })
}

// The same body for both module systems: `amber` is the loaded module.
const body = (dir: string) => `
  const out = {};
  const { Coordinator, AmberError, UsageError, checkpoint, status, plugins, launch, restart, readImage, readManifest } = amber;
  out.types = [typeof Coordinator, typeof launch, typeof restart, typeof checkpoint, typeof readImage, typeof readManifest, typeof plugins];
  try { await status({ dir: ${JSON.stringify(join(dir, 'nowhere'))}, timeout: 5 }); } catch (e) {
    out.noCoord = { isAmber: e instanceof AmberError, isError: e instanceof Error, code: e.code, exitCode: e.exitCode };
  }
  out.usage = new UsageError('x') instanceof AmberError;
  const c = await Coordinator.start({ dir: ${JSON.stringify(dir)} });
  const events = [];
  c.on('register', (p) => events.push('register ' + p.vpid));
  const net = require('node:net');
  const s = net.connect(c.socketPath);
  await new Promise((r) => s.once('connect', r));
  s.write(JSON.stringify({ t: 'hello', pid: process.pid, ppid: 1, vpid: 0, cmd: 'x', host: 'h', restored: false, gen: 0, image: '',
    plugins: [{ name: 'p', path: '/p.so', wraps: ['sleep'] }] }) + '\\n');
  await new Promise((r) => s.once('data', r));
  const st = await status({ dir: ${JSON.stringify(dir)} });
  out.status = { processes: st.processes.length, listen: st.coordinator.listen === c.socketPath };
  out.plugins = (await plugins({ dir: ${JSON.stringify(dir)} })).processes[0].plugins[0].wraps;
  try { await readManifest(${JSON.stringify(join(dir, 'no.json'))}); } catch (e) { out.manifestErr = [e instanceof AmberError, e.code]; }
  out.events = events;
  s.destroy();
  await c.close();
  console.log(JSON.stringify(out));
`

const expected = {
  types: ['function', 'function', 'function', 'function', 'function', 'function', 'function'],
  noCoord: { isAmber: true, isError: true, code: 'ENOCOORD', exitCode: 4 },
  usage: true,
  status: { processes: 1, listen: true },
  plugins: ['sleep'],
  manifestErr: [true, 'ENOENT'],
  events: ['register 1'],
}

t.test('the build exists', async (t) => {
  t.ok(existsSync(join(root, 'dist', 'lib', 'index.js')), 'dist/lib (ESM)')
  t.ok(existsSync(join(root, 'dist', 'cjs', 'lib', 'index.js')), 'dist/cjs/lib (CommonJS)')
  t.same(JSON.parse(readFileSync(join(root, 'dist', 'cjs', 'package.json'), 'utf8')), { type: 'commonjs' })
  const pj = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  t.match(pj.exports['.'], {
    import: { types: './dist/lib/index.d.ts', default: './dist/lib/index.js' },
    require: { types: './dist/cjs/lib/index.d.ts', default: './dist/cjs/lib/index.js' },
  })
  t.equal(pj.types, './dist/lib/index.d.ts', 'the declarations generated from lib/ (test/types-contract.ts checks them)')
})

t.test('import amber (ESM)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'amber-api-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const script = `import * as amber from 'amber'; import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);
    ${body(dir)}`
  const r = await node(['--input-type=module', '-e', script])
  t.equal(r.stderr, '', 'nothing on stderr')
  t.equal(r.code, 0)
  const lines = r.stdout.trim().split('\n')
  t.equal(lines.length, 1, 'the library printed nothing on stdout')
  t.same(JSON.parse(lines[0]!), expected)
  const where = await node(['--input-type=module', '-e', `console.log(import.meta.resolve('amber'))`])
  t.match(where.stdout.trim(), /\/dist\/lib\/index\.js$/, 'import resolves to dist/lib')
})

t.test('require amber (CommonJS)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'amber-api-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const script = `const amber = require('amber'); (async () => { ${body(dir)} })().catch((e) => { console.error(e); process.exit(1) });`
  const r = await node(['-e', script])
  t.equal(r.stderr, '', 'nothing on stderr')
  t.equal(r.code, 0)
  const lines = r.stdout.trim().split('\n')
  t.equal(lines.length, 1, 'the library printed nothing on stdout')
  t.same(JSON.parse(lines[0]!), expected)
  const where = await node(['-e', `console.log(require.resolve('amber'))`])
  t.match(where.stdout.trim(), /\/dist\/cjs\/lib\/index\.js$/, 'require resolves to dist/cjs')
})

t.test('debug output only with NODE_DEBUG=amber', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'amber-api-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const script = `const { Coordinator } = require('amber'); Coordinator.start({ dir: ${JSON.stringify(dir)} }).then((c) => c.close());`
  const quiet = await node(['-e', script])
  t.equal(quiet.stdout + quiet.stderr, '', 'silent by default')
  const loud = await node(['-e', script], { NODE_DEBUG: 'amber' })
  t.match(loud.stderr, /AMBER \d+: coordinator \d+ listening at/, 'util.debuglog("amber") talks when asked')
})
