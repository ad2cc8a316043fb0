// The CLI's own contract (node dist/lib/cli.js): usage errors exit 2 with an `amber:` message,
// --help for every command, exit 4 naming the socket when no coordinator listens, exit 3 for a bad
// image. Then launch/status/checkpoint/restart end to end through the CLI, with a stand-in agent
// (a tiny LD_PRELOAD library speaking the real protocol, selected with AMBER_AGENT), a stand-in
// restorer (AMBER_RESTORER) and a stand-in addon (AMBER_ADDON): this tests the TypeScript side,
// not checkpointing itself (test/core-*.ts do that with the real native pieces).
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readlinkSync, statSync } from 'node:fs'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const cli = join(root, 'dist', 'lib', 'cli.js')

type Result = { code: number | null; signal: string | null; stdout: string; stderr: string }

function amber(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<Result> {
  return new Promise((res) => {
    execFile(process.execPath, [cli, ...args], { env: { ...process.env, AMBER_DIR: undefined, ...env }, cwd, timeout: 30_000 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number | string; signal?: string }) | null
      res({ code: e === null ? 0 : typeof e.code === 'number' ? e.code : null, signal: e?.signal ?? null, stdout, stderr })
    })
  })
}

t.test('usage errors exit 2 with an amber: message', async (t) => {
  for (const args of [[], ['frobnicate'], ['checkpoint', '--bogus'], ['launch'], ['launch', '--interval', 'soon', '--', 'true'], ['inspect'], ['inspect', 'a', 'b'], ['status', 'extra'], ['checkpoint', '--dir', '/x', '--coord', '/y'], ['restart', 'a', 'b']]) {
    const r = await amber(args)
    t.equal(r.code, 2, `amber ${args.join(' ')} exits 2`)
    if (args.length > 0) t.match(r.stderr, /^amber: .+/m, `amber ${args.join(' ')}: message on stderr`)
    t.equal(r.stdout, '', 'nothing on stdout')
  }
})

t.test('--help for each command, --version', async (t) => {
  for (const cmd of ['launch', 'checkpoint', 'restart', 'status', 'inspect', 'coordinator']) {
    const r = await amber([cmd, '--help'])
    t.equal(r.code, 0, `${cmd} --help exits 0`)
    t.match(r.stdout, new RegExp(`^usage: amber ${cmd}`), `${cmd} --help prints its usage`)
  }
  const g = await amber(['--help'])
  t.equal(g.code, 0)
  t.match(g.stdout, /commands:/)
  const v = await amber(['--version'])
  t.equal(v.code, 0)
  t.match(v.stdout, /^\d+\.\d+\.\d+/)
})

t.test('no coordinator: exit 4 naming the socket', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'amber-cli-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const sock = join(dir, '.amber', 'coord.sock')
  for (const args of [['checkpoint', '--dir', dir], ['status', '--dir', dir, '--json']]) {
    const r = await amber(args)
    t.equal(r.code, 4, `${args[0]} exits 4`)
    t.match(r.stderr, /^amber: /, 'prefixed')
    t.ok(r.stderr.includes(sock), `names the socket: ${r.stderr.trim()}`)
  }
  // AMBER_DIR is the default DIR
  const r = await amber(['checkpoint'], { AMBER_DIR: dir })
  t.equal(r.code, 4)
  t.ok(r.stderr.includes(sock), 'AMBER_DIR picks the socket')
})

t.test('restart of a missing checkpoint exits 3', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'amber-cli-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const r = await amber(['restart', '--dir', dir])
  t.equal(r.code, 3)
  t.match(r.stderr, /^amber: .*no checkpoint/)
})

// ------------------------------------------------------------------------------------------------
// stand-ins for the native pieces

const FAKE_AGENT_C = String.raw`
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int fd = -1;

static int readline_fd(char *buf, size_t n) {
  size_t i = 0;
  while (i + 1 < n) {
    char c;
    if (read(fd, &c, 1) != 1) return -1;
    if (c == '\n') break;
    buf[i++] = c;
  }
  buf[i] = 0;
  return 0;
}

static void *loop(void *arg) {
  (void)arg;
  char line[4096], path[4000], tmp[4100];
  unsigned g;
  while (readline_fd(line, sizeof line) == 0) {
    if (sscanf(line, "suspend %u", &g) == 1) dprintf(fd, "{\"t\":\"suspended\",\"gen\":%u}\n", g);
    else if (sscanf(line, "write %u %3999s", &g, path) == 2) {
      snprintf(tmp, sizeof tmp, "%s.tmp", path);
      int o = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (o < 0 || write(o, "FAKEIMAGE\n", 10) != 10 || fsync(o) || close(o) || rename(tmp, path)) {
        dprintf(fd, "{\"t\":\"error\",\"gen\":%u,\"message\":\"cannot write\"}\n", g);
        continue;
      }
      dprintf(fd, "{\"t\":\"written\",\"gen\":%u,\"image\":\"%s\",\"bytes\":10,\"seconds\":0}\n", g, path);
    } else if (sscanf(line, "resume %u", &g) == 1) dprintf(fd, "{\"t\":\"resumed\",\"gen\":%u}\n", g);
  }
  return 0;
}

__attribute__((constructor)) static void init(void) {
  const char *p = getenv("AMBER_COORD");
  if (!p) return;
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  strncpy(a.sun_path, p, sizeof a.sun_path - 1);
  if (connect(fd, (struct sockaddr *)&a, sizeof a)) { fd = -1; return; }
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  const char *rv = getenv("FAKE_RESTORED_VPID");
  int restored = rv != NULL;
  dprintf(fd, "{\"t\":\"hello\",\"pid\":%d,\"ppid\":%d,\"vpid\":%d,\"cmd\":\"fake\",\"host\":\"%s\",\"restored\":%s,\"gen\":0,\"image\":\"\"}\n",
          getpid(), getppid(), restored ? atoi(rv) : 0, host, restored ? "true" : "false");
  char line[256];
  if (readline_fd(line, sizeof line)) return;
  if (restored) {
    /* like a restored process: parked until the coordinator releases everyone */
    dprintf(fd, "{\"t\":\"restarted\",\"gen\":1,\"pid\":%d}\n", getpid());
    while (readline_fd(line, sizeof line) == 0 && strcmp(line, "resume 0") != 0) {}
    dprintf(fd, "{\"t\":\"resumed\",\"gen\":0}\n");
  }
  pthread_t t;
  pthread_create(&t, 0, loop, 0);
  pthread_detach(t);
}
`

const FAKE_ADDON_CJS = String.raw`
const path = require('node:path')
function info(p, vpid) {
  return { path: p, version: { major: 1, minor: 0 }, arch: 'x86_64', pageSize: 4096, kernel: '6.1.0', libc: '2.36',
    hostname: 'h', vpid, parentVpid: 0, pid: 4242, generation: 1, time: 0, fileSize: 10, pagesTotal: 3, pagesStored: 1,
    cmdline: ['fake', 'arg'], cwd: '/', exe: '/bin/fake',
    threads: [{ tid: 4242, main: true, ckpt: false, fsBase: '0x7f0000001000', rseq: true }],
    regions: [{ start: '0x400000', end: '0x403000', prot: 'r-xp', flags: ['private'], path: '/bin/fake', offset: 0, chunks: 1, storedBytes: 4096 }],
    fds: [{ fd: 1, kind: 'pipe', path: 'pipe:[1]', flags: 1, pos: 0 }], timers: [], chunks: 1, storedBytes: 4096 }
}
exports.formatVersion = { major: 1, minor: 0 }
exports.readImage = (p) => {
  if (p.includes('bad')) throw Object.assign(new Error(p + ': chunk 3 checksum mismatch at offset 8192'), { code: 'ECHECKSUM', path: p, offset: 8192 })
  const m = /p(\d+)\.img$/.exec(p)
  return info(p, m ? Number(m[1]) : 1)
}
exports.verifyImage = async (p) => ({ chunks: 1, bytes: 10 })
`

async function fakes(t: TestLike) {
  const dir = await mkdtemp(join(tmpdir(), 'amber-cli-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await writeFile(join(dir, 'fake.c'), FAKE_AGENT_C)
  const so = join(dir, 'libfake.so')
  await new Promise<void>((res, rej) =>
    execFile('cc', ['-shared', '-fPIC', '-O1', '-o', so, join(dir, 'fake.c'), '-lpthread'], (e, _o, err) => (e ? rej(new Error(err)) : res())),
  )
  const addon = join(dir, 'fake-addon.cjs')
  await writeFile(addon, FAKE_ADDON_CJS)
  const restorer = join(dir, 'fake-restart')
  await writeFile(
    restorer,
    `#!/bin/sh\nvpid=$(basename "$1" .img | tr -d p)\nexec env LD_PRELOAD="${so}" FAKE_RESTORED_VPID="$vpid" sh -c 'echo restored-ok; exit 7'\n`,
  )
  await chmod(restorer, 0o755)
  const env = { AMBER_AGENT: so, AMBER_ADDON: addon, AMBER_RESTORER: restorer }
  return { dir, env }
}

/** All these helpers need of a tap test. */
type TestLike = { teardown(fn: () => unknown): void }

async function waitFor<T>(f: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await f()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 100))
  }
}

t.test('launch, status, checkpoint, inspect, restart through the CLI (stand-in native pieces)', async (t) => {
  const { dir, env } = await fakes(t)
  const work = join(dir, 'ck')
  const launched = spawn(process.execPath, [cli, 'launch', '--dir', work, '--', 'sleep', '60'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.teardown(() => {
    launched.kill('SIGKILL')
  })
  let lerr = ''
  launched.stderr.on('data', (d: Buffer) => (lerr += d.toString()))
  const gone = once(launched, 'exit')

  // status: the contract's shape, our sleep registered
  const st = await waitFor(async () => {
    const r = await amber(['status', '--dir', work, '--json'])
    if (r.code !== 0) return undefined
    const j = JSON.parse(r.stdout) as { processes: Array<{ cmd: string }> }
    return j.processes.length > 0 ? j : undefined
  })
  t.match(st, {
    ok: true,
    coordinator: { pid: Number, dir: work, listen: join(work, '.amber', 'coord.sock') },
    generation: 0,
    processes: [{ vpid: 1, pid: Number, parent: 0, host: String, cmd: 'fake', state: 'running' }],
  })
  const human = await amber(['status', '--dir', work])
  t.match(human.stdout, /VPID\s+PID\s+PARENT/, 'human status has a process table')

  // checkpoint prints the manifest path
  const ck = await amber(['checkpoint', '--dir', work])
  t.equal(ck.code, 0, `checkpoint exits 0 (${ck.stderr})`)
  const manifest = join(work, 'gen-000001', 'manifest.json')
  t.equal(ck.stdout, `${manifest}\n`)
  t.equal(statSync(manifest).mode & 0o777, 0o600)
  t.equal(readlinkSync(join(work, 'latest')), 'gen-000001')

  // SIGUSR1 to launch checkpoints too
  launched.kill('SIGUSR1')
  await waitFor(async () => (existsSync(join(work, 'gen-000002', 'manifest.json')) ? true : undefined))
  await waitFor(async () => (lerr.includes('checkpoint 2 written') ? true : undefined))

  // --json and --kill: launch exits with the app's status, 128+SIGKILL
  const ck3 = await amber(['checkpoint', '--dir', work, '--kill', '--json'])
  t.equal(ck3.code, 0)
  t.match(JSON.parse(ck3.stdout), { generation: 3, manifest: join(work, 'gen-000003', 'manifest.json'), images: [join(work, 'gen-000003', 'p1.img')], bytes: 10 })
  const [code] = await gone
  t.equal(code, 137, 'amber launch exits 128+9 after checkpoint --kill')
  t.notOk(existsSync(join(work, '.amber', 'coord.sock')), 'the in-process coordinator removed its socket')

  // inspect: manifest and image, human and JSON
  const im = await amber(['inspect', join(work, 'latest', 'manifest.json')], env)
  t.equal(im.code, 0, im.stderr)
  t.match(im.stdout, /generation\s+3/)
  const ii = await amber(['inspect', join(work, 'gen-000003', 'p1.img')], env)
  t.equal(ii.code, 0, ii.stderr)
  t.match(ii.stdout, /regions \(1\)/)
  t.match(ii.stdout, /0x400000\s+0x403000\s+r-xp\s+12\.0 KiB/)
  const ij = await amber(['inspect', '--json', '--verify', join(work, 'gen-000003', 'p1.img')], env)
  t.match(JSON.parse(ij.stdout), { vpid: 1, verified: { chunks: 1, bytes: 10 } })
  const bad = join(dir, 'bad.img')
  await writeFile(bad, 'AMBERIMG')
  const ib = await amber(['inspect', bad], env)
  t.equal(ib.code, 3, 'a bad image exits 3')
  t.match(ib.stderr, /^amber: .*bad\.img.*checksum/)

  // restart: the restored process's exit status is amber restart's
  const rs = await amber(['restart', '--dir', work], env)
  t.equal(rs.code, 7, `restart exits with the app's status (stderr: ${rs.stderr})`)
  t.equal(rs.stdout, 'restored-ok\n', "the app's output, untouched")
})

t.test('launch forwards SIGTERM and exits 128+15; a missing command exits 127', async (t) => {
  const { dir, env } = await fakes(t)
  const p = spawn(process.execPath, [cli, 'launch', '--dir', join(dir, 'w'), '--', 'sleep', '60'], { env: { ...process.env, ...env }, stdio: 'ignore' })
  const gone = once(p, 'exit')
  await waitFor(async () => ((await amber(['status', '--dir', join(dir, 'w'), '--json'])).stdout.includes('"vpid":1') ? true : undefined))
  p.kill('SIGTERM')
  const [code] = await gone
  t.equal(code, 143)
  const r = await amber(['launch', '--dir', join(dir, 'w2'), '--', join(dir, 'no-such-program')], env)
  t.equal(r.code, 127)
  t.match(r.stderr, /^amber: .*no-such-program: command not found/)
  // a path through a regular file: node's spawn throws ENOTDIR instead of emitting it
  const nd = await amber(['launch', '--dir', join(dir, 'w3'), '--', join(cli, 'x')], env)
  t.equal(nd.code, 126, `a path through a file exits 126 (stderr: ${nd.stderr.trim()})`)
  t.match(nd.stderr, /^amber: .*cli\.js\/x: not a directory on its path/)
})
