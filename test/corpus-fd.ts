// The one-state corpus, part 1: descriptors, memory and IPC objects (test/helpers/corpus-suite.ts).
import { corpusSuite } from './helpers/corpus-suite.js'

corpusSuite(/^(fd|mem|ipc)-/)
