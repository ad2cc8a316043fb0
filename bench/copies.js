#!/usr/bin/env node
// amber copies benchmark (issue 14): N warm starts vs N cold starts, measured in the same run.
// For a python3 program that builds a large dict (bench/bigdict.py) and a node program that
// builds a large Map (bench/bigmap.js), then wait:
//   - cold: N plain processes started at once, until every one has said "ready";
//   - warm, CLI: the program launched under amber once, checkpointed (--kill) once it is ready,
//     then `amber restart --copies N` of that one generation, until it has printed its N "copy I
//     pid" lines (printed once every copy runs again, past "ready"). This includes node's start-up
//     for the CLI (the copies' coordinators run inside it);
//   - warm, API: restart(gen, { copies: N }) in this process (its N coordinators in-process too),
//     until it resolves (every copy runs again): the restore itself without those start-ups.
// Prints each figure and the ratio warm/cold (median of runs, [min-max]); never asserts timings.
// Writes bench/copies-results.json.
//
// Environment: AMBER_BENCH_COPIES (N, default 4), AMBER_BENCH_RUNS (default 3),
// AMBER_BENCH_ENTRIES (dict/Map entries, default 1000000), AMBER_BENCH_DIR (default a temp dir),
// AMBER_CLI (default dist/lib/cli.js).
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { killTagged as killTaggedIn, median, ms as fmtMs, now, sleep, start as startIn } from './lib.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const cli = process.env.AMBER_CLI ?? join(root, 'dist', 'lib', 'cli.js')
const copies = Math.max(1, Number(process.env.AMBER_BENCH_COPIES ?? 4))
const runs = Math.max(1, Number(process.env.AMBER_BENCH_RUNS ?? 3))
const entries = Math.max(1, Number(process.env.AMBER_BENCH_ENTRIES ?? 1000000))
const tag = `amber-bench-${process.pid}-${randomBytes(4).toString('hex')}`
const base = mkdtempSync(join(process.env.AMBER_BENCH_DIR ?? tmpdir(), 'amber-bench-copies-'))
const env = { ...process.env, AMBER_TEST_TAG: tag }
delete env.NODE_OPTIONS
delete env.AMBER_DIR

const start = (argv, ms = 300_000) => startIn(argv, env, ms)
const ms = (s) => fmtMs(s, 0)

const killTagged = () => killTaggedIn(tag)

try {
  statSync(cli)
} catch {
  console.error(`amber bench: ${cli} is missing: run \`npm run build\` first`)
  process.exit(3)
}

const programs = [
  { name: 'python3 dict', argv: ['/usr/bin/python3', join(root, 'bench', 'bigdict.py'), String(entries)] },
  { name: 'node Map', argv: [process.execPath, join(root, 'bench', 'bigmap.js'), String(entries)] },
]
const isReady = (l) => l.startsWith('ready ')

/** N plain processes at once, until each said ready. */
async function cold(p) {
  const t0 = now()
  const ps = Array.from({ length: copies }, () => start(p.argv))
  await Promise.all(ps.map((x) => x.waitFor((l) => l.some(isReady), 300_000, 'ready')))
  const secs = now() - t0
  for (const x of ps) x.child.kill('SIGKILL')
  await Promise.all(ps.map((x) => x.exited))
  return secs
}

/** The program under amber, checkpointed once ready: the generation the warm starts come from. */
async function image(p, dir) {
  const app = start([process.execPath, cli, 'launch', '--dir', dir, '--', ...p.argv])
  await app.waitFor((l) => l.some(isReady), 300_000, 'ready under amber')
  const r = spawnSync(process.execPath, [cli, 'checkpoint', '--dir', dir, '--kill', '--json'], { env, encoding: 'utf8', timeout: 300_000 })
  if (r.status !== 0) throw new Error(`amber checkpoint exited ${r.status ?? r.signal}: ${r.stderr.trim()}`)
  await app.exited
  const j = JSON.parse(r.stdout)
  return { manifest: j.manifest, bytes: j.images.reduce((s, f) => s + statSync(f).size, 0) }
}

const { restart } = await import(join(root, 'dist', 'lib', 'index.js'))

/** restart(..., { copies: N }) in this process, until every copy runs. */
async function warmApi(p, dir, run) {
  const cdir = join(base, `${p.name.split(' ')[0]}-api-${run}`)
  const t0 = now()
  const r = await restart(dir, { copies, copiesDir: cdir, stdio: 'ignore', env })
  const secs = now() - t0
  const failed = r.copies.filter((c) => c.error !== undefined)
  r.kill('SIGKILL')
  await r.exited
  rmSync(cdir, { recursive: true, force: true })
  if (failed.length) throw new Error(failed.map((c) => c.error.message).join('; '))
  return secs
}

/** `amber restart --copies N` of the generation, until every copy runs. */
async function warm(p, dir, run) {
  const cdir = join(base, `${p.name.split(' ')[0]}-copies-${run}`)
  const t0 = now()
  const r = start([process.execPath, cli, 'restart', '--dir', dir, '--copies', String(copies), '--copies-dir', cdir, '--copy-output'])
  await r.waitFor((l) => l.filter((x) => /^copy \d+ pid \d+ /.test(x)).length >= copies, 300_000, `${copies} copies running`)
  const secs = now() - t0
  killTagged()
  await Promise.race([r.exited, sleep(10_000)])
  rmSync(cdir, { recursive: true, force: true })
  return secs
}

const results = { date: new Date().toISOString(), load: readFileSync('/proc/loadavg', 'utf8').trim(), copies, runs, entries, programs: [], errors: [] }
for (const p of programs) {
  const dir = join(base, p.name.split(' ')[0])
  mkdirSync(dir)
  const res = { name: p.name, imageBytes: 0, cold: [], warm: [], warmApi: [] }
  try {
    const img = await image(p, dir)
    res.imageBytes = img.bytes
    // interleaved, so drift in the machine's load hits both alike
    for (let run = 0; run < runs; run++) {
      spawnSync('sync')
      res.cold.push(await cold(p))
      res.warm.push(await warm(p, dir, run))
      res.warmApi.push(await warmApi(p, dir, run))
      process.stderr.write(`bench: ${p.name} run ${run + 1}/${runs}: ${copies} cold ${ms(res.cold.at(-1))}, ${copies} warm CLI ${ms(res.warm.at(-1))}, API ${ms(res.warmApi.at(-1))}\n`)
    }
  } catch (e) {
    results.errors.push(`${p.name}: ${e.message}`)
    process.stderr.write(`bench: ${p.name}: ${e.message}\n`)
  }
  killTagged()
  results.programs.push(res)
}
killTagged()
rmSync(base, { recursive: true, force: true })

const rows = [['figure', 'warm (median)', 'cold, same run (median)', 'ratio warm/cold: median [min-max]']]
for (const r of results.programs) {
  if (!r.warm.length) continue
  const ratio = (xs) => {
    const rs = xs.map((w, i) => w / r.cold[i])
    return `${median(rs).toFixed(2)}× [${Math.min(...rs).toFixed(2)}-${Math.max(...rs).toFixed(2)}]`
  }
  rows.push([
    `${copies} × ${r.name} (${entries} entries, image ${(r.imageBytes / 1048576).toFixed(1)} MiB)`,
    `restart --copies ${copies}: ${ms(median(r.warm))}`,
    `${copies} plain starts: ${ms(median(r.cold))}`,
    ratio(r.warm),
  ])
  if (r.warmApi.length === r.warm.length) rows.push([`  the same, API in-process`, `restart({ copies: ${copies} }): ${ms(median(r.warmApi))}`, '', ratio(r.warmApi)])
}
const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
for (const [i, r] of rows.entries()) {
  console.log(r.map((c, j) => c.padEnd(w[j])).join('  ').trimEnd())
  if (i === 0) console.log(w.map((n) => '-'.repeat(n)).join('  '))
}
for (const e of results.errors) console.log(`error: ${e}`)
writeFileSync(join(root, 'bench', 'copies-results.json'), JSON.stringify(results, null, 2) + '\n')
console.log(`(raw figures in bench/copies-results.json)`)
