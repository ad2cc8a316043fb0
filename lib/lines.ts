/**
 * Newline framing for the coordinator protocol (docs/PROTOCOL.md): every message is one line.
 */
import type { Socket } from 'node:net';

/** Longest line accepted; a peer sending more is broken or hostile and is disconnected. */
export const MAX_LINE = 1 << 20;

/**
 * Calls onLine for every complete line received on sock (without the trailing "\n"). maxLine gives
 * the longest line accepted now (the coordinator accepts far less from a peer that has not said
 * who it is: lib/gate.ts); a longer one disconnects the peer.
 */
export function onLines(sock: Socket, onLine: (line: string) => void, maxLine: () => number = () => MAX_LINE): void {
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      if (nl > maxLine()) {
        sock.destroy(new Error('protocol line too long'));
        return;
      }
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim() !== '') onLine(line);
      // destroyed, or ended by the handler (an answer that closes the connection): no more lines
      if (sock.destroyed || sock.writableEnded) return;
    }
    if (buf.length > maxLine()) sock.destroy(new Error('protocol line too long'));
  });
}
