// A TCP server and client launched separately into one computation (two `amber launch`es: two
// process trees, two restorers). Neither restorer holds both ends, so restart makes the new
// connection itself and hands one end to each (lib/sockets.ts); the counted stream must go on in
// both directions with no gap and no repeat, with the bytes that were waiting delivered once.
import { join } from 'node:path'
import { existsSync } from 'node:fs'
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { setup } from './helpers/amber.js'

const nums = (lines: string[], tag: string) => lines.filter((l) => l.startsWith(`${tag} `)).map((l) => Number(l.split(' ')[1]))

t.test('a connection between two launched programs is rebuilt across restart', async (t) => {
  const a = await setup(t)
  const exe = await build('tcpsplit')
  const portFile = join(a.base, 'port')
  const server = a.launch([exe, 'server', portFile])
  for (let i = 0; i < 300 && !existsSync(portFile); i++) await new Promise((r) => setTimeout(r, 100))
  t.ok(existsSync(portFile), `the server listens (${server.lines.join(' | ')})`)
  const client = a.launch([exe, 'client', portFile])
  await client.waitFor((l) => nums(l, 'echo').length >= 10 || undefined, 30_000, '10 echoes')
  const ck = await a.run(['checkpoint', '--dir', a.dir, '--kill', '--json'])
  t.equal(ck.code, 0, `checkpoint succeeds (${ck.stderr})`)
  t.notMatch(ck.stderr, /will not be restored/, 'neither end reported unrestorable')
  t.equal((JSON.parse(ck.stdout) as { images: string[] }).images.length, 2, 'two images')
  await server.wait(20_000)
  await client.wait(20_000)
  const before = { got: nums(server.lines, 'got'), echo: nums(client.lines, 'echo') }

  const restarted = a.restart()
  await restarted.waitFor((l) => nums(l, 'echo').length >= 5 || undefined, 30_000, '5 echoes after restart')
  const lines = restarted.lines
  t.notOk(lines.some((l) => l.startsWith('BAD')), `no gap, no repeat: ${lines.slice(0, 9).join(' | ')}`)
  t.notOk(restarted.err.lines.some((l) => l.includes('becomes /dev/null')), `no socket became /dev/null: ${restarted.err.lines.join(' | ')}`)
  t.equal(nums(lines, 'got')[0], before.got.at(-1)! + 1, 'the server receives the next number')
  t.equal(nums(lines, 'echo')[0], before.echo.at(-1)! + 1, 'the client receives the next echo')
})
