// Connections whose other end is outside the computation (issue 11): a TCP and a Unix stream
// connection to servers this test runs itself (not under amber), each holding the server's
// greeting. They cannot be rebuilt — their peer is not restored — so the checkpoint names them
// (the live one and the one that ends the program), and after restart each descriptor is a dead
// connection, not /dev/null: the waiting bytes, then ECONNRESET (TCP) or end-of-file (Unix), and
// EPIPE on write. The program goes on counting.
import { chmodSync } from 'node:fs'
import net from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { sockStateAcrossRestart } from './helpers/sockstate.js'
import { runAs } from './helpers/amber.js'

t.test('connections to peers outside the computation: named at checkpoint, dead (not /dev/null) at restart', async (t) => {
  const conns: net.Socket[] = []
  const greet = (text: string) => (c: net.Socket) => {
    conns.push(c)
    c.on('error', () => {})
    c.write(text)
  }
  const tcp = net.createServer(greet('greeting-tcp'))
  await new Promise<void>((r) => tcp.listen({ host: '127.0.0.1', port: 0 }, r))
  const unixServer = net.createServer(greet('greeting-unix'))
  const dir = process.env.AMBER_TEST_TMP ?? '/tmp'
  const path = join(dir, `amber-remote-${process.pid}.sock`)
  await new Promise<void>((r) => unixServer.listen(path, r))
  if (runAs()) chmodSync(path, 0o777)
  t.teardown(() => {
    for (const c of conns) c.destroy()
    tcp.close()
    unixServer.close()
  })
  const port = (tcp.address() as net.AddressInfo).port
  const twice = /its other end is not part of the computation[\s\S]*its other end is not part of the computation/
  const r = await sockStateAcrossRestart(t, 'sock_remote', { args: [String(port), path], warnings: twice })
  t.match(r?.liveStderr ?? '', twice, 'the live checkpoint names both connections')
  t.notOk(r?.restarted.err.lines.some((l) => /dev\/null/.test(l)), 'nothing becomes /dev/null')
})
