/**
 * What `amber launch` can run: a program the dynamic loader will load the agent into. The agent
 * rides on LD_PRELOAD, which a statically linked program never reads (it has no loader), and which
 * the loader ignores for a set-user-id or set-group-id program run by another user (secure-
 * execution mode). Such a program would run with no agent and never register: `amber checkpoint`
 * could only say "no processes are registered". It is refused before anything starts, by name.
 */
import { constants as fsConstants } from 'node:fs';
import { access, open, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { AmberError } from './errors.js';

/** The file execvp would run for `file` (PATH search when it has no slash), or undefined. */
async function which(file: string, env: NodeJS.ProcessEnv, cwd: string): Promise<string | undefined> {
  const candidates = file.includes('/')
    ? [isAbsolute(file) ? file : resolve(cwd, file)]
    : (env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter).map((d) => join(d === '' ? cwd : resolve(cwd, d), file));
  for (const c of candidates) {
    try {
      await access(c, fsConstants.X_OK);
      if ((await stat(c)).isFile()) return c;
    } catch {
      // not there, or not executable: execvp goes on to the next
    }
  }
  return undefined;
}

/** ELF64 little-endian x86-64 without a PT_INTERP header: no dynamic loader, so no LD_PRELOAD. */
function isStaticElf(head: Buffer, size: number, readAt: (off: number, len: number) => Promise<Buffer>): Promise<boolean> {
  const elf = head.length >= 64 && head.readUInt32BE(0) === 0x7f454c46 && head[4] === 2 && head[5] === 1;
  if (!elf) return Promise.resolve(false);
  const phoff = Number(head.readBigUInt64LE(0x20));
  const phentsize = head.readUInt16LE(0x36);
  const phnum = head.readUInt16LE(0x38);
  if (phentsize < 4 || phnum === 0 || phoff + phentsize * phnum > size) return Promise.resolve(false);
  return readAt(phoff, phentsize * phnum).then((ph) => {
    for (let i = 0; i < phnum; i++) if (ph.readUInt32LE(i * phentsize) === 3 /* PT_INTERP */) return false;
    return true;
  });
}

/**
 * Throws ENOAGENT (exit 126, as a shell says of what it cannot execute) when `file` would run
 * without the agent. A file that cannot be read or resolved is left to the spawn, which reports it.
 */
export async function checkLaunchable(file: string, env: NodeJS.ProcessEnv, cwd: string): Promise<void> {
  const path = await which(file, env, cwd);
  if (path === undefined) return;
  const refuse = (why: string) =>
    new AmberError('ENOAGENT', `${file}: ${why}; amber's agent is loaded with LD_PRELOAD and could not checkpoint it`, { path, exitCode: 126 });
  const st = await stat(path);
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  if (((st.mode & 0o4000) !== 0 && st.uid !== uid) || ((st.mode & 0o2000) !== 0 && st.gid !== gid)) {
    throw refuse('it is set-user-id or set-group-id, and the dynamic loader ignores LD_PRELOAD for it');
  }
  let fh;
  try {
    fh = await open(path, 'r');
  } catch {
    return;
  }
  try {
    const head = Buffer.alloc(256);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    const b = head.subarray(0, bytesRead);
    const readAt = async (off: number, len: number) => {
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, off);
      return buf;
    };
    if (await isStaticElf(b, st.size, readAt)) throw refuse('it is statically linked (no dynamic loader)');
    // A script: its interpreter is what runs.
    if (b.length > 2 && b[0] === 0x23 && b[1] === 0x21) {
      const line = b.subarray(2).toString('latin1').split('\n')[0]!.trim();
      const interp = line.split(/\s+/)[0];
      if (interp && interp !== file && isAbsolute(interp)) await checkLaunchable(interp, env, cwd);
    }
  } finally {
    await fh.close();
  }
}
