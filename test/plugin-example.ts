// The example plugin (examples/plugin-sleep) end to end, with the real agent and restorer:
// it wraps sleep(3) (listed by `plugins`), its hooks reach the coordinator's typed `plugin` event
// stream, and at restart it publishes a key that the coordinator then holds. The application keeps
// counting across the restart, and the plugin's own state (its sleep counter, inside the image)
// carries on too.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Coordinator, launch, restart } from '../lib/index.js';
import type { PluginEvent } from '../lib/index.js';

const root = resolve(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'amber-plugin-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const plugin = join(dir, 'sleep_plugin.so');
execFileSync('cc', ['-shared', '-fPIC', '-O2', '-Wall', '-Werror', '-I', join(root, 'src-native/include'),
  '-o', plugin, join(root, 'examples/plugin-sleep/sleep_plugin.c')]);
const app = join(dir, 'sleeper');
writeFileSync(`${app}.c`, `#include <stdio.h>
#include <unistd.h>
int main(void) { setvbuf(stdout, 0, _IOLBF, 0); for (int i = 1; i <= 1000; i++) { printf("%d\\n", i); sleep(1); } return 0; }
`);
execFileSync('cc', ['-O1', '-o', app, `${app}.c`]);

function lines(stream: NodeJS.ReadableStream, into: number[]) {
  let buf = '';
  stream.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      into.push(Number(buf.slice(0, i)));
      buf = buf.slice(i + 1);
    }
  });
}

async function until(cond: () => boolean, ms = 15000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('wraps, hooks, publish at restart', async (t) => {
  const coord = await Coordinator.start({ dir });
  t.teardown(() => coord.close());
  const events: PluginEvent[] = [];
  coord.on('plugin', (e: PluginEvent) => events.push(e));
  const seen: number[] = [];
  const job = await launch([app], { coordinator: coord, plugins: [plugin], stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => { try { job.kill('SIGKILL'); } catch { /* gone */ } });
  lines(job.stdout!, seen);
  await until(() => seen.length >= 2);

  // What the process loaded and wraps, as `amber plugins` shows it.
  await until(() => coord.plugins().processes.some((p) => p.plugins.length > 0));
  const listed = coord.plugins().processes[0]!.plugins[0]!;
  t.equal(listed.name, 'sleep-example');
  t.same(listed.wraps, ['sleep']);

  const gen = await coord.checkpoint({ kill: true });
  const before = seen[seen.length - 1]!;
  await job.exited;
  const names = events.filter((e) => e.plugin === 'sleep-example').map((e) => e.name);
  t.ok(names.includes('presuspend'), 'PRESUSPEND hook reported');
  t.ok(names.includes('precheckpoint'), 'PRECHECKPOINT hook reported');
  t.ok(names.includes('write'), 'WRITE hook reported');
  const sleepsAtCkpt = Number(events.filter((e) => e.name === 'write').pop()!.data.replace('sleeps=', ''));
  t.ok(sleepsAtCkpt >= 1, 'the wrapper counted the application\'s sleeps');
  await coord.close();

  const coord2 = await Coordinator.start({ dir });
  t.teardown(() => coord2.close());
  const events2: PluginEvent[] = [];
  coord2.on('plugin', (e: PluginEvent) => events2.push(e));
  const after: number[] = [];
  const again = await restart(gen.manifest, { coordinator: coord2, stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => { try { again.kill('SIGKILL'); } catch { /* gone */ } });
  lines(again.stdout!, after);
  await until(() => after.length >= 2);
  t.equal(after[0], before + 1, 'the application continued where the checkpoint left it');
  const restartEv = events2.find((e) => e.plugin === 'sleep-example' && e.name === 'restart');
  t.ok(restartEv, 'RESTART hook reported');
  const restartSleeps = Number(restartEv!.data.replace('sleeps=', ''));
  t.equal(restartSleeps, sleepsAtCkpt, 'the plugin\'s own state came back with the image');
  const vpid = coord2.processes()[0]!.vpid;
  const published = coord2.lookup(`sleep-example/restarted/${vpid}`);
  t.ok(published, 'the plugin published its key at restart');
  t.equal(published!.toString(), `sleeps=${sleepsAtCkpt}`);
  again.kill('SIGKILL');
  await again.exited;
});
