// The public typed contract of `amber` is generated from lib/ (tsc `declaration: true`) into
// dist/lib/*.d.ts (ESM) and dist/cjs/lib/*.d.ts (CommonJS); package.json's `types` and
// `exports["."]` point there. lib/ is the one place the types are written. This file only
// re-exports them for readers and tools that look in types/; test/types-contract.ts checks that
// the declarations consumers get still have the expected shape.
export * from '../dist/lib/index.js';
