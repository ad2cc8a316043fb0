// Descriptors in flight inside Unix sockets (issue 11, SCM_RIGHTS — how servers and MPI runtimes
// pass sockets around): a stream queue holding plain bytes and messages that carry a pipe that
// exists only in flight, a file at an offset, a socket whose other end the program holds and an
// eventfd; a datagram queue holding a TCP connection; and a child that passes a new pipe every
// tick. Live checkpoint, then --kill and restart: every message in order with its descriptors,
// each working (the pipe's bytes then end-of-file, the file's offset, both sockets reaching their
// other ends, the eventfd's count), and the passing goes on after the restart.
import t from 'tap'
import { sockStateAcrossRestart } from './helpers/sockstate.js'

t.test('descriptors in flight inside Unix sockets come back with their messages', async (t) => {
  await sockStateAcrossRestart(t, 'sock_scm')
})
