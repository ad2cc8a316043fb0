#!/usr/bin/env node
// Barrier latency of the coordinator: one checkpoint generation (suspend → write → manifest +
// `latest` → resume) with 100, 1,000 and 10,000 simulated agents. The agents are protocol-level
// clients (real Unix sockets, the real line protocol of docs/PROTOCOL.md) spread over several
// worker processes (at most PER_WORKER sockets each); on `write` each creates its (empty) image
// file, so the coordinator's checks, manifest and fsyncs are real.
//
// Baseline, measured in the same run over the same number of sockets and workers: one plain round
// trip (a raw server sends "ping" to every client and waits for every "pong"). A barrier is three
// such round trips plus the file work, so "÷ 3 pings" says what the coordinator adds.
//
//   node bench/barrier.js [--reps N] [--sizes 100,1000,10000]
//
// Prints figures; asserts nothing. Needs `npm run build:ts` (dist/lib) first.
//
//   node bench/barrier.js --nodes K [--sizes ...]      (root: ip netns, nsenter)
//
// The same across K simulated nodes: K network namespaces on a bridge (each its own IP, as
// test/helpers/slurm-nodes.sh makes them), the coordinator listening on TCP in the root namespace
// with its token, the agents of each node connecting from that node's namespace over TCP, each
// node a host of its own in `hello` (the coordinator's several-host paths run). The ping baseline
// goes over the same TCP paths. The namespaces and links are deleted at the end.
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PER_WORKER = 2500;
const self = fileURLToPath(import.meta.url);

// ------------------------------------------------------------------------------------------------
// worker: node bench/barrier.js --worker MODE ADDR COUNT FIRSTPID [HOST [TOKEN]]
// (ADDR: a Unix socket path, or tcp:IP:PORT)
if (process.argv[2] === '--worker') {
  const [, , , mode, path, countS, firstS, hostArg, token] = process.argv;
  const host = hostArg || 'bench';
  const tcp = /^tcp:(.*):(\d+)$/.exec(path);
  const count = Number(countS);
  const first = Number(firstS);
  let connected = 0;
  // Connect at most IN_FLIGHT at a time, retrying EAGAIN (the listen backlog is full), as real
  // agents retry their connect.
  const IN_FLIGHT = 64;
  let next = 0;
  const open = (i) => {
    const s = tcp ? net.connect({ host: tcp[1], port: Number(tcp[2]) }) : net.connect(path);
    s.setEncoding('utf8');
    let buf = '';
    let up = false;
    s.on('error', (e) => {
      if (!up && (e.code === 'EAGAIN' || e.code === 'ECONNREFUSED')) {
        setTimeout(() => open(i), 5);
        return;
      }
      process.stderr.write(`worker socket ${i}: ${e.message}\n`);
      process.exit(1);
    });
    s.on('connect', () => {
      up = true;
      if (next < count) open(next++);
      if (mode === 'agent') {
        s.write(JSON.stringify({ t: 'hello', pid: first + i, ppid: 1, vpid: 0, cmd: 'sim', host, restored: false, gen: 0, image: '', ...(token ? { token } : {}) }) + '\n');
      } else if (++connected === count) process.stdout.write('ready\n');
    });
    s.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (mode === 'ping') {
          s.write('pong\n');
          continue;
        }
        const sp = line.indexOf(' ');
        const verb = line.slice(0, sp);
        const rest = line.slice(sp + 1);
        if (verb === 'vpid') {
          if (++connected === count) process.stdout.write('ready\n');
        } else if (verb === 'suspend') {
          s.write(`{"t":"suspended","gen":${rest}}\n`);
        } else if (verb === 'write') {
          const sp2 = rest.indexOf(' ');
          const gen = rest.slice(0, sp2);
          const image = rest.slice(sp2 + 1);
          writeFileSync(image, '');
          s.write(`{"t":"written","gen":${gen},"image":${JSON.stringify(image)},"bytes":0,"seconds":0}\n`);
        } else if (verb === 'resume' || verb === 'abort') {
          s.write(`{"t":"resumed","gen":${rest}}\n`);
        }
      }
    });
  };
  while (next < Math.min(IN_FLIGHT, count)) open(next++);
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

// ------------------------------------------------------------------------------------------------

function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

/**
 * Starts ceil(n / PER_WORKER) workers (per node: nodes = [{netns, host}], agents spread evenly);
 * resolves when every socket is connected (and registered).
 */
async function workers(mode, path, n, nodes = [], token = '') {
  const procs = [];
  const ready = [];
  const shares = nodes.length ? nodes.map((nd, k) => ({ nd, from: Math.floor((n * k) / nodes.length), to: Math.floor((n * (k + 1)) / nodes.length) })) : [{ nd: undefined, from: 0, to: n }];
  for (const { nd, from, to } of shares) {
    for (let off = from; off < to; off += PER_WORKER) {
      const count = Math.min(PER_WORKER, to - off);
      const argv = [self, '--worker', mode, path, String(count), String(1_000_000 + off), nd?.host ?? '', token];
      const w = nd
        ? spawn('nsenter', [`--net=/run/netns/${nd.netns}`, process.execPath, ...argv], { stdio: ['pipe', 'pipe', 'inherit'] })
        : spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'inherit'] });
      procs.push(w);
      ready.push(
        new Promise((res, rej) => {
          w.stdout.setEncoding('utf8');
          w.stdout.on('data', (d) => d.includes('ready') && res());
          w.once('exit', (c) => rej(new Error(`worker exited with ${c}`)));
        }),
      );
    }
  }
  await Promise.all(ready);
  return {
    count: procs.length,
    stop: async () => {
      await Promise.all(
        procs.map(
          (w) =>
            new Promise((r) => {
              if (w.exitCode !== null) return r();
              w.once('exit', r);
              w.stdin.end();
            }),
        ),
      );
    },
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function pingBaseline(dir, n, reps, net_) {
  const path = join(dir, 'ping.sock');
  const clients = [];
  const server = net.createServer((s) => {
    s.setEncoding('utf8');
    clients.push(s);
  });
  let addr = path;
  if (net_) {
    await new Promise((r) => server.listen({ host: net_.ip, port: 0, backlog: 4096 }, r));
    addr = `tcp:${net_.ip}:${server.address().port}`;
  } else {
    await new Promise((r) => server.listen({ path, backlog: 4096 }, r));
  }
  const w = await workers('ping', addr, n, net_?.nodes ?? []);
  while (clients.length < n) await new Promise((r) => setTimeout(r, 5));
  const times = [];
  for (let k = 0; k < reps + 1; k++) {
    let pending = n;
    const t0 = process.hrtime.bigint();
    await new Promise((res) => {
      for (const c of clients) {
        c.once('data', () => --pending === 0 && res());
        c.write('ping\n');
      }
    });
    if (k > 0) times.push(Number(process.hrtime.bigint() - t0) / 1e6); // first round warms up
  }
  for (const c of clients) c.destroy();
  await new Promise((r) => server.close(r));
  await w.stop();
  return median(times);
}

async function barrier(Coordinator, dir, n, reps, net_) {
  const cdir = join(dir, `coord-${n}`);
  const coord = await Coordinator.start({ dir: cdir, keep: 1, timeout: 600, ...(net_ ? { listen: `tcp:${net_.ip}:0` } : {}) });
  const token = net_ ? readFileSync(join(cdir, '.amber', 'token'), 'utf8').trim() : '';
  const w = await workers('agent', net_ ? `tcp:${coord.tcpAddress.replace(/^tcp:/, '')}` : coord.socketPath, n, net_?.nodes ?? [], token);
  while (coord.processes().length < n) await new Promise((r) => setTimeout(r, 5));
  const rows = [];
  let marks = {};
  coord.on('progress', (p) => {
    if (p.done === p.total) marks[p.phase] = p.seconds;
  });
  for (let k = 0; k < reps + 1; k++) {
    marks = {};
    const t0 = process.hrtime.bigint();
    await coord.checkpoint();
    const total = Number(process.hrtime.bigint() - t0) / 1e6;
    if (k > 0) rows.push({ total, suspend: marks.suspend * 1e3, write: (marks.write - marks.suspend) * 1e3, resume: (marks.resume - marks.write) * 1e3 });
  }
  await w.stop();
  await coord.close();
  rmSync(cdir, { recursive: true, force: true });
  return {
    workers: w.count,
    total: median(rows.map((r) => r.total)),
    suspend: median(rows.map((r) => r.suspend)),
    write: median(rows.map((r) => r.write)),
    resume: median(rows.map((r) => r.resume)),
  };
}

async function main() {
  let Coordinator;
  try {
    ({ Coordinator } = await import('../dist/lib/index.js'));
  } catch (e) {
    console.error(`bench/barrier.js: cannot load dist/lib (run npm run build:ts first): ${e.message}`);
    process.exit(1);
  }
  const reps = Number(arg('--reps', '3'));
  const sizes = arg('--sizes', '100,1000,10000').split(',').map(Number);
  const nnodes = Number(arg('--nodes', '0'));
  const dir = mkdtempSync(join(tmpdir(), 'amber-bench-barrier-'));
  const net_ = nnodes > 0 ? makeNodes(nnodes) : undefined;
  try {
    const out = [];
    for (const n of sizes) {
      const ping = await pingBaseline(dir, n, reps, net_);
      const b = await barrier(Coordinator, dir, n, reps, net_);
      out.push({ n, ...b, ping });
      process.stderr.write(`  ${n} agents done\n`);
    }
    const head = ['agents', 'workers', 'barrier ms', 'suspend ms', 'write ms', 'manifest+resume ms', 'ping ms', 'barrier ÷ 3 pings'];
    const rows = out.map((r) => [
      String(r.n),
      String(r.workers),
      r.total.toFixed(1),
      r.suspend.toFixed(1),
      r.write.toFixed(1),
      r.resume.toFixed(1),
      r.ping.toFixed(2),
      (r.total / (3 * r.ping)).toFixed(1),
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells) => cells.map((c, i) => c.padStart(widths[i])).join('  ');
    console.log(`coordinator barrier latency (median of ${reps}; write = agents create their image file; manifest fsync'ed)${net_ ? `; ${nnodes} namespace nodes over TCP with the token` : ''}`);
    console.log(line(head));
    for (const r of rows) console.log(line(r));
  } finally {
    net_?.remove();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** K network namespaces on a bridge (10.214.X.0/24: bridge .1, node k .(10+k)); remove() deletes them. */
function makeNodes(k) {
  const ip = (...a) => execFileSync('ip', a, { stdio: ['ignore', 'ignore', 'pipe'] });
  const tag = `ab${process.pid % 10000}`;
  const third = 20 + (process.pid % 200);
  const links = [];
  const spaces = [];
  const remove = () => {
    for (const l of links) try { ip('link', 'del', l); } catch { /* gone */ }
    for (const n of spaces) try { ip('netns', 'del', n); } catch { /* gone */ }
  };
  try {
    ip('link', 'add', `${tag}br`, 'type', 'bridge');
    links.push(`${tag}br`);
    ip('addr', 'add', `10.214.${third}.1/24`, 'dev', `${tag}br`);
    ip('link', 'set', `${tag}br`, 'up');
    const nodes = [];
    for (let i = 1; i <= k; i++) {
      const ns = `${tag}-n${i}`;
      ip('netns', 'add', ns);
      spaces.push(ns);
      ip('link', 'add', `${tag}v${i}`, 'type', 'veth', 'peer', 'name', `${tag}p${i}`);
      links.push(`${tag}v${i}`);
      ip('link', 'set', `${tag}p${i}`, 'netns', ns);
      ip('link', 'set', `${tag}v${i}`, 'master', `${tag}br`);
      ip('link', 'set', `${tag}v${i}`, 'up');
      ip('-n', ns, 'addr', 'add', `10.214.${third}.${10 + i}/24`, 'dev', `${tag}p${i}`);
      ip('-n', ns, 'link', 'set', `${tag}p${i}`, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      nodes.push({ netns: ns, host: `${tag}n${i}` });
    }
    return { ip: `10.214.${third}.1`, nodes, remove };
  } catch (e) {
    remove();
    throw e;
  }
}

if (process.argv[2] !== '--worker') await main();
