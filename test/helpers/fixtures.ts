// Builds the C fixtures in test/fixtures/ on demand and caches the binaries by source mtime.
//
//   const bin = await build('counter')   // -> /tmp/amber-fixtures/counter (0755)
//
// The cache directory is shared by every test file (and by bench/): each binary is compiled to a
// temporary name and renamed into place, so two test files building the same fixture at once do
// not see a half-written file. The directory and binaries are world-readable so the unprivileged
// test user (AMBER_TEST_AS) can run them.
import { execFile } from 'node:child_process'
import { chmodSync, mkdirSync, renameSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const fixturesDir = join(repoRoot, 'test', 'fixtures')
export const cacheDir = process.env.AMBER_FIXTURE_CACHE ?? join(tmpdir(), 'amber-fixtures')

/** python3 from the system, never a pyenv/virtualenv shim (those re-exec and add processes). */
export const python3 = '/usr/bin/python3'

const pending = new Map<string, Promise<string>>()

function mtime(p: string): number {
  try {
    return statSync(p).mtimeMs
  } catch {
    return -1
  }
}

/** Path of test/fixtures/<name> (a script fixture, e.g. pydict.py). */
export function fixture(name: string): string {
  return join(fixturesDir, name)
}

/** Compile test/fixtures/<name>.c (if the cached binary is older than the source); return its path. */
export function build(name: string): Promise<string> {
  let p = pending.get(name)
  if (!p) {
    p = doBuild(name)
    pending.set(name, p)
    p.catch(() => pending.delete(name))
  }
  return p
}

async function doBuild(name: string): Promise<string> {
  const src = join(fixturesDir, `${name}.c`)
  const out = join(cacheDir, name)
  const srcTime = mtime(src)
  if (srcTime < 0) throw new Error(`no such fixture: ${src}`)
  mkdirSync(cacheDir, { recursive: true, mode: 0o755 })
  try {
    chmodSync(cacheDir, 0o755)
  } catch {
    // not ours (another user's cache): the build below fails loudly if we cannot write
  }
  if (mtime(out) >= srcTime) return out
  const tmp = `${out}.${process.pid}.tmp`
  const cc = process.env.CC ?? 'cc'
  try {
    await run(cc, ['-O1', '-g', '-Wall', '-pthread', '-o', tmp, src])
  } catch (e) {
    const err = e as { stderr?: string; message: string }
    throw new Error(`compiling ${src} failed: ${err.stderr ?? err.message}`)
  }
  chmodSync(tmp, 0o755)
  renameSync(tmp, out)
  return out
}
