// `amber job` against a real Slurm (Debian's munged + slurmctld + slurmd, single node, started in a
// temp dir by scripts/slurm/start-local-slurm.sh): a counter under `amber job`, in the job script
// `amber sbatch-example` prints, gets the pre-walltime signal, is checkpointed, the job requeued,
// the next run restarts from the checkpoint, and the counter carries on to its end with no gap and
// no repeat: amber ends the computation right at the durable checkpoint, so the first number after
// the restart is exactly the last number of the checkpointed run + 1.
import t, { type Test } from 'tap'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { amberJobCommand, buildCounter, cleanEnv, clusterProcesses, ensureSlurm, startSlurm, type LocalSlurm } from './helpers/slurm.js'

t.setTimeout(330_000)

const skip = ensureSlurm()
if (skip !== undefined) {
  t.skip(skip)
} else {
  await main()
}

/** One task's view of a job's stdout: the numbers each run printed. */
interface Runs {
  /** runs[i]: numbers printed in run i (the script echoes "RUN i" first). */
  runs: number[][]
}

/** Splits a job's stdout ("RUN n" lines from the script, then the counter's numbers). */
function parseOut(text: string, task?: number): Runs {
  const runs: number[][] = []
  for (const line of text.split('\n')) {
    const m = /^RUN (\d+)$/.exec(line)
    if (m) {
      runs[Number(m[1])] = []
      continue
    }
    let v = line
    if (task !== undefined) {
      const lm = /^\s*(\d+): (.*)$/.exec(line)
      if (!lm || Number(lm[1]) !== task) continue
      v = lm[2]!
    }
    if (/^\d+$/.test(v) && runs.length > 0) runs[runs.length - 1]!.push(Number(v))
  }
  return { runs }
}

/** The counter went 1..limit exactly once, and the restarted run took over at last + 1. */
function checkContinuation(tt: Test, r: Runs, limit: number, what: string) {
  tt.equal(r.runs.length, 2, `${what}: two runs (the first, and the requeued one)`)
  const [a = [], b = []] = r.runs
  tt.ok(a.length > 0, `${what}: the first run counted (${a.length} numbers) before the checkpoint`)
  tt.ok(b.length > 0, `${what}: the requeued run counted (${b.length} numbers)`)
  tt.equal(b[0], (a.at(-1) ?? 0) + 1, `${what}: first number after the restart (${b[0]}) is the last checkpointed one (${a.at(-1)}) + 1`)
  const all = [...a, ...b]
  const expected = Array.from({ length: limit }, (_, i) => i + 1)
  tt.same(all, expected, `${what}: 1..${limit}, no gap, no repeat`)
}

function jobScript(s: LocalSlurm, name: string, ntasks: number, command: string[]): string {
  const amber = amberJobCommand()
  const [node, cli] = amber.split(' ') as [string, string]
  let text = execFileSync(node, [cli, 'sbatch-example', '--name', name, '--ntasks', String(ntasks), '--amber', amber, '--', ...command], {
    encoding: 'utf8',
    env: cleanEnv(),
  })
  // Marks where each run starts in the output; srun --label tells the tasks apart.
  const lines = text.split('\n')
  const last = lines.map((l) => l.startsWith('#SBATCH')).lastIndexOf(true)
  lines.splice(last + 1, 0, 'echo "RUN ${SLURM_RESTART_COUNT:-0}"')
  text = lines.join('\n').replace(/^srun /m, 'srun --label ')
  const path = join(s.base, `${name}.sh`)
  writeFileSync(path, text, { mode: 0o755 })
  return path
}

async function waitFor<T>(f: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = f()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

function read(p: string): string {
  try {
    return readFileSync(p, 'utf8')
  } catch {
    return ''
  }
}

/** Until task's counter has printed at least n numbers in run 0. */
function printed(out: string, n: number, task?: number): Promise<number> {
  return waitFor(
    () => {
      const c = parseOut(read(out), task).runs[0]?.length ?? 0
      return c >= n ? c : undefined
    },
    60_000,
    `${n} numbers in ${out}`,
  )
}

async function noJobProcessesLeft(tt: Test, s: LocalSlurm) {
  const left = await waitFor(
    () => {
      const l = clusterProcesses(s.conf, true).filter((p) => !/slurmstepd/.test(p.cmd))
      return l.length === 0 ? l : undefined
    },
    15_000,
    'the job processes to be gone',
  ).catch(() => clusterProcesses(s.conf, true))
  tt.same(left, [], 'no job process is left running')
}

async function main() {
  let s: LocalSlurm
  try {
    s = await startSlurm(t)
  } catch (e) {
    t.fail((e as Error).message)
    return
  }
  const counter = buildCounter(s.base)

  t.test('scancel --signal=USR1 --batch: checkpoint, requeue, restart, finish', async (tt) => {
    const limit = 80
    const script = jobScript(s, 'fast', 1, [counter, '100', String(limit)])
    const out = join(s.base, 'fast.out')
    const err = join(s.base, 'fast.err')
    const id = await s.sbatch(script, ['-o', out, '-e', err, '--time=5'])
    await s.waitState(id, 'RUNNING', 60_000)
    const before = await printed(out, 10)
    tt.comment(`job ${id} running, counted ${before}: sending USR1 to the batch shell`)
    await s.run('scancel', ['--signal=USR1', '--batch', id])
    const requeued = await s.waitJob(id, (j) => Number(j.Restarts) >= 1, 60_000, 'requeued')
    tt.equal(requeued.Restarts, '1', 'the job was requeued')
    const done = await s.waitDone(id, 120_000)
    const e = read(err)
    tt.equal(done.JobState, 'COMPLETED', `the job completed (${done.JobState} ${done.ExitCode}); stderr:\n${e}`)
    tt.equal(done.Restarts, '1', 'requeued exactly once')
    tt.equal(done.ExitCode, '0:0', 'exit status of the counter: 0')
    tt.match(e, /job: generation 1 durable; job \d+ requeued/, 'amber job requeued after the generation was durable')
    tt.match(e, /run 1 of job \d+: restarting generation 1 /, 'the second run restarted generation 1')
    tt.ok(existsSync(join(s.base, `amber-fast-${id}`, 'gen-000001', 'manifest.json')), 'per-job checkpoint dir amber-NAME-JOBID')
    checkContinuation(tt, parseOut(read(out)), limit, 'counter')
    await noJobProcessesLeft(tt, s)
  })

  t.test('a real walltime: --time=1 with --signal=B:USR1@60', async (tt) => {
    // slurmctld checks time limits every 30 s: with 60 s of walltime and a 60 s lead the signal
    // comes at the first check. The counter runs 40 s so that it is still running then.
    const limit = 400
    const script = jobScript(s, 'wall', 1, [counter, '100', String(limit)])
    const out = join(s.base, 'wall.out')
    const err = join(s.base, 'wall.err')
    const id = await s.sbatch(script, ['-o', out, '-e', err, '--time=1'])
    await s.waitState(id, 'RUNNING', 60_000)
    const requeued = await s.waitJob(id, (j) => Number(j.Restarts) >= 1, 90_000, 'requeued by the walltime signal')
    tt.equal(requeued.Restarts, '1', 'the walltime signal made the job requeue itself')
    // The requeued run would get the same signal at its first time-limit check; give it room to
    // finish instead (it is PENDING for a few seconds: cred_expire).
    await s.run('scontrol', ['update', `JobId=${id}`, 'TimeLimit=10']).catch((x: Error) => tt.comment(`time limit not raised: ${x.message}`))
    const done = await s.waitDone(id, 120_000)
    const e = read(err)
    tt.equal(done.JobState, 'COMPLETED', `the job completed (${done.JobState} ${done.ExitCode}); stderr:\n${e}`)
    tt.equal(done.Restarts, '1', 'requeued exactly once')
    tt.match(e, /job: SIGUSR1: checkpointing/, 'amber job got SIGUSR1 through the job script')
    tt.match(e, /run 1 of job \d+: restarting generation 1 /, 'the second run restarted generation 1')
    checkContinuation(tt, parseOut(read(out)), limit, 'counter')
    await noJobProcessesLeft(tt, s)
  })

  t.test('two tasks (srun): one coordinator, checkpoint together, restart together', async (tt) => {
    const limit = 80
    const script = jobScript(s, 'pair', 2, [counter, '100', String(limit)])
    const out = join(s.base, 'pair.out')
    const err = join(s.base, 'pair.err')
    const id = await s.sbatch(script, ['-o', out, '-e', err, '--time=5'])
    await s.waitState(id, 'RUNNING', 60_000)
    await printed(out, 10, 0)
    await printed(out, 10, 1)
    await s.run('scancel', ['--signal=USR1', '--batch', id])
    await s.waitJob(id, (j) => Number(j.Restarts) >= 1, 60_000, 'requeued')
    const done = await s.waitDone(id, 120_000).catch((x: Error) => {
      // Say where it stuck: amber's messages, the last output, what still runs.
      throw new Error(`${x.message}\nstderr:\n${read(err)}\nstdout tail:\n${read(out).split('\n').slice(-6).join('\n')}\nprocesses: ${JSON.stringify(clusterProcesses(s.conf, true))}`)
    })
    const e = read(err)
    tt.equal(done.JobState, 'COMPLETED', `the job completed (${done.JobState} ${done.ExitCode}); stderr:\n${e}`)
    tt.equal(done.Restarts, '1', 'requeued exactly once')
    tt.match(e, /task 0: run 0 of job \d+: launching .* in 2 tasks/, 'task 0 ran the coordinator for both tasks')
    tt.match(e, /task 1: launching /, 'task 1 joined it')
    tt.match(e, /task 0: checkpoint 1 written/, 'one checkpoint')
    tt.match(e, /task 0: run 1 of job \d+: restarting generation 1 \(2 processes in 2 tasks\)/, 'restart of both processes')
    tt.match(e, /task 1: restoring my processes of generation 1/, 'task 1 restored its own process')
    const m = JSON.parse(read(join(s.base, `amber-pair-${id}`, 'gen-000001', 'manifest.json'))) as { processes: unknown[] }
    tt.equal(m.processes.length, 2, 'generation 1 holds both tasks’ processes')
    const jdir = join(s.base, `amber-pair-${id}`)
    const step = JSON.parse(read(join(jdir, '.amber', 'job', 'step.json'))) as { coord: string; mode: string }
    tt.match(step.coord, /^tcp:\d+\.\d+\.\d+\.\d+:\d+$/, `the tasks met over TCP (${step.coord})`)
    tt.equal(step.mode, 'restart', 'the last run was a restart')
    tt.equal(statSync(join(jdir, '.amber', 'token')).mode & 0o777, 0o600, 'the job token is 0600')
    const text = read(out)
    checkContinuation(tt, parseOut(text, 0), limit, 'task 0')
    checkContinuation(tt, parseOut(text, 1), limit, 'task 1')
    await noJobProcessesLeft(tt, s)
  })

  t.test('stop: daemons stopped by pid, nothing left running', async (tt) => {
    const r = await s.stop()
    tt.comment(r.output)
    tt.same(r.alive, [], 'munged, slurmctld, slurmd and every job process are gone')
  })
}
