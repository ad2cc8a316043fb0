// TCP sockets that are not connections yet (issue 11): a listener with connections waiting to be
// accepted (with and without bytes), two SO_REUSEPORT listeners on one port, an IPv4 and an
// IPv6-only listener on one port (the pair Open MPI opens: without IPV6_V6ONLY the second bind
// fails with EADDRINUSE), a bound-only and an unconnected socket, an accepted connection. Live
// checkpoint, then --kill and restart: same ports, options, pending connections accepted in order
// with their bytes, every listener taking new connections, and the count goes on.
import t from 'tap'
import { sockStateAcrossRestart } from './helpers/sockstate.js'

t.test('listeners, pending connections, bound and unconnected TCP sockets survive', async (t) => {
  await sockStateAcrossRestart(t, 'sock_tcp_listen')
})
