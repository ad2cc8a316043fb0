// The one-state corpus (test/corpus/, issues 10 and 11): one small program per piece of kernel
// state — a descriptor kind, a blocking system call, a process relation, a memory or IPC object.
// Each sets its state up, prints READY, waits for a line on stdin, then verifies the state is
// exactly what it set up (bytes and boundaries, flags read back, locks still excluding, events
// still firing, children reaped with the right status) and prints PASS or FAIL: <what differs>.
//
// For each program: a run WITHOUT amber (the sanity reference: a program that fails on its own is
// a bug in the program and fails this test whatever expect.json says), then under amber: launch,
// one live checkpoint (the program must not notice), checkpoint --kill, restart, the go line,
// PASS within the timeout. test/corpus/expect.json lists what amber is known to fail today: those
// run too and report as tap `todo` with the reason they failed; everything else must pass.
// A program that now passes but is still listed says so (flip it: remove it from expect.json).
//
// The programs run in two test files by name (test/corpus-fd.ts: descriptors, memory and IPC;
// test/corpus-proc.ts: the rest), each under its own time bound, side by side in \`npm test\`.
// CORPUS_ONLY=<regex> runs a subset; AMBER_TEST_AS=<user> runs every program and every amber
// command as that user (see test/helpers/amber.ts). At the end a table of every program's result.
import t, { type Test } from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { runAs } from './amber.js'
import { buildProgram, corpusDir, stageText, type Expectation, knownFailure, listPrograms, type Outcome, runPlain, runUnderAmber } from './corpus.js'

/**
 * The corpus programs whose names match `part`: one tap subtest each. ~110 programs, each two to
 * three seconds under amber on a quiet machine (plus a few that wait on purpose, and the known
 * hangs at their 10 s bound): 5 minutes or so on 2 cores. The bound below is per file; TAP_TIMEOUT
 * raises it (a machine shared with other test runs is slower).
 */
export function corpusSuite(part: RegExp): void {
  t.setTimeout(Math.max(900, Number(process.env.TAP_TIMEOUT ?? 0)) * 1000)

  const expect = JSON.parse(readFileSync(join(corpusDir, 'expect.json'), 'utf8')) as Record<string, string | Expectation>
  const unprivileged = runAs() !== null || process.getuid?.() !== 0
  const who = runAs()?.name ?? (process.getuid?.() === 0 ? 'root' : `uid ${process.getuid?.()}`)
  const programs = listPrograms().filter((p) => part.test(p.name))
  const rows: { name: string; result: string }[] = []
  // each result is also printed as it comes, so a run cut short still says what it saw
  const row = (t: Test, name: string, result: string) => {
    rows.push({ name, result })
    t.comment(`${name}: ${result}`)
  }
  const t0 = Date.now()

  for (const name of Object.keys(expect)) {
    if (name.startsWith('//') || !part.test(name)) continue
    if (!programs.some((p) => p.name === name) && !process.env.CORPUS_ONLY) t.fail(`expect.json names ${name}, which is not in test/corpus/`)
  }

  // compile everything first, two at a time (2 cores); each test then awaits its own binary
  let compiling = 0
  const turn: (() => void)[] = []
  async function limited<T>(fn: () => Promise<T>): Promise<T> {
    while (compiling >= 2) await new Promise<void>((r) => turn.push(r))
    compiling++
    try {
      return await fn()
    } finally {
      compiling--
      turn.shift()?.()
    }
  }
  const built = new Map(programs.map((p) => [p.name, limited(() => buildProgram(p))] as const))
  for (const b of built.values()) b.catch(() => {}) // reported by the program's own test

  for (const prog of programs) {
    const known = knownFailure(expect, prog.name, unprivileged)
    t.test(prog.name, async (t) => {
      let argv: string[]
      try {
        argv = await built.get(prog.name)!
      } catch (e) {
        t.fail((e as Error).message)
        row(t, prog.name, 'BUILD FAILED')
        return
      }
      const plain = await runPlain(argv)
      if (plain.verdict === 'fail') {
        t.fail(`without amber (a bug in the program): ${plain.detail}`)
        row(t, prog.name, `PROGRAM BROKEN: ${plain.detail}`)
        return
      }
      if (plain.verdict === 'skip') {
        row(t, prog.name, `skip (${plain.detail})`)
        t.pass(`SKIP: ${plain.detail}`, { skip: plain.detail })
        return
      }
      // a known failure gets a shorter bound per stage: every program here verifies in ~3 s, and a
      // hang of a known-broken state should not cost the suite 20 s a stage
      const under: Outcome = await runUnderAmber(argv, { timeoutMs: known ? 10_000 : 20_000 })
      const ms = `${(under.ms / 1000).toFixed(1)} s`
      t.comment(`${prog.name}: without amber ${(plain.ms / 1000).toFixed(1)} s; under amber ${ms}: ${stageText(under.stages)}`)
      if (under.verdict === 'skip') {
        // the program skipped only under amber: amber changed what it could set up
        t.fail(`skipped under amber but not without it: ${under.detail}`)
        row(t, prog.name, `FAIL (skipped only under amber: ${under.detail})`)
        return
      }
      if (known) {
        if (under.verdict === 'pass' && /^flaky/.test(known)) {
          row(t, prog.name, `pass this time (listed as ${known}) ${ms}`)
        } else if (under.verdict === 'pass') {
          t.comment(`${prog.name}: listed in expect.json (${known}) but PASSES now: remove it from the list`)
          row(t, prog.name, `pass (listed as known failure: flip it) ${ms}`)
        } else {
          row(t, prog.name, `todo: ${under.detail}`)
        }
        t.test(`under amber: ${under.verdict === 'pass' ? 'PASS' : under.detail}`, { todo: known }, async (t) => {
          t.equal(under.verdict, 'pass', under.detail || 'PASS after checkpoint, kill and restart')
        })
        return
      }
      row(t, prog.name, under.verdict === 'pass' ? `pass ${ms}` : `FAIL: ${under.detail}`)
      t.equal(under.verdict, 'pass', under.verdict === 'pass' ? `PASS after live checkpoint, checkpoint --kill and restart (${ms})` : under.detail)
    })
  }

  t.teardown(() => {
    const w = Math.max(...rows.map((r) => r.name.length), 8)
    const table = rows.map((r) => `${r.name.padEnd(w)}  ${r.result}`).join('\n')
    const count = (re: RegExp) => rows.filter((r) => re.test(r.result)).length
    console.log(
      `# corpus as ${who}: ${rows.length} programs, ${count(/^pass \d/)} pass, ${count(/^todo|^pass \D/)} known failures (todo; ` +
        `${count(/^pass \D/)} of them passed this run), ` +
        `${count(/^skip/)} skipped, ${count(/^(FAIL|PROGRAM|BUILD)/)} failing, in ${((Date.now() - t0) / 1000).toFixed(0)} s\n` +
        table.replace(/^/gm, '# '),
    )
    // the failures again, last: CI shows only the tail of a failing file's output
    const failing = rows.filter((r) => /^(FAIL|PROGRAM|BUILD)/.test(r.result))
    if (failing.length) console.log(`# corpus as ${who}: FAILING\n` + failing.map((r) => `# ${r.name}: ${r.result}`).join('\n'))
  })
}
