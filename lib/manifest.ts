/**
 * Generation manifests: DIR/gen-NNNNNN/manifest.json, written by the coordinator once every image
 * of the generation is durable. Reading validates the shape so that restart fails early with a
 * message naming the file, instead of deep inside a spawn.
 */
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { AmberError, isSystemError } from './errors.js';
import { createTemp, readTrusted, trustedManifestPath } from './trust.js';
import type { Manifest, ManifestProcess, SharedDescriptor } from './types.js';

export const MANIFEST_NAME = 'manifest.json';

export function genDirName(generation: number): string {
  return `gen-${String(generation).padStart(6, '0')}`;
}

export function imageName(vpid: number): string {
  return `p${vpid}.img`;
}

const GEN_RE = /^gen-(\d+)$/;

/** The generation number of a gen-NNNNNN name, or undefined. */
export function parseGenDirName(name: string): number | undefined {
  const m = GEN_RE.exec(name);
  return m?.[1] !== undefined ? Number(m[1]) : undefined;
}

function bad(path: string, why: string): AmberError {
  return new AmberError('EMANIFEST', `${path}: not a valid amber manifest: ${why}`, { path });
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

function checkProcess(path: string, p: unknown, i: number): ManifestProcess {
  if (typeof p !== 'object' || p === null) throw bad(path, `processes[${i}] is not an object`);
  const r = p as Record<string, unknown>;
  for (const k of ['vpid', 'pid', 'parent', 'bytes'] as const) {
    if (!isInt(r[k])) throw bad(path, `processes[${i}].${k} is not an integer`);
  }
  for (const k of ['host', 'cmd', 'image'] as const) {
    if (typeof r[k] !== 'string') throw bad(path, `processes[${i}].${k} is not a string`);
  }
  const image = r['image'] as string;
  // Images are named relative to the manifest; a path escaping the gen dir would let a crafted
  // manifest point restart at arbitrary files.
  if (image === '' || isAbsolute(image) || image.includes('/')) {
    throw bad(path, `processes[${i}].image must be a file name in the manifest's directory`);
  }
  // Issue 12: what binds the image to this manifest (absent in manifests written before).
  for (const k of ['xxh', 'program'] as const) {
    if (r[k] !== undefined && (typeof r[k] !== 'string' || !XXH_RE.test(r[k]))) throw bad(path, `processes[${i}].${k} is not 16 hex digits`);
  }
  if (r['creds'] !== undefined && (typeof r['creds'] !== 'string' || !CREDS_RE.test(r['creds']))) {
    throw bad(path, `processes[${i}].creds is not a list of credentials`);
  }
  return {
    vpid: r['vpid'] as number,
    pid: r['pid'] as number,
    parent: r['parent'] as number,
    host: r['host'] as string,
    cmd: r['cmd'] as string,
    image,
    bytes: r['bytes'] as number,
    ...(typeof r['xxh'] === 'string' ? { xxh: r['xxh'] } : {}),
    ...(typeof r['program'] === 'string' ? { program: r['program'] } : {}),
    ...(typeof r['creds'] === 'string' ? { creds: r['creds'] } : {}),
  };
}

const XXH_RE = /^[0-9a-f]{16}$/;
/** ManifestProcess.creds: 13 numbers (uids, gids, capability sets) and the groups. */
const CREDS_RE = /^[0-9]{1,20}(,[0-9]{1,20}){12,65548}$/;
const ID_RE = /^[0-9a-f]{32}$/;

/** Parses and validates a manifest already in memory. */
export function parseManifest(text: string, path = '<manifest>'): Manifest {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw bad(path, `invalid JSON (${(e as Error).message})`);
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw bad(path, 'not a JSON object');
  const r = j as Record<string, unknown>;
  if (r['amber'] !== 1) {
    throw new AmberError(
      'EVERSION',
      `${path}: unsupported manifest version ${JSON.stringify(r['amber'])} (this amber reads 1)`,
      { path, exitCode: 3 },
    );
  }
  if (!isInt(r['generation']) || (r['generation'] as number) < 1) throw bad(path, 'generation is not a positive integer');
  if (typeof r['time'] !== 'string') throw bad(path, 'time is not a string');
  if (typeof r['dir'] !== 'string') throw bad(path, 'dir is not a string');
  if (r['id'] !== undefined && (typeof r['id'] !== 'string' || !ID_RE.test(r['id']))) throw bad(path, 'id is not 32 hex digits');
  if (!Array.isArray(r['processes'])) throw bad(path, 'processes is not an array');
  if (r['processes'].length === 0) throw bad(path, 'processes is empty');
  const processes = r['processes'].map((p, i) => checkProcess(path, p, i));
  const seen = new Set<number>();
  for (const p of processes) {
    if (seen.has(p.vpid)) throw bad(path, `vpid ${p.vpid} appears twice`);
    seen.add(p.vpid);
  }
  if (typeof r['bytes'] !== 'number') throw bad(path, 'bytes is not a number');
  if (typeof r['seconds'] !== 'number') throw bad(path, 'seconds is not a number');
  let shares: SharedDescriptor[][] | undefined;
  if (r['shares'] !== undefined) {
    const sh = r['shares'];
    const ok =
      Array.isArray(sh) &&
      sh.every(
        (g) =>
          Array.isArray(g) &&
          g.length >= 2 &&
          g.every((d) => typeof d === 'object' && d !== null && seen.has((d as SharedDescriptor).vpid) && isInt((d as SharedDescriptor).fd) && (d as SharedDescriptor).fd >= 0),
      );
    if (!ok) throw bad(path, 'shares is not a list of groups of { vpid, fd } naming its processes');
    shares = (sh as SharedDescriptor[][]).map((g) => g.map((d) => ({ vpid: d.vpid, fd: d.fd })));
  }
  return {
    amber: 1,
    generation: r['generation'] as number,
    time: r['time'],
    dir: r['dir'],
    ...(typeof r['id'] === 'string' ? { id: r['id'] } : {}),
    processes,
    bytes: r['bytes'],
    seconds: r['seconds'],
    ...(shares !== undefined ? { shares } : {}),
  };
}

/** Reads and validates a manifest.json. Errors are AmberErrors naming the file (exit 3). */
export async function readManifest(path: string): Promise<Manifest> {
  let text: string;
  try {
    // Never through a link, never a FIFO, only a file of ours (lib/trust.ts).
    text = await readTrusted(path, 'the manifest');
  } catch (e) {
    if (e instanceof AmberError) throw e;
    const code = isSystemError(e) && e.code !== undefined ? e.code : 'EMANIFEST';
    throw new AmberError(code, `${path}: cannot read manifest: ${(e as Error).message}`, {
      path,
      exitCode: 3,
      cause: e,
    });
  }
  return parseManifest(text, path);
}

/** Absolute image paths of a manifest read from `manifestPath`, in manifest order. */
export function manifestImages(manifest: Manifest, manifestPath: string): string[] {
  const dir = dirname(resolve(manifestPath));
  return manifest.processes.map((p) => join(dir, p.image));
}

/**
 * Turns a restart/inspect target into a manifest path: a manifest file itself, a generation
 * directory (holding manifest.json), or a checkpoint DIR (whose `latest` link names the newest
 * durable generation). Everything on the way is checked (lib/trust.ts): the link is resolved now,
 * so the generation cannot change under a restart that is reading it, and messages name the real
 * gen-NNNNNN directory.
 */
export async function resolveManifestPath(target: string): Promise<string> {
  return trustedManifestPath(target, MANIFEST_NAME);
}

/** fsync a directory so a rename inside it is durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes `data` to `path` durably and atomically: PATH.tmp (mode 0600), fsync, rename, fsync the
 * directory. A crash leaves either the old file or the new one, never a torn one.
 */
export async function writeFileDurable(path: string, data: string, mode = 0o600): Promise<void> {
  const tmp = `${path}.tmp`;
  // A new file: a leftover tmp (a crash) is unlinked, never written through (lib/trust.ts).
  const fh = await createTemp(tmp, mode);
  try {
    await fh.writeFile(data);
    await fh.chmod(mode); // the umask may have narrowed or the file pre-existed with other bits
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  await rename(tmp, path);
  await fsyncDir(dirname(path));
}

export function genOfManifestPath(path: string): number | undefined {
  return parseGenDirName(basename(dirname(resolve(path))));
}
