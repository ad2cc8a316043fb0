// The published typed contract. lib/ is the only place the public types are written: tsc
// (`declaration: true`) generates dist/lib/*.d.ts and dist/cjs/lib/*.d.ts, package.json's "types"
// and "exports" point consumers there, and types/index.d.ts merely re-exports them.
//
// This test builds those declarations afresh into a scratch project, as the package a consumer
// installs (package.json, types/, the generated .d.ts), and compiles test/contract/check.ts (an
// ESM consumer using every public export, option, field and event) and check-cjs.cts (a CommonJS
// consumer) against them: an incompatible change to the public API fails to compile here. A canary
// that uses an option the API does not have must fail, so a harness that checks nothing is caught.
// Finally `npm pack --dry-run` must ship every file package.json points at.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// tsc builds lib/ twice and compiles two consumers: on a busy 2-core machine that can take more
// than the default per-file limit.
t.setTimeout(300_000);

const root = resolve(import.meta.dirname, '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const pj = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** tsc ARGS (async: the two declaration builds run side by side). */
function run(args: string[], cwd = root): Promise<{ status: number | null; output: string }> {
  return new Promise((res) => {
    const child = spawn(process.execPath, [tsc, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.on('close', (status) => res({ status, output: output.trim() }));
  });
}

/** A scratch consumer project whose node_modules/amber holds what the package publishes for types. */
function scratch(t: { teardown(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'amber-contract-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pkg = join(dir, 'node_modules', 'amber');
  mkdirSync(pkg, { recursive: true });
  copyFileSync(join(root, 'package.json'), join(pkg, 'package.json'));
  cpSync(join(root, 'types'), join(pkg, 'types'), { recursive: true });
  return dir;
}

function consumerConfig(dir: string, files: string[], name = 'tsconfig.json', checkDeclarations = true): string {
  const cfg = join(dir, name);
  writeFileSync(
    cfg,
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        exactOptionalPropertyTypes: true,
        noEmit: true,
        // the generated declarations themselves are checked too
        skipLibCheck: !checkDeclarations,
        types: ['node'],
        typeRoots: [join(root, 'node_modules', '@types')],
      },
      files,
    }),
  );
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  return cfg;
}

t.test('the declarations generated from lib/ satisfy a consumer of the public API', async (t) => {
  const dir = scratch(t);
  const out = join(dir, 'node_modules', 'amber', 'dist');
  const [esm, cjs] = await Promise.all([
    run(['-p', 'tsconfig.json', '--emitDeclarationOnly', '--declaration', '--outDir', out]),
    run(['-p', 'tsconfig.cjs.json', '--emitDeclarationOnly', '--declaration', '--outDir', join(out, 'cjs')]),
  ]);
  t.equal(esm.status, 0, 'tsc emits the ESM declarations', { output: esm.output });
  t.equal(cjs.status, 0, 'tsc emits the CommonJS declarations', { output: cjs.output });
  writeFileSync(join(out, 'cjs', 'package.json'), JSON.stringify({ type: 'commonjs' }));
  for (const p of [pj.types, pj.exports['.'].import.types, pj.exports['.'].require.types]) {
    t.ok(existsSync(join(dir, 'node_modules', 'amber', p)), `package.json points at generated declarations: ${p}`);
  }

  for (const f of ['check.ts', 'check-cjs.cts']) copyFileSync(join(root, 'test', 'contract', f), join(dir, f));
  // types/index.d.ts is only a re-export of the generated declarations
  writeFileSync(
    join(dir, 'thin.ts'),
    `import type * as Thin from './node_modules/amber/types/index.js';\n` +
      `import type * as Pkg from 'amber';\n` +
      `type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;\n` +
      `export const same: [Same<Thin.LaunchOptions, Pkg.LaunchOptions>, Same<Thin.StatusResult, Pkg.StatusResult>, Same<typeof Thin.restart, typeof Pkg.restart>] = [true, true, true];\n`,
  );
  // canary: the same harness rejects a use the API does not allow
  writeFileSync(join(dir, 'canary.ts'), `import { launch } from 'amber';\nvoid launch(['x'], { noSuchOption: true });\n`);
  const [r, c] = await Promise.all([
    run(['-p', consumerConfig(dir, ['check.ts', 'check-cjs.cts', 'thin.ts'])], dir),
    run(['-p', consumerConfig(dir, ['canary.ts'], 'tsconfig.canary.json', false)], dir),
  ]);
  t.equal(r.status, 0, 'tsc --noEmit test/contract/check.ts, check-cjs.cts against the published declarations', { output: r.output });
  t.not(c.status, 0, 'a consumer using an option that does not exist fails to compile');
  t.match(c.output, /noSuchOption/, 'and tsc names it');
});

t.test('npm pack ships what package.json points at', async (t) => {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  t.equal(r.status, 0, 'npm pack --dry-run', { stderr: r.stderr });
  const files = new Set<string>((JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path));
  const want: string[] = [pj.main, pj.types, pj.exports['.'].import.types, pj.exports['.'].import.default, pj.exports['.'].require.types, pj.exports['.'].require.default, pj.bin.amber, 'types/index.d.ts'];
  for (const p of want) {
    const rel = p.replace(/^\.\//, '');
    if (!existsSync(join(root, rel))) t.fail(`${rel} is not built (npm run build:ts)`);
    else t.ok(files.has(rel), `the package holds ${rel}`);
  }
  for (const d of ['dist/lib', 'dist/cjs/lib']) t.ok(files.has(`${d}/types.d.ts`), `and the declarations ${d}/index.d.ts refers to`);
});
