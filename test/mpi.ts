// MPI jobs on one node (issue 13): Debian's Open MPI and MPICH (over UCX) launched with `amber
// launch -- mpirun -np 4`, with their shared-memory, single-copy (CMA) and TCP transports, and
// Open MPI over TCP only. Each job (test/fixtures/mpiring.c) checks every value it computes: a
// ring, an allreduce and a 256 KiB neighbour exchange per iteration. It is checkpointed live twice
// at moments picked at random, then checkpointed with --kill and restarted: the launcher's daemons
// (orted/prterun, hydra_pmi_proxy), their listeners and connections and the ranks' shared memory
// come back, and the job must go on from the iteration it had reached (no gap, no repeat) to DONE
// with nothing on its stderr. UCX's SysV transport is refused by name (the last test).
import t from 'tap'
import { setup, sleep } from './helpers/amber.js'
import { buildMpi, ensureMpi, mpirun, type Mpi } from './helpers/mpi.js'

const ITERS = 600

/** The iteration numbers of rank 0's `iter N` lines. */
function iters(lines: string[]): number[] {
  return lines.filter((l) => /^iter \d+$/.test(l)).map((l) => Number(l.slice(5)))
}
const PAUSE_US = 20_000

interface Variant {
  name: string
  mpi: Mpi
  args: string[]
  env?: Record<string, string>
}

// Three jobs of 4 ranks with their launchers, a 2-core machine: minutes, not the default bound.
t.setTimeout(900_000)

const variants: Variant[] = [
  { name: 'Open MPI, default transports (shared memory, CMA, TCP)', mpi: 'openmpi', args: ['--oversubscribe'] },
  { name: 'Open MPI, TCP only', mpi: 'openmpi', args: ['--oversubscribe', '--mca', 'btl', 'tcp,self', '--mca', 'pml', 'ob1'] },
  // UCX's POSIX shared memory (deleted /dev/shm files), CMA and TCP: everything but its SysV
  // transport, whose segments are removed while attached (below).
  { name: 'MPICH over UCX: POSIX shared memory, CMA, TCP', mpi: 'mpich', args: [], env: { UCX_TLS: 'posix,cma,tcp,self' } },
]

for (const v of variants) {
  t.test(v.name, async (t) => {
    const why = ensureMpi(v.mpi)
    if (why) return t.skip(why)
    const bin = await buildMpi(v.mpi, 'mpiring')
    // Open MPI refuses root unless told; harmless for another user.
    const a = await setup(t, { env: { OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1', OMPI_MCA_rmaps_base_oversubscribe: '1', ...v.env } })
    const app = a.launch([mpirun(v.mpi), ...v.args, '-np', '4', bin, String(ITERS), String(PAUSE_US)])
    await app.waitLines(10, 60_000)
    const warnings: string[] = []
    for (let k = 0; k < 2; k++) {
      await sleep(300 + Math.floor(Math.random() * 1500))
      const ck = await a.checkpoint()
      t.ok(ck.images.length >= 5, `live checkpoint ${k + 1}: ${ck.images.length} images (mpirun, its daemons, 4 ranks)`)
    }
    await sleep(Math.floor(Math.random() * 1000))
    const r = await a.run(['checkpoint', '--dir', a.dir, '--kill', '--json'])
    t.equal(r.code, 0, `checkpoint --kill: ${r.stderr.trim()}`)
    for (const l of r.stderr.split('\n')) if (/warning/.test(l)) warnings.push(l)
    await app.wait(30_000)
    const before = iters(app.lines)
    t.ok(before.length > 10 && before.length < ITERS, `stopped mid-run at iteration ${before.at(-1)}`)
    t.notOk(app.lines.some((l) => l.startsWith('BAD')), 'no wrong value before the restart')

    const restarted = a.restart()
    const ex = await restarted.wait(180_000).catch((e: Error) => {
      t.fail(e.message)
      return { code: null, signal: null }
    })
    const after = iters(restarted.lines)
    const bad = restarted.lines.filter((l) => l.startsWith('BAD'))
    t.same(bad, [], 'no wrong value after the restart')
    t.equal(ex.code, 0, `the restarted job exits 0; stderr: ${JSON.stringify(restarted.err.lines.slice(-8))}`)
    t.ok(restarted.lines.includes(`DONE ${ITERS}`), 'the restarted job completes (DONE)')
    // The restart prints from the iteration after the last one printed before (a checkpoint may
    // land between an iteration's work and its line: then that line comes once, after).
    const last = before.at(-1) ?? -1
    t.equal(after[0], last + 1, `the job continues at iteration ${last + 1}`)
    const all = [...before, ...after]
    t.same(all, Array.from({ length: ITERS }, (_, i) => i), 'every iteration exactly once across the restart')
    t.same(warnings, [], 'checkpoint --kill warns of nothing lost')
    // An MPI library that noticed something (a single-copy read from a pid that is not its peer's
    // any more, a reconnect) says so on stderr even when it recovers.
    t.same(restarted.err.lines.filter((l) => l.trim() && !l.startsWith('amber:')), [], 'the MPI library reports no error after the restart')
  })
}

// MPICH's default UCX transports include SysV shared memory whose segments are removed
// (IPC_RMID) as soon as every rank has attached them: a segment made again would get another id,
// which amber cannot give back unprivileged. The checkpoint names each such segment, and the
// restart refuses at once (exit 4, nothing started) naming it: never a job that comes back with
// private copies of its shared memory and polls forever.
t.test('MPICH over UCX with SysV shared memory: named at checkpoint, refused at restart', async (t) => {
  const why = ensureMpi('mpich')
  if (why) return t.skip(why)
  const bin = await buildMpi('mpich', 'mpiring')
  const a = await setup(t, { env: { UCX_TLS: 'sysv,cma,tcp,self' } })
  const app = a.launch([mpirun('mpich'), '-np', '4', bin, String(ITERS), String(PAUSE_US)])
  await app.waitLines(10, 60_000)
  const r = await a.run(['checkpoint', '--dir', a.dir, '--kill', '--json'])
  t.equal(r.code, 0, 'checkpoint --kill succeeds')
  t.match(r.stderr, /SysV shared memory segment \d+: removed \(IPC_RMID\) while attached/, 'the checkpoint names the removed segments')
  await app.wait(30_000)
  const restarted = a.restart()
  const ex = await restarted.wait(60_000)
  t.equal(ex.code, 4, 'the restart refuses (exit 4)')
  t.match(restarted.err.text(), /a SysV shared memory segment the process attached is gone/, 'and says which segment')
  t.same(restarted.lines.filter((l) => l.startsWith('iter ')), [], 'no rank ran')
  t.same(await a.waitNoneTagged(10_000), [], 'nothing is left running')
})
