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
        // Unnamed Unix sockets carry no address to pair by (and a launcher's stdio is one).
        if (s === undefined || s.state !== 'connected' || s.type !== 1 || f.fd <= 2) continue;
        if (s.family === 'unix' && s.local.length <= 4 && s.peer.length <= 4 && !s.peerInode) continue;
        ends.push({ tree, pos, fd: f.fd, image, family: s.family, local: s.local, peer: s.peer, inode: Number(s.inode), peerInode: s.peerInode });
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
          (a.peerInode ? e.inode === a.peerInode : e.local === a.peer && e.peer === a.local),
      );
      if (b === undefined) continue;
      used.add(a).add(b);
      const [ea, eb] = await connectedPair(a.family, dir);
      mine.push(ea, eb);
      // What each end had waiting to be read is sent again by the other end.
      await write(eb, addon().socketInflight!(a.image, a.fd));
      await write(ea, addon().socketInflight!(b.image, b.fd));
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
