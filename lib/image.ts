/**
 * Image reading through the addon, with its errors turned into AmberErrors (code kept: ENOTIMAGE,
 * ETRUNCATED, EVERSION, EBADIMAGE, ECHECKSUM, or an errno code; path and offset kept).
 */
import { AmberError, toAmberError } from './errors.js';
import { addon } from './native.js';
import type { ImageInfo, VerifyResult } from './types.js';

/** The addon's error as an AmberError (exit 3) whose message names the file. */
export function imageError(e: unknown, path: string): AmberError {
  const ae = toAmberError(e, 'EBADIMAGE', 3);
  if (ae.path === undefined) ae.path = path;
  if (!ae.message.includes(path)) ae.message = `${path}: ${ae.message}`;
  return ae;
}

/** Reads an image's header and metadata (checksums of header, metadata and trailer checked). */
export function readImage(path: string): ImageInfo {
  const a = addon(); // ENOBUILD is not an image problem: let it through unwrapped
  try {
    return a.readImage(path);
  } catch (e) {
    throw imageError(e, path);
  }
}

/** Checks every chunk checksum of an image. */
export async function verifyImage(path: string): Promise<VerifyResult> {
  const a = addon();
  try {
    return await a.verifyImage(path);
  } catch (e) {
    throw imageError(e, path);
  }
}
