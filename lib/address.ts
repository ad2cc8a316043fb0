/**
 * Coordinator addresses: the one parser behind every address amber takes — the CLI's `--listen`
 * and `--coord`, the API's `listen`/`coord` options, what `amber job` passes between tasks.
 *
 * - `HOST:PORT`, `[IPv6]:PORT` and the older `tcp:HOST:PORT` / `tcp:[IPv6]:PORT` are TCP;
 * - a path — it contains a `/`, starts with `.` or `/`, or ends in `.sock` — is a Unix socket;
 * - anything else is ambiguous (`foo`, `7779`, `host:`, `:7779`, `[::1]` without a port, a port
 *   out of range) and refused with AmberError 'EINVAL' naming the forms that exist (the CLI turns
 *   it into a usage error, exit 2). Nothing is ever created for an address that did not parse.
 */
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { AmberError, UsageError } from './errors.js';

export type Address = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** The forms an address may take, as messages name them. */
export const ADDRESS_FORMS =
  'HOST:PORT or [IPv6]:PORT for TCP (tcp:HOST:PORT also works), or a Unix socket path (one with a "/", or starting with "." or "/", or ending in ".sock")';

export interface ParseAddressOptions {
  /** Where it is to be listened on: port 0 (the system picks one) is allowed. Default false. */
  listen?: boolean;
  /** What the address is, for the message (default "address"): "--listen", "coord", ... */
  what?: string;
}

/** Host names and IPv4 literals: letters, digits, dots, hyphens, underscores. */
const HOST_RE = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;

/** A Unix socket path by the rule above (a `tcp:` prefix never is). */
export function looksLikePath(addr: string): boolean {
  return addr.includes('/') || addr.startsWith('.') || addr.endsWith('.sock');
}

/** Parses an address by the rules above; throws AmberError 'EINVAL' on anything else. */
export function parseAddress(addr: string, opts: ParseAddressOptions = {}): Address {
  const bad = (why: string): AmberError =>
    new AmberError('EINVAL', `bad ${opts.what ?? 'address'} ${JSON.stringify(addr)}: ${why}; use ${ADDRESS_FORMS}`);
  if (typeof addr !== 'string' || addr === '') throw bad('empty');
  const tcpPrefix = addr.startsWith('tcp:');
  if (!tcpPrefix && looksLikePath(addr)) return { kind: 'unix', path: resolve(addr) };
  const rest = tcpPrefix ? addr.slice(4) : addr;

  let host: string;
  let portText: string;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) throw bad('no "]" after the IPv6 address');
    host = rest.slice(1, close);
    if (isIP(host) !== 6) throw bad(`${JSON.stringify(host)} is not an IPv6 address`);
    const after = rest.slice(close + 1);
    if (after === '') throw bad('no port');
    if (!after.startsWith(':')) throw bad('expected ":PORT" after "]"');
    portText = after.slice(1);
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon < 0) throw bad(tcpPrefix ? 'no port' : /^\d+$/.test(rest) ? 'a port alone does not say which host' : 'neither HOST:PORT nor a path');
    host = rest.slice(0, colon);
    portText = rest.slice(colon + 1);
    if (host === '') throw bad('no host');
    if (host.includes(':')) throw bad('an IPv6 address goes in brackets, [ADDR]:PORT');
    if (!HOST_RE.test(host)) throw bad(`${JSON.stringify(host)} is not a host name or IP address`);
  }
  if (portText === '') throw bad('no port');
  if (!/^\d{1,5}$/.test(portText)) throw bad(`port ${JSON.stringify(portText)} is not a number`);
  const port = Number(portText);
  const min = opts.listen === true ? 0 : 1;
  if (port < min || port > 65535) throw bad(`port ${port} is out of range (${min}-65535)`);
  return { kind: 'tcp', host, port };
}

/**
 * The canonical text of an address: the absolute socket path, or `tcp:HOST:PORT` (IPv6 in
 * brackets). This is what agents get as AMBER_COORD and what `status` reports.
 */
export function formatAddress(a: Address): string {
  return a.kind === 'unix' ? a.path : `tcp:${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}

/** parseAddress for a command-line option: a bad address is a usage error (exit 2). */
export function parseAddressArg(option: string, value: string, opts: { listen?: boolean } = {}): Address {
  try {
    return parseAddress(value, { ...opts, what: `${option} address` });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
