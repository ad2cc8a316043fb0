/**
 * amber's public API. Its declarations are generated from lib/ (dist/lib/index.d.ts, the published
 * typed contract; types/index.d.ts re-exports them): what is exported here, with its doc comments,
 * is the contract. The library prints nothing: it reports through events, errors and
 * `util.debuglog('amber')` (NODE_DEBUG=amber).
 */
export { Coordinator } from './coordinator.js';
export type {
  CoordinatorOptions,
  CheckpointOptions,
  ExpectRestartOptions,
  CoordinatorEvents,
  SuspendEvent,
  ResumeEvent,
} from './coordinator.js';
export { launch, exitCodeOf } from './launch.js';
export type { LaunchOptions, Job } from './launch.js';
export { restart } from './restart.js';
export { MAX_COPIES } from './restart.js';
export type { RestartOptions, RestartCopiesOptions, RestartJob, RestartCopy, RestartCopies } from './restart.js';
export { checkpoint, status, plugins } from './client.js';
export type { ClientOptions } from './client.js';
export { readImage, verifyImage } from './image.js';
export { readManifest } from './manifest.js';
export { AmberError, UsageError } from './errors.js';
export type { AmberErrorOptions } from './errors.js';
export { agentPath, restorerPath } from './native.js';
export type * from './types.js';
