// The one-state corpus, part 2: processes, signals, blocking system calls, threads, timers and the
// interpreted programs — everything not in test/corpus-fd.ts (test/helpers/corpus-suite.ts).
import { corpusSuite } from './helpers/corpus-suite.js'

corpusSuite(/^(?!(fd|mem|ipc)-)/)
