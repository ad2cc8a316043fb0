// The cycle every descriptor-state test runs (issue 11): a program that checks its state on every
// tick and prints "tick N ok" (or "BAD: what"), checkpointed once live (it must not notice) and
// once with --kill, then restarted (it must go on from the very tick it was at).
import { type Amber, type Checkpoint, checkpointKillRestart, type Proc } from './amber.js'

export interface Cycle {
  live: Checkpoint & { warnings?: string[] }
  ck: Checkpoint & { warnings?: string[] }
  before: string[]
  restarted: Proc
}

/** `tick N ...` lines as N. */
export function ticks(lines: string[]): number[] {
  return lines.map((l) => /^tick (\d+)/.exec(l)).filter((m) => m !== null).map((m) => Number(m![1]))
}

export function bads(lines: string[]): string[] {
  return lines.filter((l) => l.startsWith('BAD'))
}

/** Live checkpoint after `ready` lines, `more` lines later checkpoint --kill and restart, `more` lines from the restored program. */
export async function liveThenRestart(a: Amber, app: Proc, opts: { exe: string; ready?: number; more?: number }): Promise<Cycle> {
  const more = opts.more ?? 5
  await app.waitLines(opts.ready ?? 3)
  const live = await a.checkpoint()
  const n = app.lines.length
  await app.waitLines(n + more)
  const { ck, before, restarted } = await checkpointKillRestart(a, app, { after: more, exe: opts.exe })
  return { live, ck, before, restarted }
}
