// The MPI implementations the tests run: Debian's Open MPI and MPICH, side by side (each has its
// own compiler wrapper and launcher: mpicc.openmpi/mpirun.openmpi, mpicc.mpich/mpirun.mpich).
//
//   const why = ensureMpi('openmpi')     // apt-get install when missing (root), else why to skip
//   if (why) return t.skip(why)
//   const bin = await buildMpi('openmpi', 'mpiring')   // test/fixtures/mpiring.c, cached
import { execFile, spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, renameSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { cacheDir, fixturesDir } from './fixtures.js'

const run = promisify(execFile)

export type Mpi = 'openmpi' | 'mpich'

const PACKAGES: Record<Mpi, string[]> = {
  openmpi: ['openmpi-bin', 'libopenmpi-dev'],
  mpich: ['mpich', 'libmpich-dev'],
}

export function mpicc(m: Mpi): string {
  return `/usr/bin/mpicc.${m}`
}
export function mpirun(m: Mpi): string {
  return `/usr/bin/mpirun.${m}`
}

function ready(m: Mpi): boolean {
  return [mpicc(m), mpirun(m)].every((p) => {
    try {
      return statSync(p).isFile()
    } catch {
      return false
    }
  })
}

/** Installs m with apt-get when missing (root only). Returns undefined when ready, else why to skip. */
export function ensureMpi(m: Mpi): string | undefined {
  if (ready(m)) return undefined
  if (process.getuid?.() !== 0) return `${m} is not installed (${PACKAGES[m].join(' ')}); run the tests as root once to install it`
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  const install = () => spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...PACKAGES[m]], { env, encoding: 'utf8', timeout: 900_000 })
  let r = install()
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore', timeout: 300_000 })
    r = install()
  }
  if (r.status !== 0 || !ready(m)) return `cannot install ${m} with apt-get (status ${r.status}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`
  return undefined
}

/** Compiles test/fixtures/<name>.c with m's mpicc (cached by source mtime); returns the binary. */
export async function buildMpi(m: Mpi, name: string): Promise<string> {
  const src = join(fixturesDir, `${name}.c`)
  const out = join(cacheDir, `${name}.${m}`)
  mkdirSync(cacheDir, { recursive: true, mode: 0o755 })
  try {
    if (statSync(out).mtimeMs >= statSync(src).mtimeMs) return out
  } catch {
    // not built yet
  }
  const tmp = `${out}.${process.pid}.tmp`
  try {
    await run(mpicc(m), ['-O1', '-g', '-Wall', '-o', tmp, src])
  } catch (e) {
    const err = e as { stderr?: string; message: string }
    throw new Error(`compiling ${src} with ${mpicc(m)} failed: ${err.stderr ?? err.message}`)
  }
  chmodSync(tmp, 0o755)
  renameSync(tmp, out)
  return out
}

/**
 * Debian's hpcc (HPC Challenge, HPL inside; built against Open MPI): undefined when /usr/bin/hpcc
 * is there or was installed now, else why not. As root a failed install is the caller's failure.
 */
export function ensureHpcc(): string | undefined {
  const have = () => {
    try {
      return statSync('/usr/bin/hpcc').isFile()
    } catch {
      return false
    }
  }
  if (have()) return undefined
  if (process.getuid?.() !== 0) return 'hpcc is not installed; run the tests as root once to install it'
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  const install = () => spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'hpcc'], { env, encoding: 'utf8', timeout: 900_000 })
  let r = install()
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore', timeout: 300_000 })
    r = install()
  }
  if (r.status !== 0 || !have()) return `cannot install hpcc with apt-get (status ${r.status}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`
  return undefined
}
