#!/usr/bin/env node
// `npm test`: every test file under tap, in two phases so the suite fits a 2-core CI machine.
//   1. every file but the exclusive ones, two at a time (most tests wait on their programs more
//      than they compute);
//   2. the exclusive ones, one at a time: a local Slurm cluster each (they must not share munge,
//      ports or namespaces), 2,000 processes or 10,000 descriptors (they load the machine for the
//      others), MPI jobs that busy-poll with more ranks than cores, CPU pinning and timer
//      accuracy, and the 256 MiB images.
// Extra arguments go to both tap runs (e.g. --reporter=tap). Exit status: the first failure's.
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
export const EXCLUSIVE = /^(slurm-.*|tree-2000|fd-10000|core-cpupin|core-timers|core-bigmem|core-forked|mpi.*|apps)\.ts$/

const extra = process.argv.slice(2)
const files = readdirSync(join(root, 'test')).filter((f) => f.endsWith('.ts')).sort()
const exclusive = files.filter((f) => EXCLUSIVE.test(f)).map((f) => `test/${f}`)
const tap = (args) => spawnSync('npx', ['tap', ...args, ...extra], { cwd: root, stdio: 'inherit' }).status ?? 1
// Named, not --exclude'd: a command-line --exclude replaces .taprc's list (helpers, fixtures).
let status = tap(['--jobs=2', ...files.map((f) => `test/${f}`).filter((f) => !exclusive.includes(f))])
const second = tap(['--jobs=1', ...exclusive])
if (!status) status = second
process.exit(status)
