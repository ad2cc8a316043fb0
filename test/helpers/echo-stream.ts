// Shared by the socket tests: a fixture whose client sends a counted stream to a server that
// echoes it (prints "sent N", "got N", "echo N", or "BAD ..."); checkpoint --kill, restart, and
// the stream must go on in both directions with no gap and no repeat.
import { build } from './fixtures.js'
import { setup, type TestLike } from './amber.js'

interface Asserts extends TestLike {
  equal(a: unknown, b: unknown, msg?: string): void
  ok(v: unknown, msg?: string): void
  notOk(v: unknown, msg?: string): void
  notMatch(v: unknown, re: RegExp, msg?: string): void
}

const nums = (lines: string[], tag: string) =>
  lines.filter((l) => l.startsWith(`${tag} `)).map((l) => Number(l.split(' ')[1]))

export async function echoStreamAcrossRestart(t: Asserts, fixture: string): Promise<void> {
  const a = await setup(t)
  const exe = await build(fixture)
  const app = a.launch([exe])
  await app.waitLines(15)
  const ck = await a.run(['checkpoint', '--dir', a.dir, '--kill'])
  t.equal(ck.code, 0, 'checkpoint succeeds')
  t.notMatch(ck.stderr, /will not be restored/, 'no descriptor reported unrestorable: both ends are ours')
  await app.wait(20_000)
  const before = { got: nums(app.lines, 'got'), echo: nums(app.lines, 'echo') }
  const restarted = a.restart()
  await restarted.waitLines(18, 30_000)
  const lines = restarted.lines
  t.notOk(lines.some((l) => l.startsWith('BAD')), `no gap, no repeat: ${lines.slice(0, 9).join(' | ')}`)
  const after = { sent: nums(lines, 'sent'), got: nums(lines, 'got'), echo: nums(lines, 'echo') }
  t.ok(after.got.length >= 3 && after.echo.length >= 3, 'both directions carry data after restart')
  t.equal(after.got[0], before.got.at(-1)! + 1, 'the server receives the next number')
  t.equal(after.echo[0], before.echo.at(-1)! + 1, 'the client receives the next echo')
  t.ok(after.sent.every((n, i) => i === 0 || n === after.sent[i - 1]! + 1), 'the client keeps counting')
}
