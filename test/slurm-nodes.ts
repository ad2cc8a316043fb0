// `amber job` across nodes of a real Slurm: three nodes on this machine, each slurmd in its own
// network and UTS namespace (test/helpers/slurm-nodes.sh), one slurmctld, the file system shared.
// `sbatch -N2` runs `srun amber job -- tcpranks ...`: rank 0 on one node and rank 1 on another
// exchange numbered messages over one TCP connection between the namespaces, checking every value.
// The pre-walltime signal (scancel --signal=USR1 --batch) checkpoints both nodes' processes in one
// generation; one of the two nodes is drained first, so the requeued job runs on a different pair
// (one node it had, and the third); the coordinator is reached over TCP with the job's token from
// the other node, the connection between the ranks is rebuilt between the new nodes, and both
// ranks count to the end with no gap, no repeat and no error on the connection.
import t, { type Test } from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { build } from './helpers/fixtures.js'
import { buildMpi, ensureMpi, mpirun } from './helpers/mpi.js'
import { amberJobCommand, cleanEnv, clusterProcesses, ensureNodes, startSlurmNodes, type NodesSlurm } from './helpers/slurm.js'

t.setTimeout(170_000)

const skip = process.getuid?.() !== 0 ? 'the multi-node Slurm test runs slurmd in network namespaces: run it as root' : undefined
if (skip !== undefined) {
  t.skip(skip)
} else {
  // On a root machine whatever is missing is a failure, not a skip (ensureNodes installs what it can).
  const why = ensureNodes()
  if (why !== undefined) t.fail(why)
  else await main()
}

function read(p: string): string {
  try {
    return readFileSync(p, 'utf8')
  } catch {
    return ''
  }
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

/** One task's lines of a `srun --label` output, per run ("RUN n" lines from the script). */
function taskRuns(text: string, task: number): string[][] {
  const runs: string[][] = []
  for (const line of text.split('\n')) {
    const m = /^RUN (\d+)$/.exec(line)
    if (m) {
      runs[Number(m[1])] = []
      continue
    }
    const lm = /^\s*(\d+): (.*)$/.exec(line)
    if (lm && Number(lm[1]) === task && runs.length > 0) runs[runs.length - 1]!.push(lm[2]!)
  }
  return runs
}

const numbers = (lines: string[]) => lines.filter((l) => /^\d+$/.test(l)).map(Number)

function jobScript(s: NodesSlurm, name: string, command: string[], ntasks = 2, env: string[] = [], interval?: number): string {
  const amber = amberJobCommand()
  const [node, cli] = amber.split(' ') as [string, string]
  let text = execFileSync(node, [cli, 'sbatch-example', '--name', name, '--ntasks', String(ntasks), ...(interval !== undefined ? ['--interval', String(interval)] : []), '--amber', amber, '--', ...command], {
    encoding: 'utf8',
    env: cleanEnv(),
  })
  // one task on two nodes: no --ntasks (Slurm would shrink the job to one node)
  const lines = text.split('\n').filter((l) => ntasks !== 1 || !l.startsWith('#SBATCH --ntasks='))
  const last = lines.map((l) => l.startsWith('#SBATCH')).lastIndexOf(true)
  const spread = ntasks === 2 ? ['#SBATCH --ntasks-per-node=1'] : []
  lines.splice(last + 1, 0, '#SBATCH --nodes=2', ...spread, ...env, 'echo "RUN ${SLURM_RESTART_COUNT:-0}"')
  text = lines.join('\n').replace(/^srun /m, 'srun --label ')
  const path = join(s.base, `${name}.sh`)
  writeFileSync(path, text, { mode: 0o755 })
  return path
}

async function main() {
  let s: NodesSlurm
  try {
    s = await startSlurmNodes(t, 3)
  } catch (e) {
    t.fail((e as Error).message)
    return
  }
  const ranks = await build('tcpranks')

  /**
   * One job: sbatch -N2 of `srun amber job -- tcpranks DIR COUNT PERIOD [stream]`, USR1 once both
   * ranks have counted 10, requeue (onto another pair when drain), and the checks.
   */
  async function job(tt: Test, name: string, count: number, extra: string[], drain: boolean, interval?: number) {
    const rdv = join(s.base, name)
    mkdirSync(rdv)
    const script = jobScript(s, name, [ranks, rdv, String(count), ...extra], 2, [], interval)
    const out = join(s.base, `${name}.out`)
    const err = join(s.base, `${name}.err`)
    const id = await s.sbatch(script, ['-o', out, '-e', err, '--time=5'])
    const first = await s.waitState(id, 'RUNNING', 60_000)
    const both = () => [0, 1].every((k) => numbers(taskRuns(read(out), k)[0] ?? []).length >= 10)
    await waitFor(() => (both() ? true : undefined), 60_000, 'both ranks to count 10').catch((e: Error) => {
      throw new Error(`${e.message}\nstdout:\n${read(out)}\nstderr:\n${read(err)}`)
    })
    const nodes1 = first.NodeList!
    tt.comment(`job ${id} on ${nodes1}`)
    // Drain one node of the pair: the requeued job must run on the other one and the third.
    const host1 = taskRuns(read(out), 1)[0]!.find((l) => l.startsWith('rank 1 on '))!.slice('rank 1 on '.length)
    if (drain) await s.run('scontrol', ['update', `NodeName=${host1}`, 'State=DRAIN', 'Reason=amber-test'])
    await s.run('scancel', ['--signal=USR1', '--batch', id])
    const done = await s.waitDone(id, 120_000).catch((x: Error) => {
      throw new Error(`${x.message}\nstderr:\n${read(err)}\nstdout tail:\n${read(out).split('\n').slice(-8).join('\n')}\nprocesses: ${JSON.stringify(clusterProcesses(s.conf, true))}`)
    })
    if (drain) await s.run('scontrol', ['update', `NodeName=${host1}`, 'State=RESUME']).catch(() => undefined)
    const e = read(err)
    const text = read(out)
    tt.equal(done.JobState, 'COMPLETED', `the job completed (${done.JobState} ${done.ExitCode}); stderr:\n${e}\nstdout tail:\n${text.split('\n').slice(-8).join('\n')}`)
    tt.equal(done.Restarts, '1', 'requeued exactly once')
    if (drain) {
      tt.not(done.NodeList, nodes1, `the requeued run ran on another pair of nodes (${nodes1} -> ${done.NodeList})`)
      tt.notMatch(done.NodeList ?? '', host1, `not on the drained node ${host1}`)
    }
    tt.match(e, /task 0: checkpoint \d+ written/, 'checkpoints of both nodes')
    tt.match(e, /task 0: run 1 of job \d+: restarting generation \d+ \(2 processes in 2 tasks\)/, 'the restart of both ranks')
    if (interval === undefined) tt.notMatch(e, /warning/, 'no warning from amber')
    else {
      // Live checkpoints of a stream between nodes: what the sender's queue held is named as lost
      // for a restart from them; nothing else is warned about.
      const warns = e.split('\n').filter((l) => /warning/.test(l))
      tt.ok(warns.length > 0, `the live checkpoints named the send queue between nodes (${warns.length} warnings)`)
      tt.same(warns.filter((l) => !/bytes in its send queue to a process on another node cannot be saved/.test(l)), [], 'no other warning')
    }
    tt.notMatch(e, /cannot kill/, 'each node’s processes are ended by their own task (none left parked for Slurm to kill)')
    const step = JSON.parse(read(join(s.base, `amber-${name}-${id}`, '.amber', 'job', 'step.json'))) as { coord: string }
    const ip = /^tcp:(\d+\.\d+\.\d+\.\d+):\d+$/.exec(step.coord)?.[1]
    tt.ok(ip !== undefined && s.nodes.some((n) => n.ip === ip), `the coordinator is advertised at its node's address (${step.coord})`)
    for (const k of [0, 1]) {
      const runs = taskRuns(text, k)
      tt.equal(runs.length, 2, `rank ${k}: two runs`)
      const [a = [], b = []] = runs.map(numbers)
      tt.ok(a.length > 0 && b.length > 0, `rank ${k}: counted in both runs (${a.length}, ${b.length})`)
      tt.equal(b[0], (a.at(-1) ?? 0) + 1, `rank ${k}: first number after the restart (${b[0]}) is the last checkpointed one (${a.at(-1)}) + 1`)
      tt.same([...a, ...b], Array.from({ length: count }, (_, i) => i + 1), `rank ${k}: 1..${count}, every value checked by both ranks`)
      tt.ok(runs[1]!.includes(`PASS rank ${k} ${count}`), `rank ${k}: PASS`)
      tt.notOk(runs.flat().some((l) => l.startsWith('FAIL')), `rank ${k}: no FAIL`)
    }
    const hostsAfter = [0, 1].map((k) => taskRuns(text, k)[1]!.filter((l) => l.startsWith('rank ')).at(-1) ?? `rank ${k}: same node`)
    tt.comment(`after the restart: ${hostsAfter.join(', ')}`)
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

  t.test('sbatch -N2: two ranks over TCP between nodes, checkpoint, requeue onto another pair, finish', (tt: Test) =>
    job(tt, 'ranks', 150, ['100'], true),
  )

  t.test('streaming between nodes, live checkpoints every 2 s: full queues at the requeue checkpoint come back in order, exactly once', (tt: Test) =>
    job(tt, 'stream', 300, ['40', 'stream'], false, 2),
  )

  t.test('mpirun inside the allocation (one amber job, daemons on the other node): refused by name, the job goes on', async (tt: Test) => {
    // Open MPI's mpirun starts orted on the second node through srun, which passes amber on: one
    // `amber job` would restore those processes on its own node, away from theirs. The checkpoint
    // is refused, naming them; the job is not requeued and completes.
    const why = ensureMpi('openmpi')
    if (why !== undefined) {
      tt.fail(why)
      return
    }
    const ring = await buildMpi('openmpi', 'mpiring')
    const iters = 300
    const args = ['--oversubscribe', '--mca', 'btl', 'tcp,self', '--mca', 'pml', 'ob1', '-np', '2', '--map-by', 'node', ring, String(iters), '20000']
    const script = jobScript(s, 'mpirun', [mpirun('openmpi'), ...args], 1, ['export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1'])
    const out = join(s.base, 'mpirun.out')
    const id = await s.sbatch(script, ['-o', out, '-e', out, '--time=5'])
    await s.waitState(id, 'RUNNING', 60_000)
    await waitFor(() => (/^iter 20$/m.test(read(out)) ? true : undefined), 60_000, 'mpirun to reach iteration 20').catch((e: Error) => {
      throw new Error(`${e.message}\n${read(out)}`)
    })
    await s.run('scancel', ['--signal=USR1', '--batch', id])
    const done = await s.waitDone(id, 90_000)
    const text = read(out)
    tt.match(text, /checkpoint refused, the job is NOT requeued: \d+ process\(es\) of the computation run on another node than this one \(vpid \d+ \(pid \d+ \S*orted\) on /, 'the checkpoint is refused, naming orted on the other node')
    tt.equal(done.Restarts, '0', 'not requeued')
    tt.equal(done.JobState, 'COMPLETED', `the job went on and completed (${done.JobState} ${done.ExitCode})`)
    tt.match(text, new RegExp(`^DONE ${iters}$`, 'm'), 'mpiring finished its iterations')
  })

  t.test('stop: daemons by pid, namespaces and links deleted', async (tt: Test) => {
    const r = await s.stop()
    tt.comment(r.output)
    tt.same(r.alive, [], 'munged, slurmctld, every slurmd and every job process are gone')
    tt.same(s.netLeft(), [], 'no network namespace or link of the cluster is left')
  })
}
