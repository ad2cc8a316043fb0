/**
 * `npm run demo`: the whole cycle on a tiny C counter, through the real CLI — launch, checkpoint
 * --kill, restart — and a check that the count went on without a gap or a repeat.
 * The counter's output goes to stdout untouched; the demo's own narration goes to stderr.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const cli = join(dirname(fileURLToPath(import.meta.url)), 'cli.js');

const COUNTER_C = `#include <stdio.h>
#include <time.h>

/* Prints 1 2 3 ... one per 0.2 s. All its state is in memory: a restored counter must go on
   from exactly where it was checkpointed. */
int main(void) {
  struct timespec tick = { 0, 200 * 1000 * 1000 };
  for (unsigned long n = 1;; n++) {
    printf("%lu\\n", n);
    fflush(stdout);
    nanosleep(&tick, NULL);
  }
}
`;

function say(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** Echoes the child's stdout lines to ours and collects the numbers. */
function follow(child: ChildProcess, into: number[], onNumber: () => void): void {
  if (child.stdout === null) return;
  createInterface({ input: child.stdout }).on('line', (line) => {
    process.stdout.write(`${line}\n`);
    const n = Number(line.trim());
    if (line.trim() !== '' && Number.isInteger(n)) {
      into.push(n);
      onNumber();
    }
  });
}

function waitCount(child: ChildProcess, nums: number[], want: number, ms: number, what: string): Promise<void> {
  return new Promise((res, rej) => {
    const check = (): void => {
      if (nums.length >= want) done(res);
    };
    const timer = setTimeout(() => done(() => rej(new Error(`${what}: only ${nums.length} numbers after ${ms / 1000} s`))), ms);
    const onExit = (code: number | null, sig: string | null): void =>
      done(() => rej(new Error(`${what}: exited (${code ?? sig}) after ${nums.length} numbers`)));
    const done = (f: () => void): void => {
      clearTimeout(timer);
      clearInterval(poll);
      child.off('exit', onExit);
      f();
    };
    const poll = setInterval(check, 20);
    child.on('exit', onExit);
    check();
  });
}

function exitOf(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : once(child, 'exit').then(() => undefined);
}

async function main(): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'amber-demo-'));
  const children: ChildProcess[] = [];
  try {
    await writeFile(join(dir, 'counter.c'), COUNTER_C);
    await run('cc', ['-O1', '-o', 'counter', 'counter.c'], { cwd: dir });
    say(`amber demo: launching a counter in ${dir}`);

    const before: number[] = [];
    const launched = spawn(process.execPath, [cli, 'launch', '--dir', dir, '--', join(dir, 'counter')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(launched);
    follow(launched, before, () => undefined);
    await waitCount(launched, before, 5, 20_000, 'amber launch');

    const ck = await run(process.execPath, [cli, 'checkpoint', '--dir', dir, '--kill']).catch((e: { stderr?: string; message: string }) => {
      throw new Error(`amber checkpoint failed: ${e.stderr?.trim() || e.message}`);
    });
    await exitOf(launched);
    say(`amber demo: checkpoint written: ${ck.stdout.trim()}`);
    say('--- killed after checkpoint; restarting ---');

    const after: number[] = [];
    const restarted = spawn(process.execPath, [cli, 'restart', '--dir', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(restarted);
    follow(restarted, after, () => undefined);
    await waitCount(restarted, after, 3, 20_000, 'amber restart');
    restarted.kill('SIGTERM'); // forwarded to the restored counter
    await exitOf(restarted);

    const last = before[before.length - 1] ?? 0;
    const seq = [...before, ...after];
    const bad = seq.findIndex((n, i) => n !== i + 1);
    if (bad < 0) {
      say(`amber demo: OK — counted 1..${last} before the checkpoint and ${last + 1}..${seq.length} after the restart, no gap, no repeat`);
      return 0;
    }
    say(`amber demo: FAILED — expected ${bad + 1} but got ${seq[bad]} (before: ${before.join(' ')}; after: ${after.join(' ')})`);
    return 1;
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    say(`amber demo: FAILED — ${(e as Error).message}`);
    process.exit(1);
  },
);
