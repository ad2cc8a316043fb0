// An epoll loop over a timerfd, an eventfd (bumped by another thread) and a pipe the loop writes
// to itself (issue 3, single process). After checkpoint --kill and restart the epoll interest list,
// the timer, the eventfd and the pipe all work again: every count goes on growing from the value it
// had at the checkpoint, none restarts from zero.
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { checkpointKillRestart, setup } from './helpers/amber.js'

function parse(l: string) {
  const m = /^timer (\d+) event (\d+) pipe (\d+)$/.exec(l)
  if (!m) throw new Error(`unexpected line: ${JSON.stringify(l)}`)
  return { timer: Number(m[1]), event: Number(m[2]), pipe: Number(m[3]) }
}

t.test('epoll + timerfd + eventfd + pipe continue after restart', async (t) => {
  const a = await setup(t)
  const exe = await build('evloop')
  const app = a.launch([exe, '100'])
  await app.waitLines(15)
  const { before, restarted } = await checkpointKillRestart(a, app, { after: 1, exe })
  const last = parse(before.at(-1)!)
  t.ok(last.timer >= 3 && last.event >= 3 && last.pipe >= 2, `counts before: ${JSON.stringify(last)}`)
  // let the restored loop run a while
  const want = restarted.lines.length + 20
  await restarted.waitLines(want, 20_000)
  const first = parse(restarted.lines[0]!)
  const end = parse(restarted.lines.at(-1)!)
  t.ok(first.timer >= last.timer && first.event >= last.event && first.pipe >= last.pipe,
    `restored counts start from the checkpoint's (${JSON.stringify(first)} vs ${JSON.stringify(last)})`)
  t.ok(end.timer >= last.timer + 3, `the timerfd fires again through epoll (${last.timer} -> ${end.timer})`)
  t.ok(end.event >= last.event + 3, `the eventfd is written and read again (${last.event} -> ${end.event})`)
  t.ok(end.pipe >= last.pipe + 3, `the pipe carries bytes again (${last.pipe} -> ${end.pipe})`)
  t.ok(end.pipe <= end.timer, 'no byte read that was never written (nothing duplicated in the pipe)')
})
