// A python3 program holding a 200k-entry dict continues with the dict intact: its tick counter
// goes on by one, and the dict's length and content checksum (recomputed by python from the dict
// every tick) equal what this test computes independently.
import t from 'tap'
import { fixture, python3 } from './helpers/fixtures.js'
import { checkpointKillRestart, setup } from './helpers/amber.js'

const BASE = 200000

/** Checksum the fixture prints after tick i: sum over k < BASE+i of (((k*2654435761) mod 2^32) ^ k). */
function expected(i: number): string {
  let s = 0n
  for (let k = 0; k < BASE + i; k++) {
    const v = (k * 2654435761) % 4294967296
    s += BigInt((v ^ k) >>> 0)
  }
  return (s & 0xffffffffffffffffn).toString(16)
}

function parse(lines: string[]): { n: number; len: number; sum: string }[] {
  return lines.map((l) => {
    const m = /^n (\d+) len (\d+) sum ([0-9a-f]+)$/.exec(l)
    if (!m) throw new Error(`unexpected line from pydict: ${JSON.stringify(l)}`)
    return { n: Number(m[1]), len: Number(m[2]), sum: m[3]! }
  })
}

t.test('python3 with a large dict continues with the dict intact', async (t) => {
  const a = await setup(t)
  const script = fixture('pydict.py')
  const app = a.launch([python3, script])
  await app.waitLines(4, 60_000)
  const { before, restarted, leftover } = await checkpointKillRestart(a, app, { after: 5, exe: script })
  t.same(leftover, [], 'checkpoint --kill left no python running')

  const pre = parse(before)
  const post = parse(restarted.lines.slice(0, 5))
  t.same(pre.map((x) => x.n), pre.map((_, i) => i + 1), 'ticks 1.. before the checkpoint')
  t.equal(pre.at(-1)!.sum, expected(pre.at(-1)!.n), 'the test computes the fixture\'s checksum')
  const last = pre.at(-1)!.n
  t.same(post.map((x) => x.n), [1, 2, 3, 4, 5].map((k) => last + k), `ticks continue from ${last + 1}`)
  for (const x of post) {
    t.equal(x.len, BASE + x.n, `tick ${x.n}: dict has ${BASE + x.n} entries`)
    t.equal(x.sum, expected(x.n), `tick ${x.n}: dict content checksum intact`)
  }
})
