// Real applications under amber (issue 10): each one is checkpointed live mid-work, then with
// --kill, and restarted; it must finish its work as it would have without amber — results checked
// against what this test computes (or a run without amber), nothing lost, repeated or reported as
// an error. Java, Open MPI, python and static binaries have their own files (core-jvm, mpi,
// core-python, unit-launchable).
//
// Packages the scenarios need (sqlite3, redis-server, postgresql, memcached, nginx) are installed with apt-get when missing and
// running as root; a scenario whose package cannot be installed FAILS with the reason.
// Unprivileged: AMBER_TEST_AS=amber-test AMBER_TEST_TMP=/tmp/x npx tap test/apps.ts
import t, { type Test } from 'tap'
import { createHash } from 'node:crypto'
import { chmodSync, existsSync, readFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { fixture, python3 } from './helpers/fixtures.js'
import { type Amber, setup } from './helpers/amber.js'
import { ensurePackages, freePort, liveKillRestart, seqOf, upTo } from './helpers/apps.js'

t.setTimeout(300_000)

const app = (name: string) => fixture(join('apps', name))

/** The application's own working directory under the test's base, owned by the test user. */
function workdir(a: Amber, name: string): string {
  const d = a.mkdir(name)
  chmodSync(d, 0o755)
  return d
}

function noErrors(t: Test, what: string, text: string) {
  t.notMatch(text, /No child processes|Interrupted system call|ECONNRESET|EPIPE|Traceback|Error:/, `${what}: no error reported`)
}

t.test('make -j2 builds every target exactly once across a checkpoint', async (t) => {
  const a = await setup(t)
  const dir = workdir(a, 'make')
  const p = a.launch(['make', '-j2', '-C', dir, '-f', app('Makefile')])
  const c = await liveKillRestart(a, p, { progress: (l) => l.startsWith('built '), live: 6, kill: 14 })
  const err = p.err.text() + c.restarted.err.text()
  t.equal(c.exit.code, 0, `make exits 0; stderr: ${JSON.stringify(c.restarted.err.lines.slice(-5))}`)
  t.ok(c.after.includes('ALLDONE'), 'make reached the final rule')
  noErrors(t, 'make', err)
  const log = readFileSync(join(dir, 'log'), 'utf8').split('\n').filter(Boolean).sort()
  const want = upTo(40).map((i) => `t${String(i).padStart(2, '0')}`)
  t.same(log, want, 'every target built exactly once')
  t.same(want.filter((x) => !existsSync(join(dir, 'out', x))), [], 'every target exists')
  const printed = seqOf([...c.before, ...c.after], /^built t(\d+)$/).sort((x, y) => x - y)
  t.same(printed, upTo(40), 'each target reported built once')
})

t.test('a gzip pipeline with a slow producer gives the checksum it gives without amber', async (t) => {
  const N = 100
  const a = await setup(t)
  let text = ''
  for (let i = 1; i <= N; i++) for (let k = i * 1000; k <= i * 1000 + 999; k++) text += `${k}\n`
  const want = `${createHash('sha256').update(text).digest('hex')}  -`
  const p = a.launch([app('pipeline.sh'), String(N)])
  // progress goes to stderr (stdout carries only the checksum)
  const chunks = (n: number) => p.err.until((l) => l.filter((x) => x.startsWith('chunk ')).length >= n || undefined, 60_000, `${n} chunks`)
  await chunks(20)
  await a.checkpoint()
  await chunks(45)
  await a.checkpoint({ kill: true })
  await p.wait(20_000)
  t.same(p.lines, [], 'no checksum before the restart (the pipeline was mid-stream)')
  const r = a.restart()
  const ex = await r.wait(90_000)
  t.equal(ex.code, 0, `the pipeline exits 0; stderr: ${JSON.stringify(r.err.lines.slice(-3))}`)
  t.same(r.lines, [want, 'status 0 0 0 0'], 'the checksum equals the one computed without amber, every stage exits 0')
  const got = seqOf([...p.err.lines, ...r.err.lines], /^chunk (\d+)$/)
  t.same(got, upTo(N), 'the producer made every chunk once')
})

t.test('perl with a counter file, a forked child and pipes goes on', async (t) => {
  const N = 50
  const a = await setup(t)
  const dir = workdir(a, 'perl')
  const counter = join(dir, 'counter')
  const p = a.launch(['perl', app('loop.pl'), String(N), counter])
  const c = await liveKillRestart(a, p, { progress: (l) => l.startsWith('tick '), live: 8, kill: 18 })
  t.equal(c.exit.code, 0, `perl exits 0; stderr: ${JSON.stringify(c.restarted.err.lines.slice(-5))}`)
  const ticks = [...c.before, ...c.after].map((l) => /^tick (\d+) sq (\d+)$/.exec(l)).filter((m) => m !== null)
  t.same(ticks.map((m) => Number(m[1])), upTo(N), 'ticks 1..N, none lost or repeated')
  t.same(ticks.filter((m) => Number(m[2]) !== Number(m[1]) ** 2).map((m) => m[0]), [], 'the child answered every square')
  t.ok(c.after.includes(`DONE ${N}`), 'the child was reaped with status 0')
  t.equal(readFileSync(counter, 'utf8'), `${N}\n`, 'the counter file holds N')
  noErrors(t, 'perl', p.err.text() + c.restarted.err.text())
})

t.test('a node http server and client under one launch go on without a gap', async (t) => {
  const N = 120
  const a = await setup(t)
  const dir = workdir(a, 'http')
  const p = a.launch([app('http.sh'), join(dir, 'port'), String(N)])
  const c = await liveKillRestart(a, p, { progress: (l) => l.startsWith('req '), live: 15, kill: 35 })
  t.equal(c.exit.code, 0, `the shell exits 0; stderr: ${JSON.stringify(c.restarted.err.lines.slice(-5))}`)
  const reqs = [...c.before, ...c.after].map((l) => /^req (\d+) -> (\d+) (\d+) (\d+) (\d+)$/.exec(l)).filter((m) => m !== null)
  t.same(reqs.map((m) => Number(m[1])), upTo(N), 'requests 1..N in order')
  const bad = reqs.filter((m) => m[2] !== '200' || Number(m[3]) !== Number(m[1]) || Number(m[4]) !== 3 * Number(m[1]) || Number(m[5]) !== Number(m[1]))
  t.same(bad.map((m) => m[0]), [], 'every answer is right and the server saw each request exactly once')
  t.ok(c.after.includes('DONE') && c.after.includes('client exit 0'), 'the client finished and exited 0')
  noErrors(t, 'node', p.err.text() + c.restarted.err.text())
})

t.test('python3 asyncio subprocesses and a timer go on; every child status arrives', async (t) => {
  const ROUNDS = 30
  const a = await setup(t)
  const p = a.launch([python3, app('aio.py'), String(ROUNDS)])
  const c = await liveKillRestart(a, p, { progress: (l) => l.startsWith('round '), live: 4, kill: 9 })
  t.equal(c.exit.code, 0, `python exits 0; stderr: ${JSON.stringify(c.restarted.err.lines.slice(-8))}`)
  t.same(seqOf([...c.before, ...c.after], /^round (\d+) /), upTo(ROUNDS), 'rounds 1..N')
  t.ok(c.after.includes(`DONE ${ROUNDS * 3} ticker ran`), 'every child reaped with its status and output; the timer ran')
  t.same([...c.before, ...c.after].filter((l) => l.startsWith('BAD')), [], 'no child status or output wrong')
  noErrors(t, 'python', p.err.text() + c.restarted.err.text())
})

t.test('two sqlite3 writers on one WAL database: rows contiguous, integrity ok', async (t) => {
  const why = ensurePackages(['sqlite3'])
  if (why) return t.fail(why)
  const N = 100
  const a = await setup(t)
  const dir = workdir(a, 'sqlite')
  const db = join(dir, 'db.sqlite')
  const p = a.launch([app('sqlite.sh'), db, String(N)])
  const c = await liveKillRestart(a, p, { progress: (l) => l.startsWith('row '), live: 20, kill: 60 })
  t.equal(c.exit.code, 0, `the shell exits 0; stderr: ${JSON.stringify(c.restarted.err.lines.slice(-5))}`)
  const rows = [...c.before, ...c.after].map((l) => /^row (\d) (\d+) (\d+)$/.exec(l)).filter((m) => m !== null)
  for (const w of ['1', '2']) {
    const mine = rows.filter((m) => m[1] === w)
    t.same(mine.map((m) => Number(m[2])), upTo(N), `writer ${w}: each insert is its next row`)
    t.same(mine.filter((m) => Number(m[3]) !== Number(m[2]) ** 2).map((m) => m[0]), [], `writer ${w}: each row reads back`)
  }
  const sum = (N * (N + 1)) / 2
  const sqsum = (N * (N + 1) * (2 * N + 1)) / 6
  t.same(
    c.after.slice(-4),
    ['writers exit 0 0', `writer 1 count ${N} sum ${sum} sqsum ${sqsum}`, `writer 2 count ${N} sum ${sum} sqsum ${sqsum}`, 'ok'],
    'both writers exit 0; counts, sums, PRAGMA integrity_check ok',
  )
  const check = spawnSync('sqlite3', [db, 'PRAGMA integrity_check; SELECT count(*), count(DISTINCT w), max(i) FROM t;'], { encoding: 'utf8' })
  t.equal(check.stdout.trim(), `ok\n${2 * N}|2|${N}`, 'the database on disk, opened without amber, is whole')
  noErrors(t, 'sqlite', p.err.text() + c.restarted.err.text())
})

t.test('redis-server (AOF, BGSAVE) and an INCR loop on one kept connection: INCR goes on from the saved value', async (t) => {
  const why = ensurePackages(['redis-server', 'redis-tools'])
  if (why) return t.fail(why)
  const N = 80
  const a = await setup(t)
  const dir = workdir(a, 'redis')
  const port = await freePort()
  const p = a.launch([app('redis.sh'), String(port), String(N), dir])
  const c = await liveKillRestart(a, p, { progress: (l) => l.startsWith('incr '), live: 10, kill: 25 })
  t.equal(c.exit.code, 0, `the shell exits 0; stderr: ${JSON.stringify(c.restarted.err.lines.slice(-5))}`)
  const incr = [...c.before, ...c.after].map((l) => /^incr (\d+) -> (\d+)$/.exec(l)).filter((m) => m !== null)
  t.same(incr.map((m) => Number(m[1])), upTo(N), 'INCR 1..N issued')
  t.same(incr.map((m) => Number(m[2])), upTo(N), 'each INCR answered the next value: the server kept its data')
  t.same([...c.before, ...c.after].filter((l) => l.startsWith('bgsave ') && l !== 'bgsave +Background saving started'), [], 'every BGSAVE (a fork of redis) started')
  t.ok(c.after.includes('server exit 0'), 'redis-server shut down cleanly')
  const log = readFileSync(join(dir, 'redis.log'), 'utf8')
  t.notMatch(log, /Error|error|Fatal/, `redis log has no error: ${JSON.stringify(log.split('\n').filter((l) => /error|Fatal/i.test(l)).slice(0, 3))}`)
})

t.test('script -qfc (a pty driver) survives its first checkpoint and goes on', async (t) => {
  const N = 60
  const a = await setup(t)
  const loop = `for i in $(seq 1 ${N}); do echo "line $i"; sleep 0.1; done; echo DONE`
  const p = a.launch(['script', '-qfc', loop, '/dev/null'])
  const c = await liveKillRestart(a, p, { progress: (l) => l.startsWith('line '), live: 5, kill: 15 })
  t.equal(c.exit.code, 0, `script exits 0; stderr: ${JSON.stringify(c.restarted.err.lines.slice(-5))}`)
  const clean = (ls: string[]) => ls.map((l) => l.replace(/\r$/, ''))
  t.same(seqOf(clean([...c.before, ...c.after]), /^line (\d+)$/), upTo(N), 'lines 1..N through the pty')
  t.ok(clean(c.after).includes('DONE'), 'the loop finished')
})

// todo: in one full unprivileged run of the suite the restarted job never ended (120 s); it passed
// every run on its own (root and amber-test) and in the root suite. Diagnosis open.
t.test('PostgreSQL: a server, a new psql connection (a new backend) per insert; rows contiguous after the restart', {
  todo: 'the restarted job once hung in a full unprivileged run (passes alone); under investigation',
}, async (t) => {
  const why = ensurePackages(['postgresql', 'postgresql-client'])
  if (why) return t.fail(why)
  const N = 40
  const a = await setup(t)
  const dir = workdir(a, 'pg')
  const asRoot = process.getuid?.() === 0 && !process.env.AMBER_TEST_AS
  if (asRoot) chmodSync(a.base, 0o711)  // the postgres user reaches its directory
  const port = await freePort()
  // As root the job switches to the postgres user first (the server refuses root).
  const p = a.launch([app('postgres.sh'), dir, String(port), String(N), asRoot ? 'postgres' : ''])
  const c = await liveKillRestart(a, p, { progress: (l) => l.startsWith('insert '), live: 5, kill: 12, timeoutMs: 120_000 })
  t.equal(c.exit.code, 0, `the job exits 0; stderr: ${JSON.stringify(c.restarted.err.lines.slice(-5))}`)
  const all = [...c.before, ...c.after]
  t.same(seqOf(all, /^insert (\d+)$/), upTo(N), 'inserts 1..N')
  t.same(all.filter((l) => / failed$/.test(l)), [], 'no insert failed')
  t.ok(c.after.includes(`table ${N}|1|${N}`), `every row is in the table once: ${c.after.filter((l) => l.startsWith('table'))}`)
  t.ok(c.after.includes('server exit 0'), 'the server shut down cleanly')
  const log = readFileSync(join(dir, 'server.log'), 'utf8')
  t.notMatch(log, /PANIC|FATAL|terminated by signal/, `server log: ${JSON.stringify(log.split('\n').filter((l) => /PANIC|FATAL|signal/.test(l)).slice(0, 3))}`)
})

t.test('memcached (threads) and nginx (master, 2 workers): INCR on a kept connection and HTTP requests go on', async (t) => {
  const why = ensurePackages(['memcached', 'nginx-light'])
  if (why) return t.fail(why)
  const N = 60
  const a = await setup(t)
  const dir = workdir(a, 'web')
  const [mcport, webport] = [await freePort(), await freePort()]
  const p = a.launch([app('web.sh'), String(mcport), String(webport), String(N), dir])
  const c = await liveKillRestart(a, p, { progress: (l) => l.startsWith('round '), live: 8, kill: 20 })
  t.equal(c.exit.code, 0, `the shell exits 0; stderr: ${JSON.stringify(c.restarted.err.lines.slice(-5))}`)
  const rounds = [...c.before, ...c.after].map((l) => /^round (\d+) mc (\d+) http hello \/(\d+)$/.exec(l))
  t.same(rounds.filter((m) => m !== null).map((m) => Number(m![1])), upTo(N), 'rounds 1..N, each answered by both servers')
  t.ok(rounds.every((m) => m === null || (m[1] === m[2] && m[1] === m[3])), 'memcached counted on from its value, nginx answered each request')
  t.ok(c.after.includes('servers stopped'), 'both servers stopped')
})
