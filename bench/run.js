#!/usr/bin/env node
// amber benchmark: prints figures, never asserts timings. Every figure is also given as a ratio to
// a baseline measured in the same run, on the same directory:
//   - checkpoint time of a process with 64 MiB and 1 GiB resident (test/fixtures/bigmem.c) vs a
//     plain write(2)+fsync of the same number of bytes (bench/rawio.c, compiled here);
//   - restart time of the same images vs a plain read(2) of the same bytes into fresh memory;
//   - the image size of the small counter program;
//   - `amber launch /bin/true` vs plain `/bin/true` (median of N runs), end to end and difference;
//   - how long a running program with a 1 GiB heap is stopped by a live checkpoint, as it sees it
//     (bench/stall.c), forked (`checkpoint --forked`) vs stopped, both in the same run.
// With AMBER_BENCH_CRIU (the criu binary; needs root) and/or AMBER_BENCH_DMTCP (a directory
// holding dmtcp_launch, dmtcp_command, dmtcp_restart) the same figures are measured for CRIU and
// DMTCP (gzip and --no-gzip) in the same run, and printed side by side: each as a ratio to the
// same run's baseline and as amber over the tool (bench/criu.js, bench/dmtcp.js). A tool not named
// is skipped with a line saying so; a tool that fails is reported with its error, never fatal.
// Writes bench/results.json and the chart bench/results.svg; `node bench/run.js --chart-only`
// re-renders the chart from an existing bench/results.json without measuring anything.
//
// Environment: AMBER_BENCH_DIR (where images and baseline files go; default a temp dir),
// AMBER_BENCH_SIZES (MiB, comma separated; default 64,1024), AMBER_BENCH_RUNS (default 3),
// AMBER_BENCH_LAUNCH_RUNS (default 21), AMBER_BENCH_STALL_MIB (default 1024; 0 skips it),
// AMBER_CLI (default dist/lib/cli.js).
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { renderSvg, sideBySide } from './chart.js'
import { criu as criuTool } from './criu.js'
import { dmtcp as dmtcpTool } from './dmtcp.js'
import { killTagged as killTaggedIn, median, ms as fmtMs, now, sleep, start as startIn } from './lib.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const resultsJson = join(root, 'bench', 'results.json')
const resultsSvg = join(root, 'bench', 'results.svg')

// Before anything is built or a temp dir made: the chart alone is cheap to regenerate.
if (process.argv.includes('--chart-only')) {
  writeFileSync(resultsSvg, renderSvg(JSON.parse(readFileSync(resultsJson, 'utf8'))))
  console.log(`wrote ${resultsSvg} from ${resultsJson}`)
  process.exit(0)
}
const cli = process.env.AMBER_CLI ?? join(root, 'dist', 'lib', 'cli.js')
const sizes = (process.env.AMBER_BENCH_SIZES ?? '64,1024').split(',').map(Number).filter((n) => n > 0)
const runs = Math.max(1, Number(process.env.AMBER_BENCH_RUNS ?? 3))
const launchRuns = Math.max(1, Number(process.env.AMBER_BENCH_LAUNCH_RUNS ?? 21))
const stallMib = Number(process.env.AMBER_BENCH_STALL_MIB ?? 1024)
const tag = `amber-bench-${process.pid}-${randomBytes(4).toString('hex')}`
const base = mkdtempSync(join(process.env.AMBER_BENCH_DIR ?? tmpdir(), 'amber-bench-'))
const cache = process.env.AMBER_FIXTURE_CACHE ?? join(tmpdir(), 'amber-fixtures')

const env = { ...process.env, AMBER_TEST_TAG: tag }
delete env.NODE_OPTIONS
delete env.AMBER_DIR

// ---------- helpers ----------

function compile(src, name, flags) {
  mkdirSync(cache, { recursive: true, mode: 0o755 })
  const out = join(cache, name)
  let fresh = false
  try {
    fresh = statSync(out).mtimeMs >= statSync(src).mtimeMs
  } catch {}
  if (!fresh) {
    const tmp = `${out}.${process.pid}.tmp`
    execFileSync(process.env.CC ?? 'cc', [...flags, '-o', tmp, src], { stdio: 'inherit' })
    chmodSync(tmp, 0o755)
    renameSync(tmp, out)
  }
  return out
}

const start = (argv, ms = 60_000) => startIn(argv, env, ms)
const ms = (s) => fmtMs(s, 1)

function amber(args) {
  const t0 = now()
  const r = spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8', timeout: 300_000 })
  const secs = now() - t0
  if (r.status !== 0) throw new Error(`amber ${args.join(' ')} exited ${r.status ?? r.signal}: ${(r.stderr ?? '').trim()}`)
  return { stdout: r.stdout, stderr: r.stderr, secs }
}

const killTagged = () => killTaggedIn(tag)

function raw(args) {
  const out = execFileSync(rawio, args, { encoding: 'utf8' }).trim().split(' ')
  return out
}

// ---------- build ----------

for (const f of [cli]) {
  try {
    statSync(f)
  } catch {
    console.error(`amber bench: ${f} is missing: run \`npm install\` (or \`npm run build\`) first`)
    process.exit(3)
  }
}
const bigmem = compile(join(root, 'test', 'fixtures', 'bigmem.c'), 'bigmem', ['-O1', '-pthread'])
const counter = compile(join(root, 'test', 'fixtures', 'counter.c'), 'counter', ['-O1', '-pthread'])
const rawio = compile(join(root, 'bench', 'rawio.c'), 'bench-rawio', ['-O2'])
const stall = compile(join(root, 'bench', 'stall.c'), 'bench-stall', ['-O2'])

// The other tools get the very same programs; each decides here whether it runs (and says why not).
const ctx = { base, env, bigmem, counter, stall, stallMib }
const tools = [criuTool(ctx), dmtcpTool(ctx, { gzip: true }), dmtcpTool(ctx, { gzip: false })]
for (const t of tools) if (t.status !== 'ok') process.stderr.write(`bench: ${t.name}: ${t.status}: ${t.note}\n`)

// One case of another tool: its result, or null with the error recorded against it. A tool that
// fails before it has worked once in this run is not tried again (the next case would only fail
// the same way, slowly); the failure is reported, never fatal to the bench.
async function attempt(tool, c, what, fn) {
  if (tool.status !== 'ok') return null
  try {
    return await fn()
  } catch (e) {
    tool.errors.push({ case: c, what, message: e.message })
    process.stderr.write(`bench: ${tool.name} ${what}: ${e.message}\n`)
    killTagged()
    if (!tool.memory.length && !tool.stall.length && !tool.counter && !tool.launch) {
      tool.status = 'failed'
      tool.note = `${what}: ${e.message}`
    }
    return null
  }
}

const results = {
  date: new Date().toISOString(),
  host: { kernel: execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim(), cpus: (await import('node:os')).availableParallelism(), node: process.version },
  dir: base,
  runs,
  sizes,
  baseline: [],
  memory: [],
  counter: null,
  launch: null,
  stall: [],
  errors: [],
  tools: Object.fromEntries(tools.map((t) => [t.key, t])),
}

// ---------- checkpoint / restart of bigmem ----------

async function memoryCase(mib, run) {
  const dir = join(base, `mem-${mib}-${run}`)
  mkdirSync(dir)
  // period 5 ms, checksum only on the first line: a line every ~5 ms shows when it runs again
  const app = start([process.execPath, cli, 'launch', '--dir', dir, '--', bigmem, String(mib), '5', '1000000000'])
  await app.waitFor((l) => l.length >= 3, 300_000, 'bigmem to fill its memory')
  // start every timed write with no dirty data of earlier runs still in flight (amber and baseline alike)
  spawnSync('sync')
  const ck = amber(['checkpoint', '--dir', dir, '--kill', '--json'])
  const j = JSON.parse(ck.stdout)
  await Promise.race([app.exited, sleep(10_000)])
  const lastTick = Math.max(...app.lines.map((l) => Number(/^tick (\d+)$/.exec(l)?.[1] ?? 0)))
  const imageBytes = j.images.reduce((s, f) => s + statSync(f).size, 0)

  // restart: from spawning `amber restart` to the restored app's first line
  const t0 = now()
  const r = start([process.execPath, cli, 'restart', '--dir', dir])
  const first = await r.waitFor((l) => l[0], 300_000, 'the first line after restart')
  const restartSecs = now() - t0
  const continued = first === `tick ${lastTick + 1}`
  killTagged()
  await Promise.race([r.exited, sleep(5_000)])
  rmSync(dir, { recursive: true, force: true })
  return {
    mib,
    run,
    imageBytes,
    manifestBytes: j.bytes,
    checkpointCli: ck.secs,
    checkpointReported: j.seconds,
    restart: restartSecs,
    continued,
  }
}

// The baseline of one run: amber's image size in bytes (or the heap size, if amber failed in this
// run), written with write(2)+fsync and read back, in the directory every tool's images go to.
function baselineCase(mib, run, bytes) {
  const dir = join(base, `baseline-${mib}-${run}`)
  mkdirSync(dir)
  const bfile = join(dir, 'baseline.bin')
  spawnSync('sync')
  const [, , wsecs] = raw(['write', bfile, String(bytes)])
  const [, , rsecs, , rreuse] = raw(['read', bfile])
  rmSync(dir, { recursive: true, force: true })
  return { mib, run, bytes, rawWrite: Number(wsecs), rawRead: Number(rsecs), rawReadReuse: Number(rreuse) }
}

for (const mib of sizes) {
  for (let run = 0; run < runs; run++) {
    let m = null
    try {
      m = await memoryCase(mib, run)
      process.stderr.write(`bench: ${mib} MiB run ${run + 1}/${runs}: checkpoint ${m.checkpointCli.toFixed(3)} s, restart ${m.restart.toFixed(3)} s\n`)
    } catch (e) {
      results.errors.push(`${mib} MiB run ${run}: ${e.message}`)
      process.stderr.write(`bench: ${mib} MiB run ${run + 1}: ${e.message}\n`)
      killTagged()
    }
    // every tool in the same run, then the one baseline all of them are divided by
    for (const t of tools) {
      const r = await attempt(t, `mem ${mib}`, `${mib} MiB run ${run + 1}`, () => t.memoryCase(mib, run))
      if (r) {
        t.memory.push(r)
        process.stderr.write(`bench: ${t.name} ${mib} MiB run ${run + 1}/${runs}: checkpoint ${r.checkpoint.toFixed(3)} s, restart ${r.restart.toFixed(3)} s\n`)
      }
    }
    try {
      const b = baselineCase(mib, run, m?.imageBytes ?? mib * 1048576)
      results.baseline.push(b)
      // (kept on amber's entries too: the shape results.json always had)
      if (m) Object.assign(m, { rawWrite: b.rawWrite, rawRead: b.rawRead, rawReadReuse: b.rawReadReuse })
    } catch (e) {
      results.errors.push(`baseline ${mib} MiB run ${run}: ${e.message}`)
    }
    if (m) results.memory.push(m)
  }
}

// ---------- program stopped during a live checkpoint: forked vs stopped ----------

// One run: the same program (a heap of stallMib MiB it keeps dirtying) checkpointed live, stopped
// then forked, in the same run; each figure is the longest time the program itself saw itself
// not running, from just before the command to just after it returned.
async function stallCase(run) {
  const dir = join(base, `stall-${run}`)
  mkdirSync(dir)
  const app = start([process.execPath, cli, 'launch', '--dir', dir, '--', stall, String(stallMib)])
  await app.waitFor((l) => l.includes('ready'), 300_000, 'stall to fill its memory')
  const one = async (forked) => {
    spawnSync('sync')
    await sleep(200)
    const from = app.lines.length
    // (not spawnSync: the program's output must keep being read, or it stalls on a full pipe)
    const t0 = now()
    const c = start([process.execPath, cli, 'checkpoint', '--dir', dir, '--json', ...(forked ? ['--forked'] : [])])
    const ex = await c.exited
    const ck = { secs: now() - t0, stdout: c.lines.join('\n') }
    if (ex.code !== 0) throw new Error(`amber checkpoint exited ${ex.code ?? ex.signal}: ${c.err.trim()}`)
    await sleep(300)
    const us = app.lines.slice(from).map((l) => Number(/^stall (\d+)$/.exec(l)?.[1] ?? 0))
    return { stopped: Math.max(0, ...us) / 1e6, checkpoint: ck.secs, bytes: JSON.parse(ck.stdout).bytes }
  }
  const stopped = await one(false)
  const forked = await one(true)
  killTagged()
  await Promise.race([app.exited, sleep(5_000)])
  rmSync(dir, { recursive: true, force: true })
  return { mib: stallMib, run, stoppedStall: stopped.stopped, forkedStall: forked.stopped, stoppedCheckpoint: stopped.checkpoint, forkedCheckpoint: forked.checkpoint, bytes: forked.bytes }
}

if (stallMib > 0) {
  for (let run = 0; run < runs; run++) {
    try {
      const m = await stallCase(run)
      results.stall.push(m)
      process.stderr.write(`bench: stall ${stallMib} MiB run ${run + 1}/${runs}: stopped ${ms(m.stoppedStall)} (checkpoint ${ms(m.stoppedCheckpoint)}), forked ${ms(m.forkedStall)} (checkpoint ${ms(m.forkedCheckpoint)})\n`)
    } catch (e) {
      results.errors.push(`stall run ${run}: ${e.message}`)
      process.stderr.write(`bench: stall run ${run + 1}: ${e.message}\n`)
      killTagged()
    }
    for (const t of tools) {
      const r = await attempt(t, 'stall', `stall run ${run + 1}`, () => t.stallCase(run))
      if (r) {
        t.stall.push(r)
        process.stderr.write(`bench: ${t.name} stall ${stallMib} MiB run ${run + 1}/${runs}: ${ms(r.stall)} (checkpoint ${ms(r.checkpoint)})\n`)
      }
    }
  }
}

// ---------- counter image size ----------

try {
  const dir = join(base, 'counter')
  mkdirSync(dir)
  const app = start([process.execPath, cli, 'launch', '--dir', dir, '--', counter, '50'])
  await app.waitFor((l) => l.length >= 3, 30_000, 'counter output')
  const j = JSON.parse(amber(['checkpoint', '--dir', dir, '--kill', '--json']).stdout)
  await Promise.race([app.exited, sleep(10_000)])
  results.counter = { imageBytes: j.images.reduce((s, f) => s + statSync(f).size, 0), manifestBytes: j.bytes }
} catch (e) {
  results.errors.push(`counter: ${e.message}`)
  killTagged()
}
for (const t of tools) t.counter = (await attempt(t, 'counter', 'counter image', () => t.counterCase())) ?? null

// ---------- launch latency ----------

function timeIt(argv, extraEnv = {}) {
  const t0 = now()
  const r = spawnSync(argv[0], argv.slice(1), { env: { ...env, ...extraEnv }, stdio: ['ignore', 'ignore', 'pipe'] })
  const s = now() - t0
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status ?? r.signal}: ${String(r.stderr).trim()}`)
  return s
}
try {
  const dir = join(base, 'launch')
  mkdirSync(dir)
  const plain = []
  const node = []
  const launched = []
  // other tools that launch programs (DMTCP): in the same loop, a failure is theirs alone
  const others = tools.filter((t) => t.status === 'ok' && t.launchArgv).map((t) => ({ t, argv: t.launchArgv(join(base, `launch-${t.key}`)), xs: [] }))
  // interleaved, so drift in machine load hits all of them alike; one warm-up each
  for (let i = 0; i <= launchRuns; i++) {
    const a = timeIt(['/bin/true'])
    const b = timeIt([process.execPath, '-e', '0'])
    const c = timeIt([process.execPath, cli, 'launch', '--dir', dir, '--', '/bin/true'])
    if (i > 0) plain.push(a), node.push(b), launched.push(c)
    for (const o of others) {
      const x = await attempt(o.t, 'launch', 'launch /bin/true', () => timeIt(o.argv))
      if (x != null && i > 0) o.xs.push(x)
    }
  }
  for (const o of others) if (o.xs.length) o.t.launch = { median: median(o.xs), runs: o.xs.length }
  killTagged() // coordinators dmtcp_launch started, if any outlived their /bin/true
  // The agent's own share: /bin/true preloaded with it, registering with a coordinator that is
  // already running (what a launcher embedding amber pays per process; no node start-up in it).
  const { agentPath } = await import(join(root, 'dist', 'lib', 'index.js'))
  const cdir = join(base, 'launch-coord')
  mkdirSync(cdir)
  const coord = start([process.execPath, cli, 'coordinator', '--dir', cdir])
  const sock = join(cdir, '.amber', 'coord.sock')
  for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50))
  const agentEnv = { LD_PRELOAD: agentPath(), AMBER_COORD: sock }
  const plain2 = []
  const agent = []
  for (let i = 0; i <= launchRuns * 3; i++) {
    const a = timeIt(['/bin/true'])
    const b = timeIt(['/bin/true'], agentEnv)
    if (i > 0) plain2.push(a), agent.push(b)
  }
  coord.child.kill('SIGTERM')
  results.launch = {
    agentTrue: median(agent),
    agentOverhead: median(agent) - median(plain2),
    runs: launchRuns,
    plainTrue: median(plain),
    nodeStartup: median(node),
    amberLaunchTrue: median(launched),
    difference: median(launched) - median(plain),
    overNodeStartup: median(launched) - median(node),
  }
} catch (e) {
  results.errors.push(`launch: ${e.message}`)
}
killTagged()
rmSync(base, { recursive: true, force: true })

// ---------- report ----------

const mb = (b) => (b / 1048576).toFixed(1) + ' MiB'
const rows = [['figure', 'amber (median)', 'baseline, same run (median)', 'ratio: median of runs [min-max]']]
for (const mib of sizes) {
  const ms_ = results.memory.filter((m) => m.mib === mib)
  if (!ms_.length) continue
  const med = (k) => median(ms_.map((m) => m[k]))
  const ratio = (a, b) => {
    const rs = ms_.map((m) => m[a] / m[b])
    return `${median(rs).toFixed(2)}× [${Math.min(...rs).toFixed(2)}-${Math.max(...rs).toFixed(2)}]`
  }
  const bytes = med('imageBytes')
  rows.push([`checkpoint ${mib} MiB (CLI, image ${mb(bytes)})`, ms(med('checkpointCli')), `write+fsync ${ms(med('rawWrite'))}`, ratio('checkpointCli', 'rawWrite')])
  rows.push([`checkpoint ${mib} MiB (its reported seconds)`, ms(med('checkpointReported')), `write+fsync ${ms(med('rawWrite'))}`, ratio('checkpointReported', 'rawWrite')])
  rows.push([`restart ${mib} MiB (CLI to first line)`, ms(med('restart')), `read into new memory ${ms(med('rawRead'))}`, ratio('restart', 'rawRead')])
  rows.push([`  vs read into a reused 1 MiB buffer`, '', ms(med('rawReadReuse')), ratio('restart', 'rawReadReuse')])
  rows.push([`  restored app continued`, `${ms_.filter((m) => m.continued).length}/${ms_.length} runs`, '', ''])
}
if (results.stall.length) {
  const st = results.stall
  const rs = st.map((m) => m.forkedStall / m.stoppedStall)
  rows.push([
    `program stopped during checkpoint, ${st[0].mib >= 1024 ? `${st[0].mib / 1024} GiB` : `${st[0].mib} MiB`} heap, forked`,
    ms(median(st.map((m) => m.forkedStall))),
    `stopped checkpoint ${ms(median(st.map((m) => m.stoppedStall)))}`,
    `${median(rs).toFixed(3)}× [${Math.min(...rs).toFixed(3)}-${Math.max(...rs).toFixed(3)}] (target ≤ 50 ms)`,
  ])
  rows.push([`  checkpoint command, forked`, ms(median(st.map((m) => m.forkedCheckpoint))), `stopped ${ms(median(st.map((m) => m.stoppedCheckpoint)))}`, ''])
}
if (results.counter) rows.push(['counter image size', `${results.counter.imageBytes} B (${(results.counter.imageBytes / 1024).toFixed(1)} KiB)`, 'target ≤ 150 KB', ''])
if (results.launch) {
  const l = results.launch
  rows.push([`amber launch /bin/true (median of ${l.runs})`, ms(l.amberLaunchTrue), `/bin/true ${ms(l.plainTrue)}`, `+${ms(l.difference)}`])
  rows.push(['  of which node startup', ms(l.nodeStartup), `node -e 0`, `amber over node: +${ms(l.overNodeStartup)}`])
  rows.push([`/bin/true with the agent, live coordinator`, ms(l.agentTrue), `/bin/true ${ms(l.plainTrue)}`, `+${ms(l.agentOverhead)} (target ≤ 5 ms)`])
}
function printTable(rows) {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  for (const [i, r] of rows.entries()) {
    console.log(r.map((c, j) => c.padEnd(w[j])).join('  ').trimEnd())
    if (i === 0) console.log(w.map((n) => '-'.repeat(n)).join('  '))
  }
}
printTable(rows)
for (const e of results.errors) console.log(`error: ${e}`)

// Side by side: every figure for the baseline, amber and each other tool that was not skipped.
console.log('')
printTable(sideBySide(results))
for (const t of tools) {
  if (t.status === 'ok') console.log(`${t.name}: ${t.version ?? 'version unknown'}${t.errors.length ? `; ${t.errors.length} case(s) failed:` : ''}`)
  else console.log(`${t.name}${t.version ? ` (${t.version})` : ''}: ${t.status}: ${t.note}`)
  if (t.status === 'ok') for (const e of t.errors) console.log(`  ${e.what}: ${e.message}`)
}
writeFileSync(resultsJson, JSON.stringify(results, null, 2) + '\n')
writeFileSync(resultsSvg, renderSvg(results))
console.log(`(raw figures in bench/results.json, chart in bench/results.svg; images and baselines in ${base}, removed)`)
