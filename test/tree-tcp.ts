// A TCP client/server pair, two processes of the computation talking over loopback (issue 3):
// after checkpoint --kill and restart their connection is rebuilt (bytes waiting to be read come
// back once) and the counted stream goes on in both directions with no gap and no repeat.
import t from 'tap'
import { echoStreamAcrossRestart } from './helpers/echo-stream.js'

t.test('TCP client and server keep exchanging a counted stream across restart', (t) => echoStreamAcrossRestart(t, 'tcppair'))
