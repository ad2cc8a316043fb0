// What amber's wrappers cost (issue 3): the same program (bench/overhead.c) run plain and under
// the agent with a live coordinator, interleaved, median of N runs per case; printed as ratios.
//   node bench/overhead.js        (AMBER_BENCH_RUNS=5 by default)
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const { agentPath } = await import(join(root, 'dist', 'lib', 'index.js'))
const runs = Math.max(1, Number(process.env.AMBER_BENCH_RUNS ?? 5))
const base = mkdtempSync(join(tmpdir(), 'amber-overhead-'))
const exe = join(base, 'overhead')
execFileSync('cc', ['-O2', '-o', exe, join(root, 'bench', 'overhead.c')])

const coord = spawn(process.execPath, [join(root, 'dist', 'lib', 'cli.js'), 'coordinator', '--dir', base], { stdio: 'ignore' })
const sock = join(base, '.amber', 'coord.sock')
for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50))
const withAgent = { ...process.env, LD_PRELOAD: agentPath(), AMBER_COORD: sock }

const cases = ['getpid', 'kill', 'syscall', 'stat', 'forkexec', 'pipe']
const run = (name, env) => Number(execFileSync(exe, [name], { env, encoding: 'utf8' }).trim().split(' ')[1])
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const rows = []
for (const name of cases) {
  const plain = []
  const amber = []
  for (let i = 0; i < runs; i++) {
    plain.push(run(name, process.env))
    amber.push(run(name, withAgent))
  }
  rows.push({ name, plain: median(plain), amber: median(amber), ratio: median(amber) / median(plain) })
}
// The coordinator may still be writing its state under base: wait for it to be gone first.
const gone = new Promise((r) => (coord.exitCode !== null || coord.signalCode !== null ? r() : coord.once('exit', r)))
coord.kill('SIGTERM')
await gone
rmSync(base, { recursive: true, force: true })

const what = { getpid: '2,000,000 getpid()', kill: '1,000,000 kill(self, 0)', forkexec: '200 fork+exec+wait', pipe: '512 MiB through a pipe', syscall: '2,000,000 syscall(getpid)', stat: '1,000,000 stat(path)' }
console.log(`case                       plain        under amber   ratio (median of ${runs})`)
console.log('-------------------------  -----------  ------------  -----')
for (const r of rows) {
  console.log(`${what[r.name].padEnd(25)}  ${(r.plain * 1000).toFixed(1).padStart(8)} ms  ${(r.amber * 1000).toFixed(1).padStart(9)} ms  ${r.ratio.toFixed(2)}×`)
}
