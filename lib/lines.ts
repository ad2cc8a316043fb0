/**
 * Newline framing for the coordinator protocol (docs/PROTOCOL.md): every message is one line.
 */
import type { Socket } from 'node:net';

/** Longest line accepted; a peer sending more is broken or hostile and is disconnected. */
export const MAX_LINE = 1 << 20;

/** Calls onLine for every complete line received on sock (without the trailing "\n"). */
export function onLines(sock: Socket, onLine: (line: string) => void): void {
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim() !== '') onLine(line);
      if (sock.destroyed) return;
    }
    if (buf.length > MAX_LINE) sock.destroy(new Error('protocol line too long'));
  });
}
