// syscall/site.h (issue 10): which call a `syscall` instruction makes, read from the code before
// it, when a checkpoint interrupted a call the agent did not see the thread enter. Compiled with
// ASan/UBSan and run on byte sequences from glibc 2.36 and Go's runtime, traps included.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')

t.test('call numbers read from call sites', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'amber-site-'))
  t.teardown(() => rmSync(out, { recursive: true, force: true }))
  const exe = join(out, 'test_site')
  const cc = spawnSync(process.env.CXX ?? 'g++', ['-std=c++20', '-g', '-O1', '-Wall', '-Wextra', '-Werror',
    '-fsanitize=address,undefined', '-fno-sanitize-recover=all', `-I${join(root, 'src-native')}`,
    join(root, 'test/native/test_site.cc'), '-o', exe], { encoding: 'utf8' })
  t.equal(cc.status, 0, `compiles: ${cc.stderr}`)
  const r = spawnSync(exe, [], { encoding: 'utf8' })
  t.equal(r.status, 0, r.stdout + r.stderr)
  t.match(r.stdout, /all cases passed/)
})
