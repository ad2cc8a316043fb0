// DMTCP side of bench/run.js: the same workloads under an installed DMTCP whose binaries
// (dmtcp_launch, dmtcp_command, dmtcp_restart, and the dmtcp_coordinator they start) are in the
// directory AMBER_BENCH_DMTCP names. Nothing here builds or fetches DMTCP. Two variants, as the
// issue quotes both: images gzipped (DMTCP's default, `--gzip`) and `--no-gzip`.
//
// Only the documented command line is used (dmtcp_launch(1), dmtcp_command(1), dmtcp_restart(1)):
//   launch     `dmtcp_launch --new-coordinator -p 0 --port-file F --ckptdir DIR [--gzip|--no-gzip] prog`
//              a coordinator of its own per run, on a port the kernel picks (read from F), so runs
//              and other users' coordinators on the default port 7779 never meet;
//   checkpoint `dmtcp_command -p PORT -bc` (blocking: returns once the images are written), wall
//              clock; the program is then killed (`--quit`), like `amber checkpoint --kill`;
//   restart    from spawning `dmtcp_restart --new-coordinator -p 0 --port-file F2 ckpt_*.dmtcp`
//              to the program's first new line;
//   image size the ckpt_*.dmtcp files;
//   stall      a live `-bc` of bench/stall.c (DMTCP stops every user thread while it writes).
// `-p` rather than --port/--coord-port: the long name changed between DMTCP 2.3 and 2.6, the
// short one did not.
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { check, dirBytes, gist, lastTick, logLines, now, sleep, startToFile, timed, waitLog } from './lib.js'

const isImage = (name) => /^ckpt_.*\.dmtcp$/.test(name)

export function dmtcp(ctx, { gzip }) {
  const dir = process.env.AMBER_BENCH_DMTCP
  const key = gzip ? 'dmtcp' : 'dmtcp-nogzip'
  const tool = { key, name: gzip ? 'DMTCP (gzip)' : 'DMTCP --no-gzip', status: 'ok', note: '', version: null, memory: [], stall: [], counter: null, launch: null, errors: [] }
  if (!dir) {
    tool.status = 'skipped'
    tool.note = 'AMBER_BENCH_DMTCP is not set (to compare: AMBER_BENCH_DMTCP=DIR holding dmtcp_launch, dmtcp_command, dmtcp_restart)'
    return tool
  }
  const bin = (n) => join(dir, n)
  for (const n of ['dmtcp_launch', 'dmtcp_command', 'dmtcp_restart']) {
    try {
      accessSync(bin(n), constants.X_OK)
    } catch (e) {
      tool.status = 'failed'
      tool.note = `${bin(n)}: ${e.code === 'ENOENT' ? 'not found' : e.message} (AMBER_BENCH_DMTCP must name the directory holding dmtcp_launch, dmtcp_command, dmtcp_restart)`
      return tool
    }
  }
  const v = timed([bin('dmtcp_launch'), '--version'], ctx.env, 10_000)
  if (v.status !== 0) {
    tool.status = 'failed'
    tool.note = `dmtcp_launch --version: ${v.error ?? `exited ${v.status ?? v.signal}`}: ${gist(v.stderr + v.stdout)}`
    return tool
  }
  tool.version = gist(v.stdout, 1)

  // Per case: its own temp dir for DMTCP's files too, so nothing is shared between runs.
  const caseEnv = (d) => {
    const tmp = join(d, 'tmp')
    mkdirSync(tmp, { recursive: true })
    return { ...ctx.env, DMTCP_TMPDIR: tmp }
  }
  const portOf = async (file, p, what) => {
    const port = await waitLog(file, () => (existsSync(file) ? readFileSync(file, 'utf8').trim() || false : false), 30_000, `${what} coordinator's port`, {
      failed: () => p.exit && `${what} exited ${JSON.stringify(p.exit)}: ${gist(p.errText())}`,
    })
    if (!/^\d+$/.test(port)) throw new Error(`unexpected port file content ${JSON.stringify(port)}`)
    return port
  }
  const launch = async (d, env, argv, log) => {
    const ckdir = join(d, 'ckpt')
    mkdirSync(ckdir, { recursive: true })
    const pf = join(d, 'port')
    const p = startToFile([bin('dmtcp_launch'), '--new-coordinator', '-p', '0', '--port-file', pf, '--ckptdir', ckdir, gzip ? '--gzip' : '--no-gzip', ...argv], env, log)
    p.ckdir = ckdir
    p.port = await portOf(pf, p, 'dmtcp_launch')
    return p
  }
  const command = (env, port, ...args) => {
    const argv = [bin('dmtcp_command'), '-p', port, ...args]
    return check(timed(argv, env), argv)
  }
  // Kill the program and its coordinator; best effort (the caller's killTagged backs it up).
  const quit = (env, port) => spawnSync(bin('dmtcp_command'), ['-p', port, '--quit'], { env, stdio: 'ignore', timeout: 30_000 })
  const images = (ckdir) => dirBytes(ckdir, isImage)
  const imageFiles = (ckdir) => {
    const out = []
    const walk = (d) => {
      for (const e of readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(join(d, e.name)) : isImage(e.name) && out.push(join(d, e.name))
    }
    walk(ckdir)
    return out
  }

  tool.memoryCase = async (mib, run) => {
    const d = join(ctx.base, `${key}-mem-${mib}-${run}`)
    const env = caseEnv(d)
    const log = join(d, 'app.log')
    const app = await launch(d, env, [ctx.bigmem, String(mib), '5', '1000000000'], log)
    let r = null
    let port2 = null
    try {
      await waitLog(log, (l) => l.length >= 3, 300_000, 'bigmem to fill its memory', { failed: () => app.exit && `dmtcp_launch bigmem exited ${JSON.stringify(app.exit)}: ${gist(app.errText())}` })
      spawnSync('sync')
      // DMTCP leaves the program running after -bc: the restored program must resume between
      // the last tick seen before the checkpoint and the last one seen once it returned.
      const lo = lastTick(logLines(log))
      const ck = command(env, app.port, '-bc')
      const hi = lastTick(logLines(log))
      quit(env, app.port)
      await Promise.race([app.exited, sleep(10_000)])
      const files = imageFiles(app.ckdir)
      if (!files.length) throw new Error(`no ckpt_*.dmtcp in ${app.ckdir} after dmtcp_command -bc`)
      const imageBytes = images(app.ckdir)
      const from = logLines(log).length

      spawnSync('sync')
      const pf2 = join(d, 'port2')
      const t0 = now()
      r = startToFile([bin('dmtcp_restart'), '--new-coordinator', '-p', '0', '--port-file', pf2, ...files], env, join(d, 'restart.log'))
      const first = await waitLog(log, (l) => l[0], 300_000, 'the first line after dmtcp_restart', {
        from,
        failed: () => r.exit && `dmtcp_restart exited ${JSON.stringify(r.exit)}: ${gist(r.errText())}`,
      })
      const restart = now() - t0
      const t = Number(/^tick (\d+)$/.exec(first)?.[1] ?? -1)
      port2 = existsSync(pf2) ? readFileSync(pf2, 'utf8').trim() : null
      return { mib, run, checkpoint: ck.secs, restart, continued: t >= lo + 1 && t <= hi + 1, imageBytes }
    } finally {
      if (port2) quit(env, port2)
      r?.child.kill('SIGKILL')
      quit(env, app.port)
      app.child.kill('SIGKILL')
    }
  }

  tool.stallCase = async (run) => {
    const d = join(ctx.base, `${key}-stall-${run}`)
    const env = caseEnv(d)
    const log = join(d, 'app.log')
    const app = await launch(d, env, [ctx.stall, String(ctx.stallMib)], log)
    try {
      await waitLog(log, (l) => l.includes('ready'), 300_000, 'stall to fill its memory', { failed: () => app.exit && `dmtcp_launch stall exited ${JSON.stringify(app.exit)}: ${gist(app.errText())}` })
      spawnSync('sync')
      await sleep(200)
      const from = logLines(log).length
      const ck = command(env, app.port, '-bc')
      await sleep(300)
      const us = logLines(log).slice(from).map((l) => Number(/^stall (\d+)$/.exec(l)?.[1] ?? 0))
      return { mib: ctx.stallMib, run, stall: Math.max(0, ...us) / 1e6, checkpoint: ck.secs, imageBytes: images(app.ckdir) }
    } finally {
      quit(env, app.port)
      app.child.kill('SIGKILL')
    }
  }

  tool.counterCase = async () => {
    const d = join(ctx.base, `${key}-counter`)
    const env = caseEnv(d)
    const log = join(d, 'app.log')
    const app = await launch(d, env, [ctx.counter, '50'], log)
    try {
      await waitLog(log, (l) => l.length >= 3, 30_000, 'counter output', { failed: () => app.exit && `dmtcp_launch counter exited ${JSON.stringify(app.exit)}: ${gist(app.errText())}` })
      command(env, app.port, '-bc')
      return { imageBytes: images(app.ckdir) }
    } finally {
      quit(env, app.port)
      app.child.kill('SIGKILL')
    }
  }

  // `dmtcp_launch /bin/true` with a coordinator of its own, as `amber launch` starts one (once,
  // for the gzip variant: compression plays no part in a launch).
  if (gzip) tool.launchArgv = (d) => {
    mkdirSync(d, { recursive: true })
    return [bin('dmtcp_launch'), '--new-coordinator', '-p', '0', '--ckptdir', d, gzip ? '--gzip' : '--no-gzip', '/bin/true']
  }
  return tool
}
