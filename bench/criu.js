// CRIU side of bench/run.js: the same workloads, checkpointed and restored by an installed `criu`
// named by AMBER_BENCH_CRIU (nothing here builds or fetches CRIU). CRIU needs root (it ptraces
// the target and restores pids, mappings and credentials), so it is skipped when not root.
//
// What is timed, so that each figure matches amber's:
//   checkpoint = `criu dump -t PID -D DIR --shell-job` (the process is killed once dumped, like
//                `amber checkpoint --kill`), wall clock of the command;
//   restart    = from spawning `criu restore -D DIR --shell-job --restore-detached` to the
//                restored program's first new line (it runs again), like amber's restart figure;
//   image size = every file in the dump directory (`du -sb`);
//   stall      = `criu dump --leave-running` of bench/stall.c, the longest pause it saw itself.
// --shell-job, as in a stock command line: it lets CRIU take a task whose session or process
// group leader is outside the dumped tree (a program started from a shell). The workload is
// spawned detached all the same (a session of its own), so it shares no process group with node.
import { spawnSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { check, dirBytes, gist, lastTick, logLines, now, sleep, startToFile, timed, waitLog } from './lib.js'

export function criu(ctx) {
  const bin = process.env.AMBER_BENCH_CRIU
  const tool = { key: 'criu', name: 'CRIU', status: 'ok', note: '', version: null, memory: [], stall: [], counter: null, launch: null, errors: [] }
  if (!bin) {
    tool.status = 'skipped'
    tool.note = 'AMBER_BENCH_CRIU is not set (to compare: apt-get install criu, run as root with AMBER_BENCH_CRIU=$(command -v criu))'
    return tool
  }
  if (process.getuid?.() !== 0) {
    tool.status = 'skipped'
    tool.note = `needs root (criu dump/restore ptrace the target and restore its pids); run the bench as root to compare with ${bin}`
    return tool
  }
  const v = timed([bin, '--version'], ctx.env, 10_000)
  if (v.status !== 0) {
    tool.status = 'failed'
    tool.note = `${bin} --version: ${v.error ?? `exited ${v.status ?? v.signal}`}: ${gist(v.stderr + v.stdout)}`
    return tool
  }
  tool.version = gist(v.stdout, 1)

  const dump = (pid, dir, extra = []) => {
    const argv = [bin, 'dump', '-t', String(pid), '-D', dir, '--shell-job', ...extra]
    return check(timed(argv, ctx.env), argv)
  }
  // A process CRIU restored is not our child: kill it by pid (CRIU gives it its old pid back).
  const kill = (pid) => {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {}
  }

  tool.memoryCase = async (mib, run) => {
    const dir = join(ctx.base, `criu-mem-${mib}-${run}`)
    const img = join(dir, 'img')
    mkdirSync(img, { recursive: true })
    const log = join(dir, 'app.log')
    const app = startToFile([ctx.bigmem, String(mib), '5', '1000000000'], ctx.env, log, { detached: true })
    try {
      await waitLog(log, (l) => l.length >= 3, 300_000, 'bigmem to fill its memory', { failed: () => app.exit && `bigmem exited ${JSON.stringify(app.exit)}` })
      spawnSync('sync')
      const ck = dump(app.pid, img)
      // CRIU kills the dumped tree; its pid must be free again before the restore takes it back
      await Promise.race([app.exited, sleep(10_000)])
      const before = logLines(log)
      const last = lastTick(before)
      const imageBytes = dirBytes(img)

      spawnSync('sync')
      const rargv = [bin, 'restore', '-D', img, '--shell-job', '--restore-detached']
      const t0 = now()
      const r = startToFile(rargv, ctx.env, join(dir, 'restore.log'))
      const first = await waitLog(log, (l) => l[0], 300_000, 'the first line after restore', {
        from: before.length,
        failed: () => r.exit && r.exit.code !== 0 && `criu restore ${r.exit.error ?? `exited ${r.exit.code ?? r.exit.signal}`}: ${gist(r.errText())}`,
      })
      const restart = now() - t0
      await Promise.race([r.exited, sleep(10_000)])
      return { mib, run, checkpoint: ck.secs, restart, continued: first === `tick ${last + 1}`, imageBytes }
    } finally {
      kill(app.pid)
    }
  }

  tool.stallCase = async (run) => {
    const dir = join(ctx.base, `criu-stall-${run}`)
    const img = join(dir, 'img')
    mkdirSync(img, { recursive: true })
    const log = join(dir, 'app.log')
    const app = startToFile([ctx.stall, String(ctx.stallMib)], ctx.env, log, { detached: true })
    try {
      await waitLog(log, (l) => l.includes('ready'), 300_000, 'stall to fill its memory', { failed: () => app.exit && `stall exited ${JSON.stringify(app.exit)}` })
      spawnSync('sync')
      await sleep(200)
      const from = logLines(log).length
      // the program writes to a file, not to us: a blocking spawnSync cannot stall it
      const ck = dump(app.pid, img, ['--leave-running'])
      await sleep(300)
      if (app.exit) throw new Error(`stall did not survive criu dump --leave-running: ${JSON.stringify(app.exit)}`)
      const us = logLines(log).slice(from).map((l) => Number(/^stall (\d+)$/.exec(l)?.[1] ?? 0))
      return { mib: ctx.stallMib, run, stall: Math.max(0, ...us) / 1e6, checkpoint: ck.secs, imageBytes: dirBytes(img) }
    } finally {
      kill(app.pid)
    }
  }

  tool.counterCase = async () => {
    const dir = join(ctx.base, 'criu-counter')
    const img = join(dir, 'img')
    mkdirSync(img, { recursive: true })
    const log = join(dir, 'app.log')
    const app = startToFile([ctx.counter, '50'], ctx.env, log, { detached: true })
    try {
      await waitLog(log, (l) => l.length >= 3, 30_000, 'counter output', { failed: () => app.exit && `counter exited ${JSON.stringify(app.exit)}` })
      dump(app.pid, img)
      return { imageBytes: dirBytes(img) }
    } finally {
      kill(app.pid)
    }
  }
  return tool
}
