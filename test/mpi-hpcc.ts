// HPC Challenge under amber (issue 13: "Debian's hpcc: after restart its HPL residual check must
// print PASSED"). `mpirun -np 2 hpcc` (Open MPI, default transports and TCP only) with a small problem (N=1600,
// a 1x2 grid) is checkpointed live, then checkpointed with --kill, both at random moments of its
// first sections (RandomAccess, which checks every table update), and restarted: it must go on to
// the end, write every section once, find no RandomAccess errors and pass HPL's residual check.
import t from 'tap'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setup, sleep } from './helpers/amber.js'
import { ensureHpcc, ensureMpi, mpirun } from './helpers/mpi.js'

t.setTimeout(600_000)

// HPL.dat's layout (hpcc reads hpccinf.txt from its working directory): one problem of N=1600,
// NB=80, a 1x2 process grid; PTRANS with no additional sizes.
const INPUT = `HPLinpack benchmark input file
Innovative Computing Laboratory, University of Tennessee
HPL.out      output file name (if any)
8            device out (6=stdout,7=stderr,file)
1            # of problems sizes (N)
1600         Ns
1            # of NBs
80           NBs
0            PMAP process mapping (0=Row-,1=Column-major)
1            # of process grids (P x Q)
1            Ps
2            Qs
16.0         threshold
1            # of panel fact
2            PFACTs (0=left, 1=Crout, 2=Right)
1            # of recursive stopping criterium
4            NBMINs (>= 1)
1            # of panels in recursion
2            NDIVs
1            # of recursive panel fact.
1            RFACTs (0=left, 1=Crout, 2=Right)
1            # of broadcast
1            BCASTs (0=1rg,1=1rM,2=2rg,3=2rM,4=Lng,5=LnM)
1            # of lookahead depth
1            DEPTHs (>=0)
2            SWAP (0=bin-exch,1=long,2=mix)
64           swapping threshold
0            L1 in (0=transposed,1=no-transposed) form
0            U  in (0=transposed,1=no-transposed) form
1            Equilibration (0=no,1=yes)
8            memory alignment in double (> 0)
##### This line (no. 32) is ignored (it serves as a separator). ######
0                      		Number of additional problem sizes for PTRANS
1200 10000 30000        	values of N
0                       	number of additional blocking sizes for PTRANS
40 9 8 13 13 20 16 32 64       	values of NB
`

const SECTIONS = ['MPIRandomAccess', 'StarRandomAccess', 'SingleRandomAccess', 'PTRANS', 'StarDGEMM', 'SingleDGEMM', 'StarSTREAM', 'SingleSTREAM', 'MPIFFT', 'StarFFT', 'SingleFFT', 'LatencyBandwidth', 'HPL']

const VARIANTS: [string, string[]][] = [
  ['default transports (shared memory, CMA, TCP)', []],
  ['TCP only', ['--mca', 'btl', 'tcp,self', '--mca', 'pml', 'ob1']],
]

for (const [name, mca] of VARIANTS) t.test(`hpcc over ${name}: checkpointed mid-run, killed, restarted, HPL residual PASSED`, async (t) => {
  const mpiWhy = ensureMpi('openmpi')
  const why = mpiWhy ?? ensureHpcc()
  if (why) {
    if (process.getuid?.() === 0) return t.fail(why)
    return t.skip(why)
  }
  const a = await setup(t, { env: { OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1', OMPI_MCA_rmaps_base_oversubscribe: '1' } })
  const input = join(a.base, 'hpccinf.txt')
  const output = join(a.base, 'hpccoutf.txt')
  writeFileSync(input, INPUT, { mode: 0o644 })
  const out = () => (existsSync(output) ? readFileSync(output, 'utf8') : '')
  const app = a.launch([mpirun('openmpi'), '--oversubscribe', ...mca, '-np', '2', '/usr/bin/hpcc'])
  for (let i = 0; i < 600 && !out().includes('Begin of MPIRandomAccess section'); i++) await sleep(100)
  t.ok(out().includes('Begin of MPIRandomAccess section'), 'hpcc reached its first section')
  // Both checkpoints early in RandomAccess (which runs for seconds even on a quiet machine): the
  // job must still be running at the --kill, or the test proves nothing.
  await sleep(100 + Math.floor(Math.random() * 500))
  const live = await a.checkpoint()
  t.ok(live.images.length >= 3, `live checkpoint: ${live.images.length} images (mpirun and 2 ranks)`)
  await sleep(Math.floor(Math.random() * 300))
  const r = await a.run(['checkpoint', '--dir', a.dir, '--kill', '--json'])
  t.equal(r.code, 0, `checkpoint --kill: ${r.stderr.trim()}`)
  await app.wait(30_000)
  const before = out()
  t.notOk(before.includes('End of HPL section'), 'killed before HPL finished')

  const restarted = a.restart()
  const ex = await restarted.wait(300_000).catch((e: Error) => {
    t.fail(e.message)
    return { code: null, signal: null }
  })
  t.equal(ex.code, 0, `the restarted hpcc exits 0; stderr: ${JSON.stringify(restarted.err.lines.slice(-8))}`)
  const text = out()
  for (const s of SECTIONS) {
    const n = text.split(`Begin of ${s} section.`).length - 1
    const e = text.split(`End of ${s} section.`).length - 1
    t.ok(n === 1 && e === 1, `section ${s} begun and ended once (${n}, ${e})`)
  }
  t.match(text, /\|\|Ax-b\|\|_oo\/\(eps\*\(\|\|A\|\|_oo\*\|\|x\|\|_oo\+\|\|b\|\|_oo\)\*N\)=\s+[0-9.e+-]+ \.+ PASSED/, 'HPL residual check PASSED')
  t.notMatch(text, /FAILED/, 'no check FAILED')
  t.ok((text.match(/Found 0 errors/g) ?? []).length >= 2, 'RandomAccess verified its tables: 0 errors')
  t.notMatch(text, /Found [1-9]\d* errors/, 'no RandomAccess errors')
  t.match(text, /HPL_Tflops=/, 'the summary is written')
})
