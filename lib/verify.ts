/**
 * `amber inspect` under the rules of lib/trust.ts (issue 12): an image is read only if amber may
 * read it (a regular file of ours, not through a link: a FIFO neither blocks nor is read), and
 * `--verify` refuses an image that is not the one its manifest recorded (another program, another
 * generation, another checksum or size), as `amber restart` does.
 */
import { constants } from 'node:fs';
import { lstat, open, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { imageError, readImage, verifyImage } from './image.js';
import { MANIFEST_NAME, manifestImages, readManifest } from './manifest.js';
import { checkBinding, checkFileSync, checkImagePath } from './trust.js';
import type { ImageInfo, Manifest, VerifyResult } from './types.js';

/** An image starts with its magic; a directory or anything that opens with "{" is taken for a manifest. */
export async function looksLikeManifest(path: string): Promise<boolean> {
  const st = await lstat(path).catch(() => undefined);
  if (st === undefined) return path.endsWith('.json');
  if (st.isSymbolicLink()) {
    // a link to a checkpoint DIR is walked (and checked) by resolveManifestPath; a link to a file
    // is refused by whichever reader gets it
    const to = await stat(path).catch(() => undefined);
    return to?.isDirectory() === true || path.endsWith('.json');
  }
  if (st.isDirectory()) return true;
  if (!st.isFile()) return false; // a FIFO, a device...: refused as an image, never opened blocking
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const b = Buffer.alloc(16);
    const { bytesRead } = await fh.read(b, 0, 16, 0);
    return b.subarray(0, bytesRead).toString('latin1').trimStart().startsWith('{');
  } finally {
    await fh.close();
  }
}

/** Each image of a generation: checked, bound to the manifest, every chunk verified. */
export async function verifyGeneration(m: Manifest, mpath: string): Promise<Array<{ image: string } & VerifyResult>> {
  const out: Array<{ image: string } & VerifyResult> = [];
  for (const [i, img] of manifestImages(m, mpath).entries()) {
    readBound(img, m, mpath, i);
    out.push({ image: img, ...(await verifyImage(img)) });
  }
  return out;
}

function readBound(img: string, m: Manifest, mpath: string, i: number): ImageInfo {
  try {
    checkFileSync(img, 'the image');
  } catch (e) {
    throw imageError(e, img);
  }
  const info = readImage(img);
  const mp = m.processes[i];
  if (mp !== undefined) checkBinding(m, mp, info, img, mpath);
  return info;
}

/**
 * One image given by path: checked (trust), read; with `verify`, its chunks checked and, when a
 * manifest beside it lists it, bound to that manifest.
 */
export async function inspectImage(path: string, verify: boolean): Promise<{ info: ImageInfo; verified?: VerifyResult }> {
  let real: string;
  try {
    real = await checkImagePath(path);
  } catch (e) {
    throw imageError(e, path);
  }
  const info = readImage(real);
  if (!verify) return { info };
  const mpath = join(dirname(real), MANIFEST_NAME);
  if (await lstat(mpath).then((s) => s.isFile(), () => false)) {
    const m = await readManifest(mpath);
    const i = m.processes.findIndex((p) => p.image === basename(real));
    if (i >= 0) readBound(real, m, mpath, i);
  }
  return { info, verified: await verifyImage(real) };
}
