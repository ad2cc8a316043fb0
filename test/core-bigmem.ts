// 256 MiB of pseudo-random data: the checksum the restored process computes over its buffer is
// identical to the one computed before the checkpoint, and its iteration counter goes on.
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { checkpointKillRestart, setup } from './helpers/amber.js'

function parse(lines: string[]): { sum: string; it: number }[] {
  return lines.map((l) => {
    const m = /^sum ([0-9a-f]{16})(?: (\d+))?$/.exec(l)
    if (!m) throw new Error(`unexpected line from bigmem: ${JSON.stringify(l)}`)
    return { sum: m[1]!, it: m[2] === undefined ? 0 : Number(m[2]) }
  })
}

t.test('256 MiB of data: checksum identical after restart', async (t) => {
  const a = await setup(t)
  const exe = await build('bigmem')
  const app = a.launch([exe, '256'])
  await app.waitLines(3, 60_000)
  const { ck, before, restarted, leftover } = await checkpointKillRestart(a, app, { after: 3, afterTimeoutMs: 60_000, exe })
  t.same(leftover, [], 'checkpoint --kill left no bigmem running')
  t.ok(ck.bytes >= 256 << 20, `the image holds the 256 MiB (${ck.bytes} bytes)`)

  const pre = parse(before)
  const post = parse(restarted.lines.slice(0, 3))
  const sum = pre[0]!.sum
  t.equal(pre[0]!.it, 0, 'first line is the initial checksum')
  t.same(pre.map((x) => x.sum), pre.map(() => sum), 'checksum stable before the checkpoint')
  t.same(post.map((x) => x.sum), post.map(() => sum), `checksum after restart is ${sum}, as before`)
  t.equal(post[0]!.it, pre.at(-1)!.it + 1, `iteration counter continues (${pre.at(-1)!.it} -> ${post[0]!.it})`)
  t.same(post.map((x) => x.it), [0, 1, 2].map((k) => post[0]!.it + k), 'iterations consecutive after restart')
})
