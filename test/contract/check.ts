// Compile-time check that lib/ (what runs) satisfies types/index.d.ts (the published contract).
// Compiled by test/types-contract.ts with `tsc --noEmit`; it never runs. Each line fails to
// compile if the implementation drifts from the contract: a missing export, a changed parameter,
// a narrower result.
import type * as C from '../../types/index.js';
import * as L from '../../lib/index.js';

// functions: the implementation must be usable wherever the contract's signature is promised
// (options that hold a Coordinator are compared without it: a class with private members is
// nominal, so the declared class and the implementation are never the same type)
type NoCoord<T> = Omit<T, 'coordinator'>;
export function launch(argv: string[], o: NoCoord<C.LaunchOptions>): Promise<Omit<C.Job, 'coordinator'>> {
  return L.launch(argv, o);
}
export function restart(target: string, o: NoCoord<C.RestartOptions>): Promise<Omit<C.RestartJob, 'coordinator' | 'processes'>> {
  return L.restart(target, o);
}
export const checkpoint: typeof C.checkpoint = L.checkpoint;
export const status: typeof C.status = L.status;
export const plugins: typeof C.plugins = L.plugins;
export const readImage: typeof C.readImage = L.readImage;
export const verifyImage: typeof C.verifyImage = L.verifyImage;
export const readManifest: typeof C.readManifest = L.readManifest;
export const agentPath: typeof C.agentPath = L.agentPath;
export const restorerPath: typeof C.restorerPath = L.restorerPath;
export const exitCodeOf: typeof C.exitCodeOf = L.exitCodeOf;

// classes: constructors and every public member the contract names
export const start: typeof C.Coordinator.start = L.Coordinator.start;
type Members<T> = { [K in keyof T]: T[K] };
export function coordinatorMembers(x: L.Coordinator): Omit<Members<C.Coordinator>, 'on' | 'once' | 'off' | 'emit' | 'addListener' | 'removeListener' | 'prependListener' | 'prependOnceListener'> {
  return x;
}
export const amberError: new (code: string, message: string, opts?: C.AmberErrorOptions) => C.AmberError = L.AmberError;
export const usageError: new (message: string) => C.UsageError = L.UsageError;

// data shapes: what lib produces is what the contract describes, both ways
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const shapes: [
  Same<L.ImageInfo, C.ImageInfo>,
  Same<L.Manifest, C.Manifest>,
  Same<L.ProcessInfo, C.ProcessInfo>,
  Same<L.StatusResult, C.StatusResult>,
  Same<L.CheckpointResult, C.CheckpointResult>,
  Same<L.PluginEvent, C.PluginEvent>,
  Same<L.PluginsResult, C.PluginsResult>,
  Same<L.RestartResult, C.RestartResult>,
] = [true, true, true, true, true, true, true, true];
