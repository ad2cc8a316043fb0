/**
 * Connections between two process trees of one computation (two `amber launch`es whose programs
 * talk over loopback TCP or a named Unix socket). Each tree has its own restorer, so neither can
 * rebuild such a connection alone (inside one tree the restorer pairs the ends itself): restart
 * pairs the saved ends by their addresses, makes a new connected pair here (a loopback TCP
 * connection, or a Unix stream connection through a private rendezvous socket), puts back the
 * bytes each end had waiting to be read, and hands one end to each restorer as an inherited
 * descriptor (`--sockfd P:FD:N`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { debuglog } from 'node:util';
import { readImage } from './image.js';
import { addon } from './native.js';

const debug = debuglog('amber');

interface End {
  tree: number;
  pos: number;
  fd: number;
  image: string;
  family: string;
  local: string;
  peer: string;
  inode: number;
  peerInode: number;
  finSent: boolean;
}

/** A hex sockaddr (AF_INET or AF_INET6) as "a.b.c.d:port" or "[v6]:port": an IPv4-mapped IPv6
 * address is its IPv4 address, so an AF_INET end and an AF_INET6 end of one connection match. */
export function inetKey(hex: string): string | undefined {
  const b = Buffer.from(hex, 'hex');
  if (b.length < 8) return undefined;
  const family = b.readUInt16LE(0);
  const port = b.readUInt16BE(2);
  if (family === 2) return `${b[4]}.${b[5]}.${b[6]}.${b[7]}:${port}`;
  if (family !== 10 || b.length < 24) return undefined;
  const ip = b.subarray(8, 24);
  if (ip.subarray(0, 10).every((x) => x === 0) && ip[10] === 0xff && ip[11] === 0xff) return `${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}:${port}`;
  return `[${ip.toString('hex')}]:${port}`;
}

function sameAddr(family: string, a: string, b: string): boolean {
  if (family === 'unix') return a === b;
  const ka = inetKey(a);
  return ka !== undefined && ka === inetKey(b);
}

/** What each tree's restorer gets: extra stdio entries (fd 3, 4, ...) and their `--sockfd` args. */
export interface TreeSockets {
  stdio: net.Socket[];
  args: string[];
}

export interface CrossTree {
  perTree: TreeSockets[];
  /** Closes our copies (after the restorers were spawned) and the rendezvous directory. */
  close(): Promise<void>;
}

async function connectedPair(family: string, dir: () => Promise<string>): Promise<[net.Socket, net.Socket]> {
  // pauseOnConnect and pause-before-connect: nothing here may read what the application is owed.
  const server = net.createServer({ pauseOnConnect: true });
  const accepted = new Promise<net.Socket>((res) => server.once('connection', res));
  let where: net.ListenOptions;
  if (family === 'unix') where = { path: join(await dir(), `s${Math.random().toString(36).slice(2)}`) };
  else where = { host: family === 'inet6' ? '::1' : '127.0.0.1', port: 0 };
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(where, () => res());
  });
  const addr = server.address();
  const client = new net.Socket();
  client.pause();
  await new Promise<void>((res, rej) => {
    client.once('error', rej);
    if (typeof addr === 'string') client.connect({ path: addr }, () => res());
    else client.connect({ host: addr!.address, port: addr!.port }, () => res());
  });
  const peer = await accepted;
  server.close();
  return [client, peer];
}

function write(s: net.Socket, data: Buffer): Promise<void> {
  if (data.length === 0) return Promise.resolve();
  return new Promise((res, rej) => s.write(data, (e) => (e ? rej(e) : res())));
}

/**
 * trees: per tree, the image paths in the order given to its restorer. Returns per tree what to
 * pass; trees with no cross-tree connection get nothing.
 */
export async function crossTreeSockets(trees: string[][]): Promise<CrossTree> {
  const perTree: TreeSockets[] = trees.map(() => ({ stdio: [], args: [] }));
  const mine: net.Socket[] = [];
  let rdv: string | undefined;
  const dir = async (): Promise<string> => (rdv ??= await mkdtemp(join(tmpdir(), 'amber-rdv-')));
  const close = async (): Promise<void> => {
    for (const s of mine) s.destroy();
    if (rdv !== undefined) await rm(rdv, { recursive: true, force: true });
  };
  if (trees.length < 2) return { perTree, close };

  const ends: End[] = [];
  trees.forEach((images, tree) =>
    images.forEach((image, pos) => {
      for (const f of readImage(image).fds) {
        const s = f.socket;
        // Unnamed Unix sockets carry no address to pair by (and a launcher's stdio is one);
        // hidden ones (in flight, pending) are rebuilt by their own tree.
        if (s === undefined || s.state !== 'connected' || s.type !== 1 || f.fd <= 2 || f.hidden) continue;
        if (s.family === 'unix' && s.local.length <= 4 && s.peer.length <= 4 && !s.peerInode) continue;
        ends.push({
          tree,
          pos,
          fd: f.fd,
          image,
          family: s.family === 'inet6' ? 'inet' : s.family,
          local: s.local,
          peer: s.peer,
          inode: Number(s.inode),
          peerInode: s.peerInode,
          finSent: s.finSent === true,
        });
      }
    }),
  );
  const used = new Set<End>();
  try {
    for (const a of ends) {
      if (used.has(a)) continue;
      // Unix ends by the peer inode the kernel reported; others (and older images) by address.
      const b = ends.find(
        (e) =>
          !used.has(e) &&
          e !== a &&
          e.tree !== a.tree &&
          e.family === a.family &&
          (a.peerInode ? e.inode === a.peerInode : sameAddr(a.family, e.local, a.peer) && sameAddr(a.family, e.peer, a.local)),
      );
      if (b === undefined) continue;
      used.add(a).add(b);
      const [ea, eb] = await connectedPair(a.family, dir);
      mine.push(ea, eb);
      // What each end had waiting to be read is sent again by the other end, then the FIN an end
      // had sent (a half-close) is sent again after its bytes.
      await write(eb, addon().socketInflight!(a.image, a.fd));
      await write(ea, addon().socketInflight!(b.image, b.fd));
      if (b.finSent) eb.end();
      if (a.finSent) ea.end();
      for (const [end, sock] of [
        [a, ea],
        [b, eb],
      ] as const) {
        const t = perTree[end.tree]!;
        t.args.push('--sockfd', `${end.pos}:${end.fd}:${3 + t.stdio.length}`);
        t.stdio.push(sock);
      }
      debug('connection between trees rebuilt: %s fd %d <-> %s fd %d', a.image, a.fd, b.image, b.fd);
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { perTree, close };
}

/**
 * Connections whose other end is in no image of the generation (a daemon, a program not launched
 * under amber): said at checkpoint, by name, with what the restart makes of them — the bytes that
 * were waiting, then end-of-file (Unix) or ECONNRESET (TCP). A Unix datagram socket's peer is not
 * one (it is connected again by name) and neither is a connection whose peer had already closed.
 */
export function unpairedSocketWarnings(images: Array<{ path: string; label: string }>): string[] {
  interface S { label: string; fd: number; path: string; family: string; type: number; local: string; peer: string; inode: number; peerInode: number; quiet: boolean; hidden: boolean; bytes: number }
  const all: S[] = [];
  for (const im of images) {
    let fds;
    try {
      fds = readImage(im.path).fds;
    } catch (e) {
      debug('cannot read %s for its sockets: %s', im.path, (e as Error).message);
      continue;
    }
    for (const f of fds) {
      const s = f.socket;
      if (s === undefined || s.state !== 'connected') continue;
      all.push({
        label: im.label,
        fd: f.fd,
        path: f.path,
        family: s.family === 'inet6' ? 'inet' : s.family,
        type: s.type,
        local: s.local,
        peer: s.peer,
        inode: Number(s.inode),
        peerInode: s.peerInode,
        // a pending connection speaks through its listener; a closed peer is not lost
        quiet: s.pendingConnection === true || s.finReceived === true || s.peerGone === true || (f.fd <= 2 && f.hidden !== true),
        hidden: f.hidden === true,
        bytes: s.inflightBytes,
      });
    }
  }
  const out: string[] = [];
  for (const x of all) {
    if (x.quiet || (x.type !== 1 && x.type !== 5)) continue;
    if (x.family === 'unix' && !x.peerInode) continue; // (a client of a connection not accepted yet: its listener says it)
    const paired = all.some((y) =>
      y !== x && y.family === x.family && (x.family === 'unix'
        ? y.inode === x.peerInode || y.peerInode === x.inode
        : sameAddr('inet', y.local, x.peer) && sameAddr('inet', y.peer, x.local)),
    );
    if (paired) continue;
    const then = x.family === 'unix' ? 'then end-of-file (writes: EPIPE)' : 'then fails with ECONNRESET (writes: EPIPE)';
    const which = x.hidden ? `in flight ${x.path}` : `fd ${x.fd} ${x.path}`;
    out.push(`${x.label}: ${which}: its other end is not part of the computation; at restart it reads the ${x.bytes} bytes that were waiting, ${then}`);
  }
  return out;
}
