/**
 * What the coordinator accepts from a peer before it knows who the peer is (issue 12). A TCP peer
 * is unknown until its first line carries the computation's token; a Unix peer of another uid is
 * refused on its first line. Until then a peer gets:
 *
 * - PREAUTH_MAX_LINE bytes for that first line (an agent's hello fits its 4096-byte buffer; a ctl
 *   request is far smaller): more, and it is disconnected;
 * - one line: a line that is not a valid hello/ctl closes the connection (after the one-line
 *   answer, which gets CLOSE_GRACE_MS to leave);
 * - a deadline counted from the connection, which bytes trickling in do not move;
 * - a place among at most MAX_PENDING unknown peers per transport: when a new one would exceed it,
 *   the OLDEST unknown peer is closed at once. A flood then cannot hold out a real peer, which
 *   says its first line within a round trip of connecting, unless the flood opens MAX_PENDING
 *   connections within that round trip.
 *
 * Unix peers of our own uid (or root) are exempt from the cap: the kernel vouches for them
 * (SO_PEERCRED) and they could attack the coordinator's process directly anyway.
 */
import type net from 'node:net';

/** Longest first line an unauthenticated peer may send (bytes before the newline). */
export const PREAUTH_MAX_LINE = 4096;
/** Time from connection to a first line that says who the peer is. */
export const HANDSHAKE_MS = 10_000;
/** Same-uid Unix peers are only held to this (a loaded machine may be slow to say hello). */
export const TRUSTED_HANDSHAKE_MS = 30_000;
/** Unknown peers held at once, per transport. */
export const MAX_PENDING = 1024;
/** After a refusal or a bad first line: time for the answer to leave before the socket is destroyed. */
export const CLOSE_GRACE_MS = 1000;

export type Transport = 'unix' | 'tcp';

interface Pending {
  timer: NodeJS.Timeout;
  transport: Transport;
  counted: boolean;
}

export class PreAuthGate {
  private readonly pending = new Map<net.Socket, Pending>();
  /** Counted unknown peers per transport, oldest first (Set keeps insertion order). */
  private readonly queues: Record<Transport, Set<net.Socket>> = { unix: new Set(), tcp: new Set() };
  /** Peers closed because the cap was reached (for debugging and tests). */
  evicted = 0;

  constructor(private readonly maxPending = MAX_PENDING) {}

  /**
   * A new connection: starts its deadline and, when `counted`, takes a place among the unknown
   * peers of its transport, closing the oldest one if there is no room.
   */
  admit(sock: net.Socket, transport: Transport, counted: boolean): void {
    const ms = counted ? HANDSHAKE_MS : TRUSTED_HANDSHAKE_MS;
    const timer = setTimeout(() => sock.destroy(), ms);
    timer.unref();
    this.pending.set(sock, { timer, transport, counted });
    sock.once('close', () => this.forget(sock));
    if (!counted) return;
    const q = this.queues[transport];
    q.add(sock);
    while (q.size > this.maxPending) {
      const oldest = q.values().next().value as net.Socket;
      this.forget(oldest);
      this.evicted++;
      oldest.destroy();
    }
  }

  /** The peer said who it is (and was accepted): no deadline, no place in the queue any more. */
  settle(sock: net.Socket): void {
    this.forget(sock);
  }

  /** Is the peer still unknown? */
  isPending(sock: net.Socket): boolean {
    return this.pending.has(sock);
  }

  /** Unknown peers held now, per transport (counted ones). */
  size(transport: Transport): number {
    return this.queues[transport].size;
  }

  /**
   * Ends the connection after a refusal or a bad first line: `last` (the answer) is written, the
   * socket is destroyed once written or after CLOSE_GRACE_MS at the latest — a peer that never
   * reads or never closes does not keep the descriptor.
   */
  close(sock: net.Socket, last?: string): void {
    this.forget(sock);
    if (sock.destroyed) return;
    const t = setTimeout(() => sock.destroy(), CLOSE_GRACE_MS);
    t.unref();
    sock.once('close', () => clearTimeout(t));
    sock.removeAllListeners('data');
    sock.pause();
    if (last !== undefined) sock.end(last, () => setTimeout(() => sock.destroy(), 50).unref());
    else sock.destroy();
  }

  /** Closes every peer still unknown (the coordinator is closing). */
  destroyAll(): void {
    for (const sock of [...this.pending.keys()]) {
      this.forget(sock);
      sock.destroy();
    }
  }

  private forget(sock: net.Socket): void {
    const p = this.pending.get(sock);
    if (p === undefined) return;
    clearTimeout(p.timer);
    this.pending.delete(sock);
    if (p.counted) this.queues[p.transport].delete(sock);
  }
}
