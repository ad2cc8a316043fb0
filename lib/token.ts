/**
 * The computation's TCP token (DIR/.amber/token) and the client's check of the coordinator it
 * reached, under the rules of lib/trust.ts (issue 12): the token is read only from a regular file
 * of ours (never through a link: a link there once made a coordinator write its token over a
 * victim file), created O_EXCL|O_NOFOLLOW and renamed into place; a client talks only to a
 * coordinator run by its own uid or root.
 */
import { closeSync, constants, fchmodSync, fstatSync, lstatSync, openSync, readFileSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import type net from 'node:net';
import { AmberError } from './errors.js';
import { addon } from './native.js';
import { checkOwned, createTemp, describeUid, refusal, trustedUid } from './trust.js';

/** The token in `path`, or undefined when there is none. Throws EUNSAFE for a file not to trust. */
export function readToken(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw refusal(path, 'the token', 'a symbolic link (amber follows no link it did not make)', lstatSync(path));
    throw e;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw refusal(path, 'the token', 'not a regular file', st);
    checkOwned(path, st, 'the token');
    // A secret: readable by us only (an older amber, or a careless chmod, may have left it 0644).
    if ((st.mode & 0o077) !== 0) fchmodSync(fd, 0o600);
    return readFileSync(fd, 'utf8').trim();
  } finally {
    closeSync(fd);
  }
}

/** Writes a new token: a fresh 0600 file (O_EXCL|O_NOFOLLOW), fsync'ed, renamed over `path`. */
export async function writeNewToken(path: string, token: string): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await createTemp(tmp, 0o600);
  try {
    await fh.writeFile(token + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

/**
 * Whom a client reached on a Unix socket: the coordinator must run as our uid or root (SO_PEERCRED),
 * else it could be anyone's listener put where ours should be, and whatever we launch under it would
 * write its images where that one says. Returns the refusal, or undefined (also when the addon that
 * reads credentials is missing: the socket's directory is 0700 then).
 */
export function checkCoordinatorPeer(sock: net.Socket, where: string): AmberError | undefined {
  const me = trustedUid();
  if (me === undefined) return undefined;
  const fd = (sock as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  let peerCred;
  try {
    peerCred = addon().peerCred;
  } catch {
    return undefined;
  }
  if (typeof peerCred !== 'function' || typeof fd !== 'number' || fd < 0) return undefined;
  let uid: number;
  try {
    uid = peerCred(fd).uid;
  } catch {
    return undefined;
  }
  if (uid === me || uid === 0) return undefined;
  return new AmberError(
    'EUNSAFE',
    `${where}: refusing the coordinator listening there: it runs as ${describeUid(uid)}, not as ${me === 0 ? 'root' : `${describeUid(me)} or root`}`,
    { path: where, exitCode: 3 },
  );
}
