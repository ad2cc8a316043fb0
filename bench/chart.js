// Figures of a bench/results.json side by side, per tool: as rows for the printed table and as an
// SVG chart (bench/results.svg). Both come from figures() below, so the table and the chart can
// never disagree. Plain string building, no dependency; the SVG carries its own styling (inline
// attributes, a generic font family, a white background) so it renders the same anywhere.
import { median } from './lib.js'

const COLOR = { baseline: '#8c8c8c', amber: '#e69f00', 'amber-stopped': '#f3c86b', criu: '#0072b2', dmtcp: '#009e73', 'dmtcp-nogzip': '#56b4e9' }

export const fmtSecs = (s) => (s >= 1 ? `${s.toFixed(2)} s` : `${(s * 1000).toFixed(1)} ms`)
export const fmtBytes = (b) => (b >= 1048576 ? `${(b / 1048576).toFixed(1)} MiB` : `${(b / 1024).toFixed(1)} KiB`)
const fmt = (unit, v) => (unit === 'B' ? fmtBytes(v) : fmtSecs(v))
const x2 = (r) => (r >= 10 ? r.toFixed(1) : r.toFixed(2))
const sizeName = (mib) => (mib >= 1024 && mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`)

/** The other tools of a results.json, in a fixed order (older files have none). */
const toolsOf = (results) => Object.values(results.tools ?? {})

/**
 * [{ title, unit, bars: [{ key, label, value, ratio, amberOver, status, note }] }]: every figure,
 * its value per tool (median of runs), `ratio` = median over runs of value / that run's baseline,
 * `amberOver` = median over runs of amber's value / the tool's in the same run.
 */
export function figures(results) {
  const out = []
  const baseOf = (mib, run) => (results.baseline ?? results.memory ?? []).find((b) => b.mib === mib && b.run === run && b.rawWrite != null)
  const amberOf = (mib, run) => (results.memory ?? []).find((m) => m.mib === mib && m.run === run)
  const medOf = (xs) => (xs.length ? median(xs) : null)
  const errorOf = (tool, c) => tool.errors?.find((e) => e.case === c)?.message
  // a tool that failed as a whole says why once, under the chart; a single failed case says it here
  const toolBar = (tool, c, value, extra = {}) =>
    tool.status !== 'ok'
      ? { key: tool.key, label: tool.name, value: null, status: tool.status, note: tool.status === 'failed' ? 'see below' : tool.note }
      : value == null
        ? { key: tool.key, label: tool.name, value: null, status: 'failed', note: errorOf(tool, c) ?? 'not measured' }
        : { key: tool.key, label: tool.name, value, status: 'ok', ...extra }
  const sizes = results.sizes ?? [...new Set((results.memory ?? []).map((m) => m.mib))]

  for (const [what, field, baseField, baseLabel] of [
    ['checkpoint', 'checkpointCli', 'rawWrite', 'write+fsync'],
    ['restart', 'restart', 'rawRead', 'read(2) into new memory'],
  ]) {
    for (const mib of sizes) {
      const runs = [...new Set([...(results.baseline ?? []), ...(results.memory ?? [])].filter((m) => m.mib === mib).map((m) => m.run))]
      const bars = []
      const bs = runs.map((r) => baseOf(mib, r)).filter(Boolean)
      if (bs.length) bars.push({ key: 'baseline', label: `baseline: ${baseLabel}`, value: median(bs.map((b) => b[baseField])), status: 'ok' })
      const am = runs.map((r) => amberOf(mib, r)).filter(Boolean)
      const perRun = (getV) =>
        medOf(
          runs
            .map((r) => [getV(r), baseOf(mib, r)])
            .filter(([v, b]) => v != null && b)
            .map(([v, b]) => v / b[baseField]),
        )
      const amberAt = (r) => amberOf(mib, r)?.[field]
      // a restart that came back somewhere else than where it was checkpointed is no restart: say so
      const lost = (xs) => (what === 'restart' && xs.some((m) => !m.continued) ? `NOT continued in ${xs.filter((m) => !m.continued).length}/${xs.length} runs` : undefined)
      if (am.length) bars.push({ key: 'amber', label: 'amber', value: median(am.map((m) => m[field])), ratio: perRun(amberAt), status: 'ok', lost: lost(am) })
      for (const t of toolsOf(results)) {
        const ms = (t.memory ?? []).filter((m) => m.mib === mib)
        const tAt = (r) => ms.find((m) => m.run === r)?.[what]
        bars.push(
          toolBar(t, `mem ${mib}`, medOf(ms.map((m) => m[what])), {
            ratio: perRun(tAt),
            amberOver: medOf(runs.filter((r) => amberAt(r) != null && tAt(r)).map((r) => amberAt(r) / tAt(r))),
            lost: lost(ms),
          }),
        )
      }
      out.push({ title: `${what} ${sizeName(mib)}${what === 'restart' ? ' (to its first line running again)' : ''}`, unit: 's', bars })
    }
  }

  const st = results.stall ?? []
  const stallTools = toolsOf(results).filter((t) => t.status !== 'ok' || t.stall?.length || errorOf(t, 'stall'))
  if (st.length || stallTools.some((t) => t.stall?.length)) {
    const mib = st[0]?.mib ?? stallTools.find((t) => t.stall?.length)?.stall[0].mib
    const bars = []
    const fAt = (r) => st.find((m) => m.run === r)?.forkedStall
    if (st.length) {
      bars.push({ key: 'amber', label: 'amber --forked', short: 'forked', value: median(st.map((m) => m.forkedStall)), status: 'ok' })
      bars.push({ key: 'amber-stopped', label: 'amber, stopped', short: 'stopped', value: median(st.map((m) => m.stoppedStall)), status: 'ok' })
    }
    for (const t of stallTools) {
      const ts = t.stall ?? []
      const tAt = (r) => ts.find((m) => m.run === r)?.stall
      bars.push(toolBar(t, 'stall', medOf(ts.map((m) => m.stall)), { amberOver: medOf(ts.map((m) => m.run).filter((r) => fAt(r) != null && tAt(r)).map((r) => fAt(r) / tAt(r))) }))
    }
    out.push({ title: `stall: longest pause a running program sees, ${sizeName(mib)} heap, live checkpoint`, unit: 's', bars })
  }

  if (results.counter || toolsOf(results).some((t) => t.counter)) {
    const bars = []
    const a = results.counter?.imageBytes
    if (a != null) bars.push({ key: 'amber', label: 'amber', value: a, status: 'ok' })
    for (const t of toolsOf(results)) bars.push(toolBar(t, 'counter', t.counter?.imageBytes, { amberOver: a != null && t.counter?.imageBytes ? a / t.counter.imageBytes : null }))
    out.push({ title: 'image size of a small program (test/fixtures/counter.c)', unit: 'B', bars })
  }

  if (results.launch) {
    const l = results.launch
    const bars = [
      { key: 'baseline', label: 'baseline: /bin/true', value: l.plainTrue, status: 'ok' },
      { key: 'amber', label: 'amber launch /bin/true', value: l.amberLaunchTrue, status: 'ok' },
    ]
    // only DMTCP launches programs; CRIU has no launch of its own to compare
    for (const t of toolsOf(results).filter((t) => t.key === 'dmtcp')) {
      bars.push(toolBar(t, 'launch', t.launch?.median, { amberOver: t.launch?.median ? l.amberLaunchTrue / t.launch.median : null }))
    }
    out.push({ title: `launch of /bin/true, median of ${l.runs}`, unit: 's', bars })
  }
  return out
}

/** Rows (arrays of cells) for the side-by-side table: one row per figure, one column per tool. */
export function sideBySide(results) {
  const figs = figures(results)
  const cols = ['baseline', 'amber', ...toolsOf(results).filter((t) => t.status !== 'skipped').map((t) => t.key)]
  const head = ['figure (median of runs)', 'baseline', 'amber (×baseline)', ...toolsOf(results).filter((t) => t.status !== 'skipped').map((t) => `${t.name} (×baseline, amber÷it)`)]
  const rows = [head]
  for (const f of figs) {
    rows.push([
      f.title,
      ...cols.map((k) => {
        const bs = f.bars.filter((b) => b.key === k || (k === 'amber' && b.key === 'amber-stopped'))
        if (!bs.length) return k === 'baseline' ? '' : 'n/a'
        return bs
          .map((b) => {
            if (b.status !== 'ok') return b.status
            const parts = [fmt(f.unit, b.value)]
            if (b.ratio != null) parts.push(`×${x2(b.ratio)}`)
            if (b.amberOver != null) parts.push(`amber÷ ${x2(b.amberOver)}`)
            if (b.lost) parts.push(b.lost)
            return (bs.length > 1 ? `${b.short}: ` : '') + parts.join(' ')
          })
          .join('; ')
      }),
    ])
  }
  return rows
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
const wrap = (s, n) => {
  const out = ['']
  for (const w of String(s).split(' ')) {
    if (out[out.length - 1] && out[out.length - 1].length + 1 + w.length > n) out.push('  ')
    out[out.length - 1] += (out[out.length - 1].trim() ? ' ' : '') + w
  }
  return out
}
const clip = (s, n) => (s.length > n ? s.slice(0, n - 1) + '…' : s)

/** The chart: one panel per figure, one horizontal bar per tool, each labelled with its value. */
export function renderSvg(results) {
  const figs = figures(results)
  const W = 980
  const labelX = 16
  const barX = 250
  const barMax = 380
  const rowH = 20
  const el = []
  let y = 30
  const text = (x, yy, s, attrs = '') => el.push(`<text x="${x}" y="${yy}"${attrs}>${esc(s)}</text>`)
  text(labelX, y, 'amber checkpoint/restart vs plain I/O, CRIU and DMTCP (same run, same machine)', ' font-size="17" font-weight="bold"')
  y += 20
  const h = results.host ?? {}
  text(labelX, y, `${results.date ?? '?'} · Linux ${h.kernel ?? '?'} · ${h.cpus ?? '?'} CPUs · node ${h.node ?? '?'} · median of ${results.runs ?? '?'} runs`, ' font-size="12" fill="#444"')
  y += 16
  text(labelX, y, '×N: the tool over the baseline measured in the same run (median of per-run ratios); amber÷: amber over the tool, same run. Shorter is better.', ' font-size="12" fill="#444"')
  y += 14
  for (const f of figs) {
    y += 22
    text(labelX, y, f.title, ' font-size="14" font-weight="bold"')
    y += 6
    const shown = f.bars.filter((b) => b.status !== 'skipped')
    const max = Math.max(0, ...shown.filter((b) => b.status === 'ok').map((b) => b.value))
    for (const b of shown) {
      const top = y + 4
      text(labelX, top + 12, b.label, ' font-size="12"')
      if (b.status === 'ok') {
        const w = max > 0 ? Math.max(1, (b.value / max) * barMax) : 1
        el.push(`<rect x="${barX}" y="${top}" width="${w.toFixed(1)}" height="14" fill="${COLOR[b.key] ?? '#666'}"/>`)
        const parts = [fmt(f.unit, b.value)]
        if (b.ratio != null) parts.push(`×${x2(b.ratio)} baseline`)
        if (b.amberOver != null) parts.push(`amber÷ ${x2(b.amberOver)}`)
        if (b.lost) parts.push(b.lost)
        text((barX + w + 6).toFixed(1), top + 12, parts.join(' · '), ' font-size="12"')
      } else {
        text(barX, top + 12, `${b.status}: ${clip(b.note ?? '', 118)}`, ' font-size="11" fill="#b00020" font-style="italic"')
      }
      y += rowH
    }
  }
  y += 18
  for (const t of toolsOf(results)) {
    const line = t.status === 'ok' ? `${t.name}: ${t.version ?? 'version unknown'}` : `${t.name}${t.version ? ` (${t.version})` : ''}: ${t.status}: ${t.note}`
    // wrapped at word boundaries: a tool's error is the one long text a chart can carry
    for (const part of wrap(line, 150)) {
      text(labelX, y, part, ` font-size="11" fill="${t.status === 'failed' ? '#b00020' : '#444'}"`)
      y += 14
    }
  }
  if (!toolsOf(results).length) {
    text(labelX, y, 'no other tool in this run (AMBER_BENCH_CRIU / AMBER_BENCH_DMTCP unset)', ' font-size="11" fill="#444"')
    y += 14
  }
  y += 6
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" fill="#222">`,
    `<title>amber vs baseline/CRIU/DMTCP, ${esc(results.date ?? '')}</title>`,
    `<rect x="0" y="0" width="${W}" height="${y}" fill="#ffffff"/>`,
    ...el,
    '</svg>',
    '',
  ].join('\n')
}
