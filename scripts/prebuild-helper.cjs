// prebuildify copies the addon and every *.so (so libamber.so rides along) but not executables:
// put the restorer next to them, where lib/native.ts looks for it.
'use strict';
const fs = require('fs');
const path = require('path');
const root = path.join(__dirname, '..');
const dest = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
fs.mkdirSync(dest, { recursive: true });
fs.copyFileSync(path.join(root, 'build', 'Release', 'amber-restart'), path.join(dest, 'amber-restart'));
fs.chmodSync(path.join(dest, 'amber-restart'), 0o755);
