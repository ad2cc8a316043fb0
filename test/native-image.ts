// The C++ side of the image format in our sanitizer configuration (ASan + UBSan): the codec unit
// tests (every header/metadata byte flip, truncations, version and structure checks), the
// freestanding check of validate.h (what the restorer links), and a bounded fuzz run of the
// reader. test/native/build.sh does the work and exits non-zero on any failure.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const out = mkdtempSync(join(tmpdir(), 'amber-native-'));
t.teardown(() => rmSync(out, { recursive: true, force: true }));

t.setTimeout(900_000);

t.test('image codec under ASan/UBSan, and 10 s of fuzzing', async (t) => {
  const r = spawnSync('bash', [join(root, 'test/native/build.sh')], {
    env: { ...process.env, AMBER_NATIVE_TEST_OUT: out, AMBER_FUZZ_SECONDS: '10' },
    encoding: 'utf8',
    // a full ASan build: minutes on a loaded 2-core machine
    timeout: 600_000,
  });
  const text = `${r.stdout}\n${r.stderr}`;
  t.equal(r.status, 0, 'build.sh exits 0', { output: text.slice(-4000) });
  const m = /(\d+) passed, (\d+) failed/.exec(text);
  t.ok(m, 'the unit tests report their count');
  if (m) {
    t.ok(Number(m[1]) >= 15, `${m[1]} codec cases passed`);
    t.equal(Number(m[2]), 0, 'no codec case failed');
  }
});
