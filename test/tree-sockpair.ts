// A parent and child talking over a socketpair (issue 3; what multiprocessing libraries do): after
// checkpoint --kill and restart the pair is rebuilt with the bytes waiting to be read, and the
// counted stream goes on in both directions with no gap and no repeat.
import t from 'tap'
import { echoStreamAcrossRestart } from './helpers/echo-stream.js'

t.test('socketpair ends keep exchanging a counted stream across restart', (t) => echoStreamAcrossRestart(t, 'sockpair'))
