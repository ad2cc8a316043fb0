// Socket options (issue 11): what a program set on a TCP connection (both ends), a TCP listener,
// an IPv6 listener, a UDP socket and a Unix socketpair — keepalive and its timers, TCP_NODELAY,
// buffer sizes, SO_LINGER, timeouts, TCP_USER_TIMEOUT, TOS/TTL/priority, TCP_DEFER_ACCEPT,
// TCP_FASTOPEN, IPV6_V6ONLY, SO_BROADCAST, IP_PKTINFO, SO_PASSCRED, ... — reads back the same
// after the live checkpoint and after --kill + restart, and the sockets still carry data.
import t from 'tap'
import { sockStateAcrossRestart } from './helpers/sockstate.js'

t.test('socket options read back identical after restart', async (t) => {
  await sockStateAcrossRestart(t, 'sock_opts')
})
