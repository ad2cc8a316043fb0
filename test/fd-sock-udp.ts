// UDP and UDP-Lite sockets (issue 11): a bound socket with datagrams queued from several senders
// (one of them closed since; one datagram empty, one 60000 bytes), a connected and an unbound
// socket, a dual-stack IPv6 socket holding a datagram from an IPv4 sender, a UDP-Lite socket with
// its checksum-coverage options. Live checkpoint, then --kill and restart: every datagram in order,
// whole, from the same address and port; connections, options and ports kept; traffic goes on.
import t from 'tap'
import { sockStateAcrossRestart } from './helpers/sockstate.js'

t.test('UDP and UDP-Lite sockets keep their queues, senders, peers and options', async (t) => {
  await sockStateAcrossRestart(t, 'sock_udp')
})
