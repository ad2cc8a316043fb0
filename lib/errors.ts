/**
 * Errors thrown by amber. Every failure the library reports is an AmberError with a stable string
 * `code`, so callers (and the CLI's exit-code mapping) never have to parse messages.
 */

/** Codes reported by the addon's image reader: the file is not a usable image. */
export const IMAGE_CODES: ReadonlySet<string> = new Set([
  'ENOTIMAGE',
  'ETRUNCATED',
  'EVERSION',
  'EBADIMAGE',
  'ECHECKSUM',
]);

export interface AmberErrorOptions {
  errno?: number;
  path?: string;
  pid?: number;
  offset?: number;
  /** Overrides the exit code the CLI derives from `code` (e.g. ENOENT on an image → 3). */
  exitCode?: number;
  cause?: unknown;
}

/**
 * Every failure amber reports. `code` is stable: EUSAGE, ENOBUILD, ENOCOORD, EBUSY, EINVAL,
 * ECHECKPOINT, ENOPROC, ERESTART, EMANIFEST, image codes (ENOTIMAGE, ETRUNCATED, EVERSION,
 * EBADIMAGE, ECHECKSUM) or an errno code (ENOENT, ...).
 */
export class AmberError extends Error {
  readonly code: string;
  // `declare`: absent fields stay absent (not own properties set to undefined) in logs and JSON.
  declare errno?: number;
  declare path?: string;
  declare pid?: number;
  declare offset?: number;
  /** True when a child process (the restorer) already told the user on the shared stderr. */
  declare reported?: boolean;
  readonly #exitOverride: number | undefined;

  constructor(code: string, message: string, opts: AmberErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AmberError';
    this.code = code;
    if (opts.errno !== undefined) this.errno = opts.errno;
    if (opts.path !== undefined) this.path = opts.path;
    if (opts.pid !== undefined) this.pid = opts.pid;
    if (opts.offset !== undefined) this.offset = opts.offset;
    this.#exitOverride = opts.exitCode;
  }

  /**
   * The CLI exit status for this error (DESIGN.md: 2 usage, 3 bad image/manifest, 4 no coordinator,
   * 5 checkpoint failed, 6 anything else).
   */
  get exitCode(): number {
    if (this.#exitOverride !== undefined) return this.#exitOverride;
    return exitCodeForCode(this.code);
  }
}

/** A command-line usage mistake; the CLI prints the message and exits 2. */
export class UsageError extends AmberError {
  constructor(message: string) {
    super('EUSAGE', message);
    this.name = 'UsageError';
  }
}

export function exitCodeForCode(code: string): number {
  if (code === 'EUSAGE') return 2;
  if (IMAGE_CODES.has(code) || code === 'EMANIFEST' || code === 'ERESTART') return 3;
  if (code === 'ENOCOORD') return 4;
  if (code === 'ECHECKPOINT' || code === 'ENOPROC') return 5;
  return 6;
}

/** Node system errors carry `code`/`errno`/`path`; this narrows `unknown` to that shape. */
export interface SystemError extends Error {
  code?: string;
  errno?: number;
  path?: string;
  offset?: number;
}

export function isSystemError(e: unknown): e is SystemError {
  return e instanceof Error && typeof (e as SystemError).code === 'string';
}

/**
 * Wraps anything thrown (by node, the addon, a child) into an AmberError, keeping code/path/errno.
 * `exitCode` lets the caller say which class of failure this is (an ENOENT on an image is a
 * "bad image" 3, an ENOENT on a socket is a "no coordinator" 4).
 */
export function toAmberError(e: unknown, fallbackCode = 'EFAIL', exitCode?: number): AmberError {
  if (e instanceof AmberError) return e;
  if (e instanceof Error) {
    const se = e as SystemError;
    const opts: AmberErrorOptions = { cause: e };
    if (typeof se.errno === 'number') opts.errno = se.errno;
    if (typeof se.path === 'string') opts.path = se.path;
    if (typeof se.offset === 'number') opts.offset = se.offset;
    if (exitCode !== undefined) opts.exitCode = exitCode;
    return new AmberError(typeof se.code === 'string' ? se.code : fallbackCode, e.message, opts);
  }
  return new AmberError(fallbackCode, String(e), exitCode === undefined ? {} : { exitCode });
}
