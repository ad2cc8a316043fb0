// node.js under amber (issue 3's event-loop descriptors, single process): seven threads, one of
// which blocks every signal, a libuv loop built on epoll, eventfds and pipes. A setInterval counter
// and a 200k-entry Map: after checkpoint --kill and restart the ticks go on by one and the Map's
// size and content checksum are what this test computes independently.
import t from 'tap'
import { fixture } from './helpers/fixtures.js'
import { checkpointKillRestart, setup } from './helpers/amber.js'

const BASE = 200000

function expected(n: number): number {
  let s = 0
  const step = (k: number, v: string) => { s = (s * 31 + k + v.length) % 1000000007 }
  for (let i = 0; i < BASE; i++) step(i, `v${(i * 7919) % 100003}`)
  for (let j = 1; j <= n; j++) step(BASE + j - 1, `t${j}`)
  return s
}

function parse(lines: string[]) {
  return lines.map((l) => {
    const m = /^n (\d+) size (\d+) sum (\d+)$/.exec(l)
    if (!m) throw new Error(`unexpected line from node: ${JSON.stringify(l)}`)
    return { n: Number(m[1]), size: Number(m[2]), sum: Number(m[3]) }
  })
}

t.test('node.js setInterval + Map continue after restart', async (t) => {
  const a = await setup(t)
  const script = fixture('nodemap.js')
  const app = a.launch([process.execPath, script, '150'])
  await app.waitLines(4, 60_000)
  const { before, restarted, leftover } = await checkpointKillRestart(a, app, { after: 4, exe: script })
  t.same(leftover, [], 'checkpoint --kill left no node running')
  const pre = parse(before)
  const post = parse(restarted.lines.slice(0, 4))
  const last = pre.at(-1)!.n
  t.same(post.map((x) => x.n), [1, 2, 3, 4].map((k) => last + k), `ticks continue from ${last + 1}`)
  for (const x of post) {
    t.equal(x.size, BASE + x.n, `tick ${x.n}: Map size`)
    t.equal(x.sum, expected(x.n), `tick ${x.n}: Map content checksum intact`)
  }
})
