/**
 * Connections between two process trees of one computation (two `amber launch`es whose programs
 * talk over loopback TCP or a named Unix socket). Each tree has its own restorer, so neither can
 * rebuild such a connection alone (inside one tree the restorer pairs the ends itself): restart
 * pairs the saved ends by their addresses, makes a new connected pair here (a loopback TCP
 * connection, or a Unix stream connection through a private rendezvous socket), puts back the
 * bytes each end had waiting to be read, and hands one end to each restorer as an inherited
 * descriptor (`--sockfd P:FD:N`).
 */
import { mkdtemp, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { debuglog } from 'node:util';
import { AmberError } from './errors.js';
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
  /** Bytes in its send queue at capture (lost unless the peer drained them: a checkpoint that ends the computation). */
  sndq: number;
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

/** The connected stream ends of these trees' images that another tree may hold the other end of. */
function connectedEnds(trees: string[][]): End[] {
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
          sndq: s.sendQueueBytes ?? 0,
        });
      }
    }),
  );
  return ends;
}

/** The end of `ends` that is a's other end, in another tree (none: undefined). */
function otherEnd(ends: End[], a: End, used: Set<End>): End | undefined {
  // Unix ends by the peer inode the kernel reported; others (and older images) by address.
  return ends.find(
    (e) =>
      !used.has(e) &&
      e !== a &&
      e.tree !== a.tree &&
      e.family === a.family &&
      (a.peerInode ? e.inode === a.peerInode : sameAddr(a.family, e.local, a.peer) && sameAddr(a.family, e.peer, a.local)),
  );
}

/** The sockets a rebuild opens and a rendezvous directory made on first use; close() undoes both. */
function rebuildScratch(): { mine: net.Socket[]; dir: () => Promise<string>; close: () => Promise<void> } {
  const mine: net.Socket[] = [];
  let rdv: string | undefined;
  return {
    mine,
    dir: async () => (rdv ??= await mkdtemp(join(tmpdir(), 'amber-rdv-'))),
    close: async () => {
      for (const s of mine) s.destroy();
      if (rdv !== undefined) await rm(rdv, { recursive: true, force: true });
    },
  };
}

/**
 * trees: per tree, the image paths in the order given to its restorer. Returns per tree what to
 * pass; trees with no cross-tree connection get nothing.
 */
export async function crossTreeSockets(trees: string[][]): Promise<CrossTree> {
  const perTree: TreeSockets[] = trees.map(() => ({ stdio: [], args: [] }));
  const { mine, dir, close } = rebuildScratch();
  if (trees.length < 2) return { perTree, close };

  const ends = connectedEnds(trees);
  const used = new Set<End>();
  try {
    for (const a of ends) {
      if (used.has(a)) continue;
      const b = otherEnd(ends, a, used);
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

/** Where the tasks of a multi-task job meet to rebuild connections between their nodes. */
export interface Rendezvous {
  /** A directory every task reaches (the job's DIR/.amber/job). */
  dir: string;
  /** This run of the step: names the rendezvous files, so that an older run's are never read. */
  key: string;
  /** This node's address as the other nodes reach it. */
  address: string;
  /** How long to wait for the other task of a connection (ms). */
  timeoutMs: number;
}

export interface CrossTask {
  /** Per process index (manifest order) of this task: what to pass its restorer (image position 0). */
  perProc: Map<number, TreeSockets>;
  close(): Promise<void>;
}

/** A loopback address: the same address on two nodes is two different hosts. */
function loopbackKey(hex: string): boolean {
  const k = inetKey(hex);
  return k === undefined || k.startsWith('127.') || k === `[${'0'.repeat(31)}1]:${k.split(':').at(-1)}`;
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, path);
}

async function readJson<T>(path: string, timeoutMs: number, what: string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return JSON.parse(await readFile(path, 'utf8')) as T;
    } catch {
      if (Date.now() > end) throw new AmberError('ERESTART', `timed out after ${timeoutMs} ms waiting for ${what} (${path})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * Connections between processes of a multi-task job (`srun amber job`), whose tasks restore their
 * own processes, each on its node: every task reads every image (the checkpoint directory is
 * shared), pairs the saved ends the same way, and for each connection it holds one end of:
 * - both ends its own: a new loopback (or Unix) pair, as restart does between trees;
 * - the other end in another task: a new TCP connection between the two nodes. The task holding
 *   the end found first listens on its node's address and publishes it in the rendezvous
 *   directory; the other says there which address and port it will connect from, then connects;
 *   the listener takes only a connection from exactly there (nothing is sent on the connection
 *   before the program's own bytes, which the restorer must find untouched).
 * Then, as between trees, each side sends what the other end had waiting to be read, and the FIN
 * its end had sent. Ends are paired across nodes by their addresses, never by loopback addresses
 * or Unix socket inodes (those are only unique on one machine): such connections between nodes
 * cannot exist, and the restorer treats them as it treats any connection whose peer is gone.
 */
export async function crossTaskSockets(procs: Array<{ image: string; rank: number }>, me: number, rdv: Rendezvous): Promise<CrossTask> {
  const perProc = new Map<number, TreeSockets>();
  const { mine, dir, close } = rebuildScratch();
  // Every image, not only ours: an end's bytes to send again are in the other end's image.
  const ends = connectedEnds(procs.map((p) => [p.image]));
  const used = new Set<End>();
  const give = (end: End, sock: net.Socket): void => {
    let t = perProc.get(end.tree);
    if (t === undefined) perProc.set(end.tree, (t = { stdio: [], args: [] }));
    t.args.push('--sockfd', `0:${end.fd}:${3 + t.stdio.length}`);
    t.stdio.push(sock);
  };
  const jobs: Array<() => Promise<void>> = [];
  let n = 0;
  for (const a of ends) {
    if (used.has(a)) continue;
    const ra = procs[a.tree]!.rank;
    const cands = ends.filter((e) => procs[e.tree]!.rank === ra || (e.family === 'inet' && !loopbackKey(e.local) && !loopbackKey(e.peer)));
    const b = otherEnd(cands, a, used);
    if (b === undefined) continue;
    used.add(a).add(b);
    const rb = procs[b.tree]!.rank;
    const i = n++;
    if (ra !== me && rb !== me) continue;
    if (ra === me && rb === me) {
      jobs.push(async () => {
        const [ea, eb] = await connectedPair(a.family, dir);
        mine.push(ea, eb);
        await write(eb, addon().socketInflight!(a.image, a.fd));
        await write(ea, addon().socketInflight!(b.image, b.fd));
        if (b.finSent) eb.end();
        if (a.finSent) ea.end();
        give(a, ea);
        give(b, eb);
      });
      continue;
    }
    const [own, other] = ra === me ? [a, b] : [b, a];
    const listens = ra === me;
    const at = join(rdv.dir, `${rdv.key}.conn-${i}.json`);
    const from = join(rdv.dir, `${rdv.key}.conn-${i}.from.json`);
    jobs.push(async () => {
      const sock = listens ? await listenFor(at, from, rdv) : await connectTo(at, from, rdv);
      mine.push(sock);
      // Into the kernel's buffers, before any restorer runs: bytes that do not fit (the other
      // node's receive queue and our send queue) would wait for a program that is not running
      // yet. Said, not waited for forever.
      const bytes = addon().socketInflight!(other.image, other.fd);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        write(sock, bytes),
        new Promise<never>((_, rej) => {
          timer = setTimeout(
            () => rej(new AmberError('ERESTART', `${other.image} fd ${other.fd}: the ${bytes.length} bytes it had waiting do not fit the new connection's buffers between the nodes`)),
            rdv.timeoutMs,
          );
        }),
      ]).finally(() => clearTimeout(timer));
      if (own.finSent) sock.end();
      give(own, sock);
      debug('connection between nodes rebuilt: %s fd %d (%s)', own.image, own.fd, listens ? 'listened' : 'connected');
    });
  }
  try {
    await Promise.all(jobs.map((j) => j()));
  } catch (e) {
    await close();
    throw e;
  }
  return { perProc, close };
}

async function listenFor(at: string, from: string, rdv: Rendezvous): Promise<net.Socket> {
  const server = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen({ host: rdv.address, port: 0 }, () => res());
  });
  try {
    const conns: net.Socket[] = [];
    let wake: (() => void) | undefined;
    server.on('connection', (c) => {
      conns.push(c);
      wake?.();
    });
    const port = (server.address() as net.AddressInfo).port;
    await writeAtomic(at, JSON.stringify({ address: rdv.address, port }) + '\n');
    const want = await readJson<{ address: string; port: number }>(from, rdv.timeoutMs, 'the other node of a connection');
    const end = Date.now() + rdv.timeoutMs;
    for (;;) {
      const c = conns.shift();
      if (c !== undefined) {
        if (c.remoteAddress?.replace(/^::ffff:/, '') === want.address && c.remotePort === want.port) {
          await Promise.all([unlink(at), unlink(from)]).catch(() => undefined);
          return c;
        }
        debug('connection from %s:%d refused (expected %s:%d)', c.remoteAddress, c.remotePort, want.address, want.port);
        c.destroy();
        continue;
      }
      if (Date.now() > end) throw new AmberError('ERESTART', `no connection from ${want.address}:${want.port} within ${rdv.timeoutMs} ms`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 200);
      });
    }
  } finally {
    server.close();
  }
}

async function connectTo(at: string, from: string, rdv: Rendezvous): Promise<net.Socket> {
  const to = await readJson<{ address: string; port: number }>(at, rdv.timeoutMs, 'the other node of a connection to listen');
  for (let tries = 0; ; tries++) {
    // The port we connect from, said before connecting: the listener takes no other connection.
    const probe = net.createServer();
    const localPort = await new Promise<number>((res, rej) => {
      probe.once('error', rej);
      probe.listen({ host: rdv.address, port: 0 }, () => res((probe.address() as net.AddressInfo).port));
    });
    await new Promise((r) => probe.close(r));
    await writeAtomic(from, JSON.stringify({ address: rdv.address, port: localPort }) + '\n');
    const c = new net.Socket();
    c.pause();
    try {
      await new Promise<void>((res, rej) => {
        c.once('error', rej);
        c.connect({ host: to.address, port: to.port, localAddress: rdv.address, localPort }, () => res());
      });
      return c;
    } catch (e) {
      c.destroy();
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || tries >= 5) throw e;
    }
  }
}

/**
 * Connections between processes on different hosts of one generation (`srun amber job` across
 * nodes): `${image path}\0${fd}` of both ends of each. Their agents saw a peer off their host and
 * said it is lost, but its other end is in the generation and the restart rebuilds the connection
 * (crossTaskSockets). Paired by address like crossTaskSockets, never by loopback addresses.
 * The value: the bytes that end's send queue held when it was captured.
 */
export function pairedAcrossHosts(images: Array<{ path: string; host: string }>): Map<string, number> {
  const out = new Map<string, number>();
  const ends = connectedEnds(images.map((i) => [i.path])).filter((e) => e.family === 'inet' && !loopbackKey(e.local) && !loopbackKey(e.peer));
  const used = new Set<End>();
  for (const a of ends) {
    if (used.has(a)) continue;
    const b = otherEnd(
      ends.filter((e) => images[e.tree]!.host !== images[a.tree]!.host),
      a,
      used,
    );
    if (b === undefined) continue;
    used.add(a).add(b);
    out.set(`${a.image}\0${a.fd}`, a.sndq).set(`${b.image}\0${b.fd}`, b.sndq);
  }
  return out;
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
