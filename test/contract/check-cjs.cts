// The same package seen by a CommonJS consumer (`require('amber')`): package.json's "require"
// condition must lead to declarations too (dist/cjs/lib/index.d.ts), with the same API. Compiled
// with check.ts by test/types-contract.ts; never runs.
import amber = require('amber');
import type * as esm from 'amber' with { 'resolution-mode': 'import' };

export async function consumer(): Promise<number> {
  const c: amber.Coordinator = await amber.Coordinator.start({ dir: '/ck', listen: '127.0.0.1:0' });
  const job: amber.Job = await amber.launch(['./app'], { coordinator: c, plugins: ['./p.so'] });
  const r: amber.CheckpointResult = await c.checkpoint({ kill: true });
  const s: amber.StatusResult = await amber.status({ dir: '/ck' });
  const again: amber.RestartJob = await amber.restart(r.manifest, { coordinator: c });
  const e: amber.AmberError = new amber.AmberError('EINVAL', 'bad');
  await c.close();
  return amber.exitCodeOf(await job.exited) + s.processes.length + again.processes.length + e.exitCode;
}

// the data shapes are the same in both module systems (classes — Coordinator, AmberError — are
// nominal, so what holds them is compared by use above)
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const shapes: [
  Same<amber.ImageInfo, esm.ImageInfo>,
  Same<amber.Manifest, esm.Manifest>,
  Same<amber.StatusResult, esm.StatusResult>,
  Same<amber.CheckpointResult, esm.CheckpointResult>,
  Same<amber.ClientOptions, esm.ClientOptions>,
  Same<Omit<amber.LaunchOptions, 'coordinator' | 'onCoordinatorError'>, Omit<esm.LaunchOptions, 'coordinator' | 'onCoordinatorError'>>,
  Same<Omit<amber.RestartOptions, 'coordinator' | 'onCoordinatorError'>, Omit<esm.RestartOptions, 'coordinator' | 'onCoordinatorError'>>,
  Same<amber.CoordinatorOptions, esm.CoordinatorOptions>,
] = [true, true, true, true, true, true, true, true];
