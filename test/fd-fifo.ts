// A FIFO stays the FIFO at its path (a process outside that opens the path later still reaches the
// program), with its bytes in flight and its flags, and a signal pending while blocked stays
// pending (read at the end through a signalfd, sent by the program's own pid), across a live
// checkpoint and a restart.
import t from 'tap'
import { openSync, writeSync, closeSync, constants } from 'node:fs'
import { join } from 'node:path'
import { build } from './helpers/fixtures.js'
import { setup } from './helpers/amber.js'
import { bads, liveThenRestart, ticks } from './helpers/fdstate.js'

t.test('a FIFO at its path and a pending signal after restart', async (t) => {
  const a = await setup(t)
  const exe = await build('fifosig')
  const work = a.mkdir('work')
  const app = a.launch([exe, work])
  const { before, restarted } = await liveThenRestart(a, app, { exe })
  t.same(bads(before), [], 'fine across the live checkpoint')
  const fd = openSync(join(work, 'fifo'), constants.O_WRONLY | constants.O_NONBLOCK)
  writeSync(fd, 'hello\n')
  closeSync(fd)
  await restarted.waitFor((l) => l.includes('got hello'), 10_000, 'the line written into the path')
  a.writeFile(join(work, 'stop'), '')
  const ex = await restarted.wait(20_000)
  const after = restarted.lines.slice()
  t.same(bads(after), [], 'the FIFO, its bytes and the pending signal after the restart')
  t.equal(ticks(after)[0], ticks(before).at(-1)! + 1, 'the program goes on from the tick it was at')
  t.ok(after.includes('signal ok'), 'the pending SIGUSR2 is read from the signalfd, sent by the program itself')
  t.equal(ex.code, 0, 'exit 0')
})
