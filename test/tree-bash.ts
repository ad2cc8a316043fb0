// A bash pipeline (issue 3): `seq | while read i; do echo $i; sleep 0.1; done > out`. bash, the
// pipeline's subshell and its current `sleep` are checkpointed; after restart the subshell reads on
// from the pipe (whose unread numbers came back), bash's loop goes on, and the output file holds
// every number exactly once, in order.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { setup, sleep } from './helpers/amber.js'

t.test('bash pipeline resumes with no gap and no repeat', async (t) => {
  const a = await setup(t)
  const out = join(a.base, 'out')
  const script = `seq 1 100000 | while read i; do echo $i; sleep 0.05; done > ${out}`
  const app = a.launch(['/bin/bash', '-c', script])
  const count = () => { try { return readFileSync(out, 'utf8').split('\n').filter(Boolean).length } catch { return 0 } }
  for (let i = 0; i < 100 && count() < 10; i++) await sleep(100)
  await a.checkpoint({ kill: true })
  await app.wait(20_000)
  const atCheckpoint = count()
  const restarted = a.restart()
  for (let i = 0; i < 100 && count() < atCheckpoint + 15; i++) await sleep(100)
  const lines = readFileSync(out, 'utf8').split('\n').filter(Boolean).map(Number)
  t.ok(lines.length >= atCheckpoint + 15, `the loop went on after restart (${atCheckpoint} -> ${lines.length} lines)`)
  const bad = lines.findIndex((n, i) => n !== i + 1)
  t.equal(bad, -1, bad < 0 ? 'every number once, in order' : `line ${bad + 1} is ${lines[bad]}`)
  restarted.kill('SIGKILL')
})
