// Runs before the native build: say plainly which system package is missing instead of letting
// the compiler fail with "xxhash.h: No such file or directory" deep in a node-gyp log.
'use strict';
const fs = require('fs');
const need = [
  ['/usr/include/xxhash.h', 'libxxhash-dev'],
];
const missing = need.filter(([f]) => !fs.existsSync(f)).map(([, p]) => p);
if (missing.length && !process.env.AMBER_SKIP_DEP_CHECK) {
  console.error(`amber: missing system packages: ${missing.join(' ')}\n` +
    `amber: install them with: sudo apt-get install ${missing.join(' ')}`);
  process.exit(1);
}
