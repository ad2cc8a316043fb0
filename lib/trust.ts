/**
 * Trust (issue 12; DESIGN.md "Trust"). Images hold every secret of a process and a restart runs
 * their code, so amber never runs, follows or writes what another user could have planted. The
 * model is OpenSSH's StrictModes (and git's safe.directory): refuse, with one line that names the
 * path, its owner and its mode.
 *
 * The rules:
 *
 * - **What amber owns** — DIR, DIR/.amber, every gen-NNNNNN directory, image, manifest, the token,
 *   the state file, the socket and `latest` — must be owned by the user amber runs as (its
 *   effective uid) or by root, and must not be writable by group or others (the sticky bit does
 *   not help here: DIR itself must not be a place where others can create names).
 * - **Directories above DIR** (and above anything amber is asked to read) must be owned by that
 *   user or root; one writable by group or others is accepted only with the sticky bit (a DIR
 *   inside /tmp is fine: nobody else can rename it; a DIR whose parent another user can write
 *   without the sticky bit is not, nor one inside a directory another user owns).
 * - **Symbolic links**: a path given to amber (`--dir`, a manifest, an image) is resolved ONCE,
 *   one component at a time, as ssh does for ~: every link met on the way must be owned by the
 *   user or root (then it is followed, and what it leads to is checked like anything else); the
 *   resolved path is used from then on. Inside DIR amber follows no link: files are opened with
 *   O_NOFOLLOW (an image that is a link is refused), created with O_CREAT|O_EXCL|O_NOFOLLOW, and
 *   `latest` — the one link amber makes — must be ours and name a gen-NNNNNN directory beside it.
 * - Files are opened O_NONBLOCK and checked with fstat on what was opened: only regular files are
 *   read (a FIFO neither blocks nor is read).
 *
 * Refusals are AmberErrors with code 'EUNSAFE' (exit 3); an image that is not the one its manifest
 * recorded is 'EMISMATCH' (exit 3). Everything here is silent (debuglog only).
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, type Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, readlink, rm, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { debuglog } from 'node:util';
import { AmberError } from './errors.js';
import type { ImageInfo, Manifest, ManifestProcess } from './types.js';

const debug = debuglog('amber');

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK } = constants;
const READ_FLAGS = O_RDONLY | O_NOFOLLOW | O_NONBLOCK;
const CREATE_FLAGS = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;

/** Generation directories amber makes (genDirName pads to six digits). */
export const GEN_DIR_RE = /^gen-\d{6,}$/;

/** The uid whose files amber trusts (besides root's): the effective uid; undefined off POSIX. */
export function trustedUid(): number | undefined {
  return typeof process.geteuid === 'function' ? process.geteuid() : undefined;
}

let passwd: Map<number, string> | undefined;
function userName(uid: number): string | undefined {
  if (passwd === undefined) {
    passwd = new Map();
    try {
      for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
        const f = line.split(':');
        if (f.length > 2 && /^\d+$/.test(f[2]!) && !passwd.has(Number(f[2]))) passwd.set(Number(f[2]), f[0]!);
      }
    } catch {
      // no names then: uids are enough
    }
  }
  return passwd.get(uid);
}

/** "uid 999 (amber-evil)". */
export function describeUid(uid: number): string {
  const n = userName(uid);
  return n !== undefined ? `uid ${uid} (${n})` : `uid ${uid}`;
}

/** Permission bits as four octal digits: "0777", "1777". */
export function modeText(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isDirectory()) return 'a directory';
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFile()) return 'a regular file';
  return 'a file of an unknown kind';
}

/**
 * The one-line refusal: `PATH: refusing WHAT: REASON; owner uid U (name), mode 0MMM`.
 */
export function refusal(path: string, what: string, reason: string, st?: { uid: number; mode: number }): AmberError {
  const tail = st !== undefined ? `; owner ${describeUid(st.uid)}, mode ${modeText(st.mode)}` : '';
  return new AmberError('EUNSAFE', `${path}: refusing ${what}: ${reason}${tail}`, { path, exitCode: 3 });
}

function ownedByUs(st: { uid: number }): boolean {
  const me = trustedUid();
  return me === undefined || st.uid === me || st.uid === 0;
}

function notOurs(): string {
  const me = trustedUid();
  return me === 0 || me === undefined
    ? 'owned by another user (amber runs as root and trusts only root)'
    : `owned by another user (amber runs as ${describeUid(me)} and trusts only that user and root)`;
}

function lstatQuiet(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

const LINK_REASON = 'a symbolic link (amber follows no link it did not make)';

/** The rule for what amber owns: ours or root's, not writable by group or others. */
export function checkOwned(path: string, st: { uid: number; mode: number }, what: string): void {
  if (trustedUid() === undefined) return;
  if (!ownedByUs(st)) throw refusal(path, what, notOurs(), st);
  if ((st.mode & 0o022) !== 0) throw refusal(path, what, 'writable by group or others', st);
}

/**
 * The uid the kernel shows for an owner with no mapping in our user namespace (overflowuid), or
 * undefined in the initial namespace. Inside one (`unshare -r`, a rootless container) the host's
 * root-owned directories (/, /tmp) show as owned by it.
 */
let overflow: number | undefined | null = null;
function unmappedOwner(): number | undefined {
  if (overflow !== null) return overflow;
  overflow = undefined;
  try {
    const map = readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/);
    const initial = map.length === 3 && map[0] === '0' && map[1] === '0' && map[2] === '4294967295';
    if (!initial) overflow = Number(readFileSync('/proc/sys/kernel/overflowuid', 'utf8').trim());
  } catch {
    // no /proc: the initial namespace as far as we can tell
  }
  return overflow;
}

/**
 * The rule for a directory above: ours or root's — or, inside a user namespace, one whose owner
 * has no uid here (the host's root shows so) — and writable by others only with the sticky bit.
 */
function checkAbove(path: string, st: Stats, below: string): void {
  if (trustedUid() === undefined) return;
  const what = `a directory above ${below}`;
  if (!ownedByUs(st) && st.uid !== unmappedOwner()) throw refusal(path, what, notOurs(), st);
  if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) {
    throw refusal(path, what, 'writable by group or others and not sticky', st);
  }
}

function errCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null ? ((e as NodeJS.ErrnoException).code ?? undefined) : undefined;
}

/** glibc's strerror text for the errno names a failure is likely to carry. */
const STRERROR: Record<string, string> = {
  ENOSPC: 'No space left on device',
  EDQUOT: 'Disk quota exceeded',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  EROFS: 'Read-only file system',
  EIO: 'Input/output error',
  EFBIG: 'File too large',
  ENOENT: 'No such file or directory',
  EEXIST: 'File exists',
  ELOOP: 'Too many levels of symbolic links',
  EMFILE: 'Too many open files',
  ENFILE: 'Too many open files in system',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  ENAMETOOLONG: 'File name too long',
  ENOMEM: 'Cannot allocate memory',
  EBUSY: 'Device or resource busy',
  EXDEV: 'Invalid cross-device link',
  ENOTEMPTY: 'Directory not empty',
};

/** Why a system call failed, as strerror says it ("No space left on device"). */
export function causeText(e: unknown): string {
  const code = errCode(e);
  if (code !== undefined && STRERROR[code] !== undefined) return STRERROR[code];
  const m = e instanceof Error ? e.message : String(e);
  // node: "ENOSPC: no space left on device, open '/x'" → "no space left on device"
  const x = /^E[A-Z0-9]+: ([^,]+)/.exec(m);
  return x?.[1] ?? m;
}

/** "cannot write /x/manifest.json: No space left on device" for a failed file system call. */
export function fsFailure(e: unknown, doing: string, path: string): AmberError {
  const code = errCode(e) ?? 'EIO';
  return new AmberError(code, `cannot ${doing} ${path}: ${causeText(e)}`, { path, cause: e });
}

// -------------------------------------------------------------------------------------------------
// Paths given to amber: resolved once, every step checked

interface Walked {
  /** The resolved path (no symbolic links in it). */
  real: string;
  /** Whether it exists (else `real` is where it would be, below an existing, checked directory). */
  exists: boolean;
  st: Stats | undefined;
}

/**
 * Resolves `input` one component at a time. Every directory passed through is checked with the
 * "directory above" rule; every symbolic link met must be ours or root's (its target is then walked
 * the same way). The final component is returned unchecked (the caller applies its own rule).
 */
async function walk(input: string, subject: string): Promise<Walked> {
  const parts = resolve(input).split('/').filter((p) => p !== '');
  let cur = '/';
  let links = 0;
  const checked = new Set<string>();
  while (parts.length > 0) {
    const name = parts.shift()!;
    if (name === '.') continue;
    if (name === '..') {
      cur = dirname(cur);
      continue;
    }
    if (!checked.has(cur)) {
      checkAbove(cur, await lstat(cur), subject);
      checked.add(cur);
    }
    const next = cur === '/' ? `/${name}` : `${cur}/${name}`;
    let st: Stats;
    try {
      st = await lstat(next);
    } catch (e) {
      if (errCode(e) === 'ENOENT') return { real: join(next, ...parts), exists: false, st: undefined };
      throw e;
    }
    if (st.isSymbolicLink()) {
      if (++links > 40) throw refusal(next, `the way to ${subject}`, 'too many levels of symbolic links', st);
      if (trustedUid() !== undefined && !ownedByUs(st)) throw refusal(next, `a symbolic link on the way to ${subject}`, notOurs(), st);
      const target = await readlink(next);
      parts.unshift(...target.split('/').filter((p) => p !== ''));
      if (target.startsWith('/')) cur = '/';
      continue;
    }
    if (parts.length > 0 && !st.isDirectory()) {
      throw new AmberError('ENOTDIR', `${next}: not a directory (on the way to ${subject})`, { path: next, exitCode: 3 });
    }
    cur = next;
    if (parts.length === 0) return { real: cur, exists: true, st };
  }
  return { real: cur, exists: true, st: await lstat(cur) };
}

/**
 * The checkpoint directory a coordinator writes in: resolved once (a symbolic link to it is
 * followed if it is ours or root's), created 0700 when missing, then checked like everything
 * amber owns. Returns the resolved path, which is what the coordinator uses from then on.
 */
export async function trustedCheckpointDir(dir: string): Promise<string> {
  const subject = `the checkpoint directory ${resolve(dir)}`;
  let w = await walk(dir, subject);
  if (!w.exists) {
    await mkdir(w.real, { recursive: true, mode: 0o700 });
    w = await walk(dir, subject);
  }
  const st = w.st ?? (await lstat(w.real));
  if (!st.isDirectory()) throw refusal(w.real, 'the checkpoint directory', `not a directory but ${kindOf(st)}`, st);
  checkOwned(w.real, st, 'the checkpoint directory');
  if (w.real !== resolve(dir)) debug('checkpoint directory %s is %s', dir, w.real);
  return w.real;
}

/** path: created 0700, or checked (ours, a real directory, not a link, not writable by others). */
async function ownDirectory(path: string, what: string): Promise<string> {
  try {
    await mkdir(path, { mode: 0o700 });
  } catch (e) {
    if (errCode(e) !== 'EEXIST') throw e;
  }
  const st = await lstat(path);
  if (st.isSymbolicLink()) throw refusal(path, what, LINK_REASON, st);
  if (!st.isDirectory()) throw refusal(path, what, `not a directory but ${kindOf(st)}`, st);
  checkOwned(path, st, what);
  return path;
}

/** DIR/.amber: created 0700, or checked (ours, a real directory, not writable by others). */
export async function trustedStateDir(dir: string): Promise<string> {
  return ownDirectory(join(dir, '.amber'), 'the state directory');
}

/** DIR/.amber/job (amber job's files): DIR and .amber checked, the job directory made 0700 or checked. */
export async function trustedJobDir(dir: string): Promise<string> {
  const adir = await trustedStateDir(await trustedCheckpointDir(dir));
  return ownDirectory(join(adir, 'job'), 'the job directory');
}

/**
 * The directory a socket given by path (--listen PATH) is created in: resolved and checked as a
 * "directory above" (ours or root's; writable by others only if sticky, like /tmp).
 */
export async function trustedSocketParent(socketPath: string): Promise<void> {
  const parent = dirname(resolve(socketPath));
  const w = await walk(parent, `the socket ${socketPath}`);
  if (!w.exists) return; // listen fails with ENOENT, which says it
  checkAbove(w.real, w.st ?? (await lstat(w.real)), `the socket ${socketPath}`);
}

/**
 * The socket file: after listen, a socket of ours; before removing a stale one (nothing answers
 * there), anything of ours but a directory — unlink removes a link, never what it points at — and
 * never another user's (in a sticky directory such as /tmp, theirs stays theirs).
 */
export async function checkSocketFile(path: string, stale = false): Promise<void> {
  const st = await lstat(path);
  if (stale ? st.isDirectory() : !st.isSocket()) throw refusal(path, 'the socket', `not a socket but ${kindOf(st)}`, st);
  if (trustedUid() !== undefined && !ownedByUs(st)) throw refusal(path, 'the socket', notOurs(), st);
}

// -------------------------------------------------------------------------------------------------
// Files inside a trusted directory

/** Opens a file to read: never through a link, never blocking, only a regular file we trust. */
export async function openTrusted(path: string, what: string): Promise<FileHandle> {
  let fh: FileHandle;
  try {
    fh = await open(path, READ_FLAGS);
  } catch (e) {
    if (errCode(e) === 'ELOOP') {
      const st = await lstat(path).catch(() => undefined);
      if (st?.isSymbolicLink() === true) throw refusal(path, what, LINK_REASON, st);
    }
    throw e;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw refusal(path, what, `not a regular file but ${kindOf(st)}`, st);
    checkOwned(path, st, what);
    return fh;
  } catch (e) {
    await fh.close().catch(() => undefined);
    throw e;
  }
}

/** The text of a file we trust (see openTrusted). */
export async function readTrusted(path: string, what: string): Promise<string> {
  const fh = await openTrusted(path, what);
  try {
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

/** Opens path for reading without following a link, checks it is a regular file of ours, and
 * gives fn the descriptor (closed after). */
function withTrustedFdSync<T>(path: string, what: string, fn: (fd: number, st: Stats) => T): T {
  let fd: number;
  try {
    fd = openSync(path, READ_FLAGS);
  } catch (e) {
    if (errCode(e) === 'ELOOP') throw refusal(path, what, LINK_REASON, lstatQuiet(path));
    throw e;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw refusal(path, what, `not a regular file but ${kindOf(st)}`, st);
    checkOwned(path, st, what);
    return fn(fd, st);
  } finally {
    closeSync(fd);
  }
}

/** Synchronous openTrusted + close: checks the file amber is about to hand to a reader. */
export function checkFileSync(path: string, what: string): Stats {
  return withTrustedFdSync(path, what, (_fd, st) => st);
}

/** Synchronous read of a small trusted file (the token, for clients). */
export function readTrustedSync(path: string, what: string): string {
  return withTrustedFdSync(path, what, (fd) => readFileSync(fd, 'utf8'));
}

/** Creates a new file (never an existing one, never through a link). */
export function createExclusive(path: string, mode = 0o600): Promise<FileHandle> {
  return open(path, CREATE_FLAGS, mode);
}

/**
 * A temporary file of ours to write and rename into place: a leftover of the same name (a crash)
 * is removed first — unlink never follows a link — then the file is created exclusively.
 */
export async function createTemp(path: string, mode = 0o600): Promise<FileHandle> {
  await unlink(path).catch((e: unknown) => {
    if (errCode(e) !== 'ENOENT') throw e;
  });
  return createExclusive(path, mode);
}

// -------------------------------------------------------------------------------------------------
// Reading a checkpoint: restart, inspect

/**
 * Turns a restart/inspect target (a checkpoint DIR, a generation directory, a manifest) into the
 * manifest's path, checking on the way: the path resolved once as above; DIR and the generation
 * directory ours and not writable by others; `latest` a link of ours naming gen-NNNNNN beside it.
 * The manifest file itself is checked when it is read (readTrusted).
 */
export async function trustedManifestPath(target: string, manifestName: string): Promise<string> {
  const abs = resolve(target);
  let w: Walked;
  try {
    w = await walk(abs, `the checkpoint ${abs}`);
  } catch (e) {
    if (e instanceof AmberError) throw e;
    throw new AmberError(errCode(e) ?? 'EMANIFEST', `${abs}: no such checkpoint (${causeText(e)})`, { path: abs, exitCode: 3, cause: e });
  }
  if (!w.exists) {
    throw new AmberError('ENOENT', `${abs}: no such checkpoint (${STRERROR['ENOENT']})`, { path: abs, exitCode: 3 });
  }
  const st = w.st ?? (await lstat(w.real));
  if (!st.isDirectory()) {
    // a manifest: its directory holds the images
    await checkGenerationDir(dirname(w.real));
    return w.real;
  }
  const direct = join(w.real, manifestName);
  if (await lstat(direct).then(() => true, () => false)) {
    await checkGenerationDir(w.real);
    return direct;
  }
  const latest = join(w.real, 'latest');
  const lst = await lstat(latest).catch(() => undefined);
  if (lst !== undefined) {
    checkOwned(w.real, st, 'the checkpoint directory');
    const gen = await trustedLatest(w.real, lst);
    const gdir = join(w.real, gen);
    await checkGenerationDir(gdir);
    return join(gdir, manifestName);
  }
  throw new AmberError('EMANIFEST', `${w.real}: no checkpoint here (neither ${manifestName} nor latest/${manifestName})`, { path: w.real });
}

/** `latest`: a symbolic link of ours (or root's) whose target is a gen-NNNNNN name beside it. */
async function trustedLatest(dir: string, lst: Stats): Promise<string> {
  const path = join(dir, 'latest');
  if (!lst.isSymbolicLink()) throw refusal(path, 'the link latest', `not a symbolic link but ${kindOf(lst)}`, lst);
  if (trustedUid() !== undefined && !ownedByUs(lst)) throw refusal(path, 'the link latest', notOurs(), lst);
  const target = await readlink(path);
  if (!GEN_DIR_RE.test(target)) {
    throw refusal(path, 'the link latest', `it points at ${JSON.stringify(target)}, not at a gen-NNNNNN directory beside it`, lst);
  }
  return target;
}

/**
 * A generation directory (the directory a manifest and its images are in) must be a directory of
 * ours not writable by others; when it is named gen-NNNNNN, the checkpoint DIR above it too.
 */
async function checkGenerationDir(gdir: string): Promise<void> {
  const st = await lstat(gdir);
  if (st.isSymbolicLink()) throw refusal(gdir, 'the generation directory', LINK_REASON, st);
  checkOwned(gdir, st, 'the generation directory');
  if (GEN_DIR_RE.test(basename(gdir))) {
    const dir = dirname(gdir);
    checkOwned(dir, await lstat(dir), 'the checkpoint directory');
  }
}

/** An image amber is about to read (restart, inspect): see checkFileSync, and its directory. */
export async function checkImagePath(path: string): Promise<string> {
  const abs = resolve(path);
  const w = await walk(dirname(abs), `the image ${abs}`);
  const real = join(w.real, basename(abs));
  checkFileSync(real, 'the image');
  return real;
}

// -------------------------------------------------------------------------------------------------
// Images bound to their generation

function mismatch(path: string, why: string): AmberError {
  return new AmberError('EMISMATCH', `${path}: ${why}: refusing it`, { path, exitCode: 3 });
}

/**
 * Refuses an image that is not the one the manifest recorded: another program, another generation
 * (an older one swapped in, a copy from another computation), another checksum or size. A manifest
 * written before generation ids (no `id`) binds nothing but the vpid.
 */
export function checkBinding(manifest: Manifest, mp: ManifestProcess, info: ImageInfo, path: string, manifestPath: string): void {
  if (info.vpid !== mp.vpid) throw mismatch(path, `it holds vpid ${info.vpid}, but ${manifestPath} lists it for vpid ${mp.vpid}`);
  if (manifest.id === undefined) return;
  const prog = info.exe !== '' ? info.exe : (info.cmdline[0] ?? '?');
  if (mp.program !== undefined && info.programXxh !== undefined && info.programXxh !== mp.program) {
    throw mismatch(path, `it holds another program (${prog}) than the one ${manifestPath} recorded for vpid ${mp.vpid} (${mp.cmd})`);
  }
  if (info.generationId === undefined) {
    throw mismatch(path, `it carries no generation id (image format ${info.version.major}.${info.version.minor}), but ${manifestPath} is generation ${manifest.generation} (id ${manifest.id})`);
  }
  if (info.generationId !== manifest.id) {
    throw mismatch(
      path,
      `it belongs to another generation (generation ${info.generation}, id ${info.generationId}) than ${manifestPath} (generation ${manifest.generation}, id ${manifest.id})`,
    );
  }
  if (mp.xxh !== undefined && info.imageXxh !== undefined && info.imageXxh !== mp.xxh) {
    throw mismatch(path, `its checksum ${info.imageXxh} is not the ${mp.xxh} that ${manifestPath} recorded`);
  }
  if (mp.xxh !== undefined && info.fileSize !== mp.bytes) {
    throw mismatch(path, `it is ${info.fileSize} bytes, but ${manifestPath} recorded ${mp.bytes}`);
  }
}

// -------------------------------------------------------------------------------------------------
// Leftovers of a crashed coordinator

/**
 * Removes what a coordinator killed mid-checkpoint left in DIR: generation directories without a
 * manifest (their images can be full size) and its temporary files. Only what is provably amber's
 * and ours: a real directory named gen-NNNNNN, owned by us, with no manifest, that `latest` does
 * not name; `latest.tmp` a link of ours; DIR/.amber/state.json.PID.tmp files of ours.
 * Returns the paths removed.
 */
export async function removeLeftovers(dir: string, manifestName: string): Promise<string[]> {
  const me = trustedUid();
  const removed: string[] = [];
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return removed;
  }
  const latest = await readlink(join(dir, 'latest')).catch(() => undefined);
  for (const n of names) {
    const p = join(dir, n);
    const st = await lstat(p).catch(() => undefined);
    if (st === undefined || (me !== undefined && st.uid !== me)) continue;
    if (n === 'latest.tmp' && st.isSymbolicLink()) {
      await unlink(p).catch(() => undefined);
      removed.push(p);
      continue;
    }
    if (!GEN_DIR_RE.test(n) || !st.isDirectory() || n === latest) continue;
    const complete = await lstat(join(p, manifestName)).then(
      () => true,
      () => false,
    );
    if (complete) continue;
    debug('removing %s: an incomplete generation (no %s) left by a coordinator that stopped mid-checkpoint', p, manifestName);
    await rm(p, { recursive: true, force: true }).catch((e: unknown) => debug('rm %s: %s', p, (e as Error).message));
    removed.push(p);
  }
  const adir = join(dir, '.amber');
  for (const n of await readdir(adir).catch(() => [] as string[])) {
    if (!/^state\.json\.\d+\.tmp$/.test(n)) continue;
    const p = join(adir, n);
    const st = await lstat(p).catch(() => undefined);
    if (st === undefined || (me !== undefined && st.uid !== me)) continue;
    await unlink(p).catch(() => undefined);
    removed.push(p);
  }
  return removed;
}

/** May amber delete this generation directory (--keep)? Only a real directory of ours. */
export async function removableGeneration(path: string): Promise<boolean> {
  const st = await lstat(path).catch(() => undefined);
  const me = trustedUid();
  return st !== undefined && st.isDirectory() && (me === undefined || st.uid === me);
}
