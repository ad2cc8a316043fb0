// Packaging: `npm run prebuild` (prebuildify) packs the addon, the agent and the restorer into
// prebuilds/linux-x64/, and with PREBUILDS_ONLY=1 (build/ ignored) amber finds all three there
// and a real checkpoint -> kill -> restart works from them.
//
// It runs in a copy of the package (its files, dist/ and a link to node_modules): the prebuild
// rebuilds the native code in place, and a rebuild cut short here (a loaded machine, a timeout)
// must not leave the checkout every other test uses without its build/.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build, repoRoot } from './helpers/fixtures.js'

const skip = process.env.AMBER_TEST_AS ? 'the unprivileged rerun does not rebuild the package' : false

// A full native rebuild (prebuildify, then node-gyp again) before the cycle: on a busy 2-core
// machine that alone can take minutes.
t.setTimeout(900_000)

const copy = skip ? '' : mkdtempSync(join(tmpdir(), 'amber-pkg-'))
if (copy) {
  t.teardown(() => rmSync(copy, { recursive: true, force: true }))
  const files = spawnSync('git', ['ls-files', '-z'], { cwd: repoRoot, encoding: 'utf8' })
  const list = files.status === 0 ? files.stdout.split('\0').filter(Boolean) : []
  for (const f of list) if (existsSync(join(repoRoot, f))) cpSync(join(repoRoot, f), join(copy, f), { recursive: true })
  cpSync(join(repoRoot, 'dist'), join(copy, 'dist'), { recursive: true })
  symlinkSync(join(repoRoot, 'node_modules'), join(copy, 'node_modules'))
  // the CLI the helpers run is the copy's, which finds its native code in the copy only
  process.env.AMBER_CLI = join(copy, 'dist', 'lib', 'cli.js')
}
const { checkpointKillRestart, ints, setup } = await import('./helpers/amber.js')

t.test('prebuildify packs all three, and they work with PREBUILDS_ONLY=1', { skip }, async (t) => {
  t.ok(existsSync(join(copy, 'package.json')), `a copy of the package in ${copy}`)
  const r = spawnSync('npm', ['run', 'prebuild'], { cwd: copy, encoding: 'utf8', timeout: 600_000 })
  const tail = r.stderr.split('\n').filter((l) => !/nodedir|gyp info|npm warn|^\s*$/.test(l)).slice(-20).join('\n')
  t.equal(r.status, 0, 'npm run prebuild exits 0', { status: r.status, signal: r.signal, error: String(r.error), stderr: tail })
  const dir = join(copy, 'prebuilds', 'linux-x64')
  for (const f of ['libamber.so', 'amber-restart']) t.ok(existsSync(join(dir, f)), `prebuilds/linux-x64/${f}`)
  const node = spawnSync('sh', ['-c', `ls ${dir}/*.node`], { encoding: 'utf8' })
  t.equal(node.status, 0, `an addon in prebuilds/linux-x64: ${node.stdout.trim()}`)
  // build/ gone: only the prebuilds can answer
  rmSync(join(copy, 'build'), { recursive: true, force: true })

  const where = spawnSync(process.execPath, ['--input-type=module', '-e',
    "const m = await import('./dist/lib/index.js'); console.log(m.agentPath()); console.log(m.restorerPath())"],
  { cwd: copy, encoding: 'utf8', env: { ...process.env, PREBUILDS_ONLY: '1' } })
  t.equal(where.status, 0, where.stderr)
  const [agent, restorer] = where.stdout.trim().split('\n')
  t.equal(agent, join(dir, 'libamber.so'), 'the agent is found next to the prebuilt addon')
  t.equal(restorer, join(dir, 'amber-restart'), 'the restorer is found next to the prebuilt addon')

  const a = await setup(t, { env: { PREBUILDS_ONLY: '1' } })
  const counter = await build('counter')
  const app = a.launch([counter, '100'])
  await app.waitLines(4)
  const { before, restarted } = await checkpointKillRestart(a, app, { after: 3, exe: counter })
  const b = ints(before)
  const after = ints(restarted.lines)
  t.equal(after[0], b[b.length - 1]! + 1, 'the counter continues from the prebuilt artifacts')
})
