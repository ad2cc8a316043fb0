// Unix sockets of every type and naming (issue 11): a named datagram socket with messages queued
// from a named, an abstract and an unnamed sender (one empty), a named socket connected to it, a
// datagram and a seqpacket socketpair with queued messages, a seqpacket listener in the abstract
// namespace with an accepted and a pending connection, a stream socketpair half-closed after 3000
// bytes. Live checkpoint, then --kill and restart: every message whole and in order with its
// sender's name, names and peers kept, the pending connection accepted with its message, the
// half-close kept, and new messages flowing.
import t from 'tap'
import { sockStateAcrossRestart } from './helpers/sockstate.js'

t.test('Unix datagram, seqpacket and stream sockets keep names, peers, messages and half-closes', async (t) => {
  await sockStateAcrossRestart(t, 'sock_unix', { args: ['{base}'] })
})
