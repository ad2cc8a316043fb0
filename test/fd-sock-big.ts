// Socket buffers filled to the brim (issue 11: "restart refuses an image amber itself just wrote
// ... with a program with large socket buffers"): two socketpairs holding several MiB each (more
// than the image's old fixed string space), a 1 MiB datagram, and a loopback TCP connection whose
// receive and send queues are both full. Live checkpoint, then --kill and restart: the image is
// accepted and every byte comes back in order — the TCP send queue too, read into the image by the
// receiving end because that checkpoint ends the program.
import t from 'tap'
import { sockStateAcrossRestart } from './helpers/sockstate.js'

t.test('full socket buffers survive a checkpoint and come back byte for byte', async (t) => {
  // The live checkpoint cannot save what the TCP send queue holds: it says so.
  const r = await sockStateAcrossRestart(t, 'sock_big')
  t.match(r?.liveStderr ?? '', /bytes in its send queue cannot be saved without CAP_NET_ADMIN/, 'the live checkpoint names the send queue it cannot save')
})
