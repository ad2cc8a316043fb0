// Restart of a process tree (issue 3): a parent streams numbered records to the child it forked
// through a pipe, with records in flight. After checkpoint --kill and restart, the child is again
// the kernel child of the restored parent, and the stream goes on: no record lost, none repeated.
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { readFileSync } from 'node:fs'
import { procInfo, setup } from './helpers/amber.js'

const nums = (lines: string[], tag: string) =>
  lines.filter((l) => l.startsWith(`${tag} `)).map((l) => Number(l.split(' ')[1]))

t.test('parent and child keep streaming through their pipe across restart', async (t) => {
  const a = await setup(t)
  const exe = await build('pipechain')
  const app = a.launch([exe])
  await app.waitLines(16)
  await a.checkpoint({ kill: true })
  await app.wait(20_000)
  const sent = nums(app.lines, 'sent')
  const got = nums(app.lines, 'got')
  const restarted = a.restart()
  await restarted.waitLines(16, 30_000)
  t.notOk(restarted.lines.some((l) => l.startsWith('BAD')), `no record lost or repeated: ${restarted.lines.slice(0, 8).join(' | ')}`)
  t.equal(nums(restarted.lines, 'sent')[0], sent.at(-1)! + 1, 'the parent sends the next record')
  t.equal(nums(restarted.lines, 'got')[0], got.at(-1)! + 1, 'the child reads the next record (the ones in flight came back)')
  // the restored child is the restored parent's child in the kernel's eyes
  const ppid = (pid: number) => {
    const st = readFileSync(`/proc/${pid}/stat`, 'latin1')
    return Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1])
  }
  const tagged = a.tagged().map((pid) => procInfo(pid)).filter((p) => p.cmd.includes('pipechain'))
  const pids = new Set(tagged.map((p) => p.pid))
  const pairs = tagged.map((p) => [p.pid, ppid(p.pid)])
  t.equal(tagged.length, 2, 'two restored processes')
  t.ok(pairs.some(([, pp]) => pids.has(pp!)), `one is the other's parent: ${JSON.stringify(pairs)}`)
})
