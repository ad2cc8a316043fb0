#!/usr/bin/env node
/**
 * A small stand-alone entry for `amber job` and `amber sbatch-example` until lib/cli.ts routes
 * them: `node dist/lib/job-cli.js job [...] -- CMD` / `node dist/lib/job-cli.js sbatch-example`.
 */
import { UsageError, toAmberError } from './errors.js';
import { jobMain, sbatchExampleMain } from './job.js';

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === 'job') return jobMain(rest);
  if (cmd === 'sbatch-example') return sbatchExampleMain(rest);
  throw new UsageError(`unknown command ${JSON.stringify(cmd ?? '')} (job or sbatch-example)`);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    const ae = toAmberError(e);
    process.stderr.write(`amber: ${ae.message}\n`);
    process.exit(ae.exitCode);
  },
);
