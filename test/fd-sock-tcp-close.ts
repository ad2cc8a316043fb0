// TCP connections in closing states and over IPv4-mapped IPv6 (issue 11): a connection the peer
// half-closed after sending (CLOSE_WAIT), one we half-closed (FIN_WAIT2) whose bytes the peer has
// not read, one whose peer closed altogether, and an AF_INET client of a dual-stack AF_INET6
// server carrying a counted echo stream. After the live checkpoint and after --kill + restart:
// the remaining bytes then end-of-file, the open direction still working, a write to the closed
// one failing as it would (EPIPE/ECONNRESET) — no hang —, the v4-mapped addresses kept and the
// stream going on with no gap.
import t from 'tap'
import { sockStateAcrossRestart } from './helpers/sockstate.js'

t.test('half-closed, closing and v4-mapped TCP connections survive', async (t) => {
  await sockStateAcrossRestart(t, 'sock_tcp_close')
})
