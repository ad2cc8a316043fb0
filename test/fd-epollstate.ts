// The epoll interest list keeps its exact state (issue 11: restored programs blocked forever in
// epoll_wait): a level-triggered entry with data, an edge-triggered entry whose edge was already
// collected (it must not fire again by itself), a one-shot entry that fired (disarmed until MOD),
// an entry whose descriptor number was dup2'd away and closed (the list is keyed by the open
// file), an EPOLLEXCLUSIVE entry, a nested epoll, and a thread blocked in epoll_wait(-1) that must
// keep waking. test/fixtures/epollstate.c checks the ready set exactly on every tick.
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { setup } from './helpers/amber.js'
import { bads, liveThenRestart, ticks } from './helpers/fdstate.js'

t.test('epoll: level, edge, one-shot, dup2, exclusive, nested entries and a blocked waiter after restart', async (t) => {
  const a = await setup(t)
  const exe = await build('epollstate')
  const app = a.launch([exe])
  const { live, before, restarted } = await liveThenRestart(a, app, { exe })
  t.same(bads(before), [], 'the ready sets are exact across the live checkpoint')
  t.notOk(live.warnings?.length, `nothing named at checkpoint: ${JSON.stringify(live.warnings)}`)
  const after = restarted.lines.slice()
  t.same(bads(after), [], 'the ready sets are exact after the restart')
  t.equal(ticks(after)[0], ticks(before).at(-1)! + 1, 'the program goes on from the tick it was at')
  const woke = (l: string | undefined) => Number(/woke (\d+)/.exec(l ?? '')?.[1] ?? -1)
  t.ok(woke(after.at(-1)) > woke(before.at(-1)), 'the thread blocked in epoll_wait(-1) keeps waking')
})
