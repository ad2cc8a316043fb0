// Locks survive (issue 11): a lost lock lets two writers corrupt a database. test/fixtures/locks.c
// holds a POSIX write and read lock, an OFD lock, an flock on a file and one on its directory, and
// a read lease; test/fixtures/lockprobe.c, a process outside the computation, must still be refused
// every one of them (EAGAIN / EWOULDBLOCK) after a live checkpoint and after a kill and restart,
// and its open for writing must still break the lease (the program is told, by SIGIO).
// When someone else holds a conflicting lock at restart, the restart must fail, naming the file
// and the holder, before anything runs; once that lock is gone the restart succeeds.
import t from 'tap'
import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import { build } from './helpers/fixtures.js'
import { setup } from './helpers/amber.js'
import { bads, ticks } from './helpers/fdstate.js'

const run = promisify(execFile)
const refused = 'posix=EAGAIN ofd=EAGAIN read=EAGAIN flock=EWOULDBLOCK dirflock=EWOULDBLOCK free=ok'

t.test('POSIX, OFD, flock locks and a lease still exclude others after checkpoint and restart', async (t) => {
  const a = await setup(t)
  const exe = await build('locks')
  const probe = await build('lockprobe')
  const work = a.mkdir('work')
  const probeOut = async (...args: string[]) => (await run(probe, [work, ...args])).stdout.trim()
  const app = a.launch([exe, work])
  await app.waitLines(3)
  t.equal(await probeOut(), refused, 'before any checkpoint: every lock refused to a process outside')

  await a.checkpoint()
  const n = app.lines.length
  await app.waitLines(n + 3)
  t.equal(await probeOut(), refused, 'after a live checkpoint: still refused')

  const ck = await a.checkpoint({ kill: true })
  await app.wait(20_000)
  const before = app.lines.slice()
  t.same(bads(before), [], 'the program saw its locks on every tick before the kill')

  // Someone takes the POSIX lock while the program is down: the restart must refuse, by name.
  const holder = spawn(probe, [work, 'hold'], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => holder.kill('SIGKILL'))
  await new Promise<void>((resolve, reject) => {
    holder.stdout!.on('data', (d: Buffer) => (String(d).includes('holding') ? resolve() : reject(new Error(String(d)))))
    holder.on('exit', (c) => reject(new Error(`holder exited ${c}`)))
  })
  const refusedRestart = a.restart()
  const ex = await refusedRestart.wait(30_000)
  t.not(ex.code, 0, `restart fails while another process holds the lock (exit ${ex.code})`)
  const err = refusedRestart.err.text()
  t.match(err, /lock.*locks\.dat/, `the failure names the file: ${err.trim()}`)
  t.match(err, new RegExp(`held now by process ${holder.pid}`), 'and the process that holds it')
  t.same(refusedRestart.lines, [], 'the program did not run')
  holder.kill('SIGKILL')
  await new Promise((r) => holder.once('close', r))

  const restarted = a.restart({ target: ck.manifest })
  await restarted.waitLines(3)
  t.equal(await probeOut(), refused, 'after the restart: every lock refused to a process outside again')
  t.equal(await probeOut('lease'), `${refused} lease=EWOULDBLOCK`, 'an open for writing still meets the lease')
  await restarted.waitFor((l) => l.includes('lease broken'), 10_000, 'the lease-break signal')
  const after = restarted.lines.slice()
  t.same(bads(after), [], 'the restored program saw its locks on every tick')
  t.equal(ticks(after)[0], ticks(before).at(-1)! + 1, 'it goes on from the tick it was at')
})
