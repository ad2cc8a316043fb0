// One source of truth for the native build, read by binding.gyp (node-gyp, prebuildify),
// CMakeLists.txt (cmake-js, sanitizers, unit tests) and test/native/build.sh:
//
//   node scripts/native-build.cjs sources agent|restorer|addon   source files, one per line
//   node scripts/native-build.cjs include                          include directories
//
// Sources are taken by folder, so adding a kind of state is adding a file to its folder (see
// src-native/README.md), never editing three build files in step.
//
// xxhash comes from the npm package xxhash-addon, which ships xxHash's own xxhash.h (we use it
// header-only, XXH_INLINE_ALL): `npm install` then needs no libxxhash-dev on the machine.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const rel = (p) => path.relative(root, p).split(path.sep).join('/');

// Which folders of src-native/ go into which artifact. A file in a shared folder is compiled into
// each artifact that lists the folder, with AMBER_AGENT, AMBER_RESTORER or AMBER_ADDON defined.
// One folder per mechanism (src-native/README.md): fd (descriptors, one kind per file), mem
// (memory), ipc (SysV and POSIX IPC objects), proc (process-wide state and the process tree), thread; each file holds both halves;
// syscall (calls interrupted by a checkpoint) lives in the agent only.
const TARGETS = {
  agent: ['agent', 'pid', 'fd', 'mem', 'ipc', 'proc', 'thread', 'syscall'],
  restorer: ['restore', 'fd', 'mem', 'ipc', 'proc', 'thread'],
  addon: ['addon', 'image'],
};
// Files that are not for a target even though their folder is (the reader is host-only C++ the
// freestanding restorer cannot link; the restorer includes validate.h instead).
const EXCLUDE = {
  agent: [],
  restorer: [],
  addon: [],
};
// The restorer has no libc: a file of a shared folder that only makes sense in the agent says so
// by its name ending in `.agent.cc`, and one only for the restorer in `.restore.cc`.
const ONLY = { agent: '.agent.', restorer: '.restore.' };

function sources(target) {
  const dirs = TARGETS[target];
  if (!dirs) throw new Error(`unknown target ${target}: one of ${Object.keys(TARGETS).join(', ')}`);
  const out = [];
  for (const d of dirs) {
    const dir = path.join(root, 'src-native', d);
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir).sort()) {
      if (!/\.(cc|S)$/.test(f)) continue;
      const p = rel(path.join(dir, f));
      if (EXCLUDE[target].includes(p)) continue;
      // a file marked for the other side of a shared folder
      const other = Object.entries(ONLY).filter(([t]) => t !== target).map(([, m]) => m);
      if (other.some((m) => f.includes(m))) continue;
      out.push(p);
    }
  }
  return out;
}

function xxhashInclude() {
  let pkg;
  try {
    pkg = path.dirname(require.resolve('xxhash-addon/package.json', { paths: [root] }));
  } catch {
    throw new Error('amber: the npm package xxhash-addon (which carries xxhash.h) is not installed: run npm install');
  }
  return path.join(pkg, 'xxHash');
}

function include() {
  return [rel(path.join(root, 'src-native')), rel(path.join(root, 'src-native', 'include')), xxhashInclude()];
}

if (require.main === module) {
  const [cmd, arg] = process.argv.slice(2);
  try {
    if (cmd === 'sources') process.stdout.write(sources(arg).join('\n') + '\n');
    else if (cmd === 'include') process.stdout.write(include().join('\n') + '\n');
    else throw new Error('usage: native-build.cjs sources agent|restorer|addon | include');
  } catch (e) {
    process.stderr.write(`${e.message}\n`);
    process.exit(2);
  }
}

module.exports = { sources, include, TARGETS };
