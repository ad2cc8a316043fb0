// A fork/exit storm checkpointed over and over (issue: races between processes that register or
// exit and a checkpoint in progress). A parent forks short-lived children one after the other
// and reaps each by the pid fork returned: 100 live checkpoints land anywhere in that loop (a
// child registering with the coordinator, parked in its hello, exited but not reaped, forked
// while its parent is being suspended), and none may fail, time out or disturb the program.
// Then `checkpoint --kill` and `restart`: the count goes on, no ECHILD, no wrong status.
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { runAs, setup, sleep } from './helpers/amber.js'
import { repoRoot } from './helpers/fixtures.js'

/** Runs test/helpers/checkpoint-loop.mjs as the computation's user; its output lines. */
function checkpointLoop(dir: string, count: number, budgetMs: number): Promise<string[]> {
  const who = runAs()
  const node = [process.execPath, join(repoRoot, 'test', 'helpers', 'checkpoint-loop.mjs'), dir, String(count), String(budgetMs)]
  const argv = who ? ['setpriv', `--reuid=${who.uid}`, `--regid=${who.gid}`, '--init-groups', '--', ...node] : node
  const env = { ...process.env }
  for (const k of Object.keys(env)) if (k === 'NODE_OPTIONS' || k.startsWith('TAP') || k.startsWith('_TAP') || k === 'NODE_V8_COVERAGE') delete env[k]
  return new Promise((res, rej) => {
    const c = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', ...argv], { env, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    c.stdout.on('data', (d: Buffer) => (out += d.toString()))
    c.on('error', rej)
    c.on('close', () => res(out.split('\n').filter((l) => l)))
  })
}

const LIVE = Number(process.env.FORKSTORM_LIVE ?? 100)

function counts(lines: string[]): number[] {
  return lines.filter((l) => l.startsWith('n ')).map((l) => Number(l.slice(2)))
}

// exit: children exit at once; sleep: they live 20 ms; spawn: posix_spawn (a vfork child sharing
// the parent's memory until it execs, then a new agent that registers) of a program exiting at once; shell: bash runs `sleep 0.05` in a loop
// (fork, exec of a new program whose agent registers again, exit).
const SHELL = 'i=0; while :; do sleep 0.05; i=$((i+1)); if [ $((i % 5)) = 0 ]; then echo "n $i"; fi; done'

for (const mode of ['exit', 'sleep', 'spawn', 'shell']) {
  t.test(`fork storm (${mode}): ${LIVE} live checkpoints, then --kill and restart`, async (t) => {
    const a = await setup(t)
    const exe = await build('forkstorm')
    const app = a.launch(mode === 'shell' ? ['/bin/bash', '-c', SHELL] : [exe, mode === 'sleep' ? '5' : '20', mode])
    await app.waitLines(2, 20_000)
    const t0 = Date.now()
    const out = await checkpointLoop(a.dir, LIVE, 50_000)
    const live = out.filter((l) => l.startsWith('ok ')).length
    t.same(out.filter((l) => !l.startsWith('ok ')), [], 'every live checkpoint succeeded')
    const bad = app.lines.find((l) => l.startsWith('ERR'))
    t.equal(bad, undefined, 'the program saw nothing of the live checkpoints')
    t.equal(app.exit, null, `the program runs on (stderr ${app.err.text().trim()})`)
    const slow = out.filter((l) => l.startsWith('ok ') && Number(l.split(' ')[2]) > 2000)
    t.ok(live >= Math.min(LIVE, 50), `${live} live checkpoints in ${((Date.now() - t0) / 1000).toFixed(1)} s (over 2 s: ${slow.join(', ') || 'none'})`)
    const before = counts(app.lines)
    t.ok(before.length > 0, `counted before the kill (last ${before.at(-1)})`)
    await a.checkpoint({ kill: true })
    await app.wait(20_000)
    const last = counts(app.lines).at(-1) ?? 0
    const restarted = a.restart()
    const deadline = Date.now() + 30_000
    while (counts(restarted.lines).length < 3 && restarted.exit === null && Date.now() < deadline) await sleep(100)
    const post = counts(restarted.lines)
    const errs = restarted.lines.filter((l) => l.startsWith('ERR'))
    // (a child that had exited but was not reaped at the checkpoint is made again as a zombie,
    // proc/zombie.cc: its parent's waitpid finds it)
    t.same(errs, [], 'no error after the restart')
    t.ok(post.length >= 3, `counting after restart: ${post.slice(0, 5).join(' ')} (stderr ${restarted.err.text().trim()})`)
    t.ok(post.length > 0 && post[0]! > last, `continued past ${last}: first after restart ${post[0]}`)
    t.equal(restarted.exit, null, 'the restored program is still running')
  })
}

// A checkpoint --kill that lands while a child is between its fork and the exec of a new program,
// or inside that exec (the old agent's connection closes, the new program's agent says hello), or
// while the parent is inside waitpid's wrapper: the child must be in the generation and the
// parent's waitpid must find it after the restart. Ten kill/restart cycles in a row, each at
// another place in the loop; the fork/exec loop checks every child's status and stops at the
// first wrong one (a lost child: waitpid says ECHILD).
t.test('fork+exec storm: 10 kill/restart cycles, the parent never loses a child', async (t) => {
  const a = await setup(t)
  const exe = await build('forkstorm')
  let run = a.launch([exe, '20', 'exec'])
  await run.waitLines(2, 20_000)
  const CYCLES = 10
  let done = 0
  for (let c = 1; c <= CYCLES; c++) {
    await sleep(100 + Math.floor(Math.random() * 400))
    await a.checkpoint({ kill: true })
    await run.wait(20_000)
    const errs = run.lines.filter((l) => l.startsWith('ERR'))
    if (errs.length) {
      t.fail(`cycle ${c}: ${errs.join('; ')}`)
      break
    }
    const last = counts(run.lines).at(-1) ?? 0
    run = a.restart()
    await run.waitFor((l) => counts(l).length > 0 || l.some((x) => x.startsWith('ERR')) || undefined, 30_000, 'counting after restart')
    const first = counts(run.lines)[0]
    if (!(first !== undefined && first > last)) {
      t.fail(`cycle ${c}: counting went on from ${first} after ${last}; ${run.lines.slice(0, 3).join(' | ')}`)
      break
    }
    done = c
  }
  t.equal(done, CYCLES, `${done} of ${CYCLES} kill/restart cycles, every child found by its parent`)
  await a.checkpoint({ kill: true }).catch(() => undefined)
  await run.wait(20_000).catch(() => run.kill())
})
