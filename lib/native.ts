/**
 * Locates the native artifacts. node-gyp-build picks the addon (build/Release/ after a source
 * build, prebuilds/linux-x64/ from a prebuild); the agent (libamber.so) and the restorer
 * (amber-restart) are shipped next to it, so we find them as siblings of the chosen .node file.
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AmberError } from './errors.js';
import type { Addon } from './types.js';

/**
 * This module's own file, from a V8 call site rather than `import.meta.url`, so the same source
 * compiles to ESM (dist/lib) and to CommonJS (dist/cjs/lib, for `require('amber')`).
 */
function thisFile(): string {
  const prep = Error.prepareStackTrace;
  let name: string | null | undefined;
  try {
    Error.prepareStackTrace = (_e, cs) => cs;
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder, thisFile);
    name = (holder.stack as NodeJS.CallSite[] | undefined)?.[0]?.getFileName();
  } finally {
    Error.prepareStackTrace = prep;
  }
  if (typeof name !== 'string' || name === '') {
    throw new AmberError('ENOBUILD', 'amber: cannot tell where its own module file is');
  }
  return name.startsWith('file:') ? fileURLToPath(name) : name;
}

const selfFile = thisFile();
const req = createRequire(selfFile);

interface NodeGypBuild {
  (dir: string): unknown;
  path(dir: string): string;
}

let rootCache: string | undefined;

/**
 * The package root: the nearest ancestor of this module holding a package.json named "amber".
 * Walking up (rather than assuming "two dirs above dist/lib") keeps this right when running from
 * lib/*.ts under a TS loader, or from a bundled copy.
 */
export function packageRoot(): string {
  if (rootCache !== undefined) return rootCache;
  let dir = dirname(selfFile);
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        const name = (JSON.parse(readFileSync(pj, 'utf8')) as { name?: unknown }).name;
        if (name === 'amber') return (rootCache = dir);
      } catch {
        // an unreadable package.json on the way up is not ours; keep walking
      }
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new AmberError('ENOBUILD', 'amber: cannot find the amber package root (package.json named "amber")');
}

function noBuild(what: string, detail: string): AmberError {
  return new AmberError(
    'ENOBUILD',
    `the native ${what} is missing (${detail}); run \`npm install\` (or \`npm run build\` in a source checkout)`,
  );
}

let addonFileCache: string | undefined;

/** The .node file node-gyp-build chooses for this platform/ABI. */
export function addonFile(): string {
  if (addonFileCache !== undefined) return addonFileCache;
  const root = packageRoot();
  let ngb: NodeGypBuild;
  try {
    ngb = req('node-gyp-build') as NodeGypBuild;
  } catch (e) {
    throw noBuild('loader', `node-gyp-build: ${(e as Error).message}`);
  }
  try {
    addonFileCache = ngb.path(root);
  } catch (e) {
    throw noBuild('addon', (e as Error).message.trim().split('\n')[0] ?? 'not found');
  }
  return addonFileCache;
}

/**
 * A sibling of the addon. node-gyp's make generator puts shared libraries under lib.target/, so
 * that is accepted as a fallback for a plain `node-gyp rebuild` tree.
 */
function sibling(name: string, envVar: string): string {
  const override = process.env[envVar];
  if (override !== undefined && override !== '') {
    const p = resolve(override);
    if (!existsSync(p)) throw noBuild(name, `${envVar}=${override} does not exist`);
    return p;
  }
  const dir = dirname(addonFile());
  for (const p of [join(dir, name), join(dir, 'lib.target', name)]) {
    if (existsSync(p)) return p;
  }
  throw noBuild(name, `not found next to ${addonFile()}`);
}

/** Absolute path of libamber.so (env AMBER_AGENT overrides, for tests). Throws 'ENOBUILD' when missing. */
export function agentPath(): string {
  return sibling('libamber.so', 'AMBER_AGENT');
}

/** Absolute path of the amber-restart restorer (env AMBER_RESTORER overrides, for tests). Throws 'ENOBUILD' when missing. */
export function restorerPath(): string {
  return sibling('amber-restart', 'AMBER_RESTORER');
}

let addonCache: Addon | undefined;

/**
 * The `amber` command's module (dist/lib/cli.js), run with node to start a background
 * coordinator. Next to this module in the ESM build; the CommonJS build (dist/cjs) has no CLI of
 * its own and uses the ESM one.
 */
export function cliPath(): string {
  const candidates = [join(dirname(selfFile), 'cli.js'), join(packageRoot(), 'dist', 'lib', 'cli.js')];
  for (const p of candidates) if (existsSync(p)) return p;
  throw new AmberError('ENOBUILD', `the amber CLI is missing (no cli.js in ${candidates.map((p) => dirname(p)).join(' or ')}); run \`npm run build:ts\``);
}

/**
 * The addon, loaded on first use so that commands that do not need it (launch, status) work even
 * when only the agent is present. AMBER_ADDON (a path to a .node or a CommonJS module with the same
 * exports) overrides it; it exists for tests of `inspect`.
 */
export function addon(): Addon {
  if (addonCache !== undefined) return addonCache;
  const override = process.env['AMBER_ADDON'];
  const file = override !== undefined && override !== '' ? resolve(override) : addonFile();
  try {
    addonCache = req(file) as Addon;
  } catch (e) {
    throw noBuild('addon', `${file}: ${(e as Error).message.split('\n')[0] ?? ''}`);
  }
  return addonCache;
}
