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
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PER_WORKER = 2500;
const self = fileURLToPath(import.meta.url);

// ------------------------------------------------------------------------------------------------
// worker: node bench/barrier.js --worker MODE SOCKET COUNT FIRSTPID
if (process.argv[2] === '--worker') {
  const [, , , mode, path, countS, firstS] = process.argv;
  const count = Number(countS);
  const first = Number(firstS);
  let connected = 0;
  // Connect at most IN_FLIGHT at a time, retrying EAGAIN (the listen backlog is full), as real
  // agents retry their connect.
  const IN_FLIGHT = 64;
  let next = 0;
  const open = (i) => {
    const s = net.connect(path);
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
        s.write(JSON.stringify({ t: 'hello', pid: first + i, ppid: 1, vpid: 0, cmd: 'sim', host: 'bench', restored: false, gen: 0, image: '' }) + '\n');
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

/** Starts ceil(n / PER_WORKER) workers; resolves when every socket is connected (and registered). */
async function workers(mode, path, n) {
  const procs = [];
  const ready = [];
  for (let off = 0; off < n; off += PER_WORKER) {
    const count = Math.min(PER_WORKER, n - off);
    const w = spawn(process.execPath, [self, '--worker', mode, path, String(count), String(1_000_000 + off)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    procs.push(w);
    ready.push(
      new Promise((res, rej) => {
        w.stdout.setEncoding('utf8');
        w.stdout.on('data', (d) => d.includes('ready') && res());
        w.once('exit', (c) => rej(new Error(`worker exited with ${c}`)));
      }),
    );
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

async function pingBaseline(dir, n, reps) {
  const path = join(dir, 'ping.sock');
  const clients = [];
  const server = net.createServer((s) => {
    s.setEncoding('utf8');
    clients.push(s);
  });
  await new Promise((r) => server.listen({ path, backlog: 4096 }, r));
  const w = await workers('ping', path, n);
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

async function barrier(Coordinator, dir, n, reps) {
  const cdir = join(dir, `coord-${n}`);
  const coord = await Coordinator.start({ dir: cdir, keep: 1, timeout: 600 });
  const w = await workers('agent', coord.socketPath, n);
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
  const dir = mkdtempSync(join(tmpdir(), 'amber-bench-barrier-'));
  try {
    const out = [];
    for (const n of sizes) {
      const ping = await pingBaseline(dir, n, reps);
      const b = await barrier(Coordinator, dir, n, reps);
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
    console.log(`coordinator barrier latency (median of ${reps}; write = agents create their image file; manifest fsync'ed)`);
    console.log(line(head));
    for (const r of rows) console.log(line(r));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] !== '--worker') await main();
