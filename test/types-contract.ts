// types/index.d.ts is the published contract and is written by hand: this compiles
// test/contract/check.ts, which fails when lib/ drifts from it (a missing export, a changed
// signature, a data shape that differs in either direction).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

t.test('lib/ satisfies types/index.d.ts', async (t) => {
  const r = spawnSync(process.execPath, [tsc, '-p', 'test/contract/tsconfig.json'], { cwd: root, encoding: 'utf8' });
  t.equal(r.status, 0, 'tsc --noEmit test/contract', { output: r.stdout + r.stderr });
});
