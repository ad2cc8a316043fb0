// Bad input: `amber restart` on a truncated image, a bit-flipped image (one byte in a data chunk,
// one in the metadata), a file that is not an image, and a missing image exits with a code >= 3
// and prints exactly one stderr line `amber: <file>: <what>` naming the file — never a crash, never
// a half-started process (nothing on stdout, no process left behind).
//
// Each case copies a good generation directory, damages its image and restarts the copy's
// manifest (image paths inside the manifest are rewritten to the copy). A control case restarts an
// undamaged copy the same way, so a failure below is the damage's doing.
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import t from 'tap'
import { build } from './helpers/fixtures.js'
import { type Amber, type Checkpoint, imageLayout, ints, setup } from './helpers/amber.js'

function rewrite(v: unknown, from: string, to: string): unknown {
  if (typeof v === 'string') return v.split(from).join(to)
  if (Array.isArray(v)) return v.map((x) => rewrite(x, from, to))
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rewrite(x, from, to)]))
  return v
}

/** Copy the generation dir of ck to DIR/<name>/gen-NNNNNN; returns the copy's manifest and image. */
function copyGen(a: Amber, ck: Checkpoint, name: string): { manifest: string; image: string } {
  const src = dirname(ck.manifest)
  const dst = join(a.mkdir(name), basename(src))
  a.mkdir(join(name, basename(src)))
  for (const f of readdirSync(src)) {
    const data = readFileSync(join(src, f))
    if (f.endsWith('.json')) {
      const j = rewrite(JSON.parse(data.toString('utf8')), src, dst)
      a.writeFile(join(dst, f), JSON.stringify(j, null, 2))
    } else a.writeFile(join(dst, f), data)
  }
  return { manifest: join(dst, basename(ck.manifest)), image: join(dst, basename(ck.images[0]!)) }
}

t.test('restart refuses bad images cleanly', async (t) => {
  const a = await setup(t)
  const counter = await build('counter')
  const app = a.launch([counter, '100'])
  await app.waitLines(3)
  const ck = await a.checkpoint({ kill: true })
  await app.wait(20_000)
  const last = Math.max(...ints(app.lines))
  const good = readFileSync(ck.images[0]!)
  const lay = imageLayout(good)
  t.ok(lay.dataSize > 0 && lay.metaSize > 0, `image has metadata (${lay.metaSize} B) and data (${lay.dataSize} B)`)
  t.equal(lay.fileSize, good.length, 'header file_size matches the file')

  await t.test('control: an undamaged copy restarts and continues', async (t) => {
    const c = copyGen(a, ck, 'control')
    const r = a.restart({ dir: a.mkdir('control-run'), target: c.manifest })
    await r.waitLines(3)
    t.equal(ints(r.lines)[0], last + 1, 'the copy restarts where the original stopped')
    await a.checkpoint({ dir: join(a.base, 'control-run'), kill: true })
    await r.wait(20_000)
  })

  const flip = (buf: Buffer, off: number) => {
    const b = Buffer.from(buf)
    b[off] = b[off]! ^ 0x10
    return b
  }
  const cases: { name: string; damage: (image: string, manifest: string) => string }[] = [
    {
      name: 'truncated',
      damage: (image) => (a.writeFile(image, good.subarray(0, Math.floor(good.length / 2))), image),
    },
    {
      name: 'truncated-trailer',
      damage: (image) => (a.writeFile(image, good.subarray(0, good.length - 40)), image),
    },
    {
      name: 'flip-data',
      damage: (image) => (a.writeFile(image, flip(good, lay.dataOff + Math.floor(lay.dataSize / 2))), image),
    },
    {
      name: 'flip-meta',
      damage: (image) => (a.writeFile(image, flip(good, lay.metaOff + Math.floor(lay.metaSize / 2))), image),
    },
    {
      name: 'not-an-image',
      damage: (image) => (a.writeFile(image, Buffer.from('this is not an amber image\n'.repeat(400))), image),
    },
    {
      name: 'missing',
      damage: (image) => (rmSync(image), image),
    },
    {
      name: 'manifest-not-json',
      damage: (_image, manifest) => (a.writeFile(manifest, 'garbage, not a manifest\n'), manifest),
    },
  ]

  for (const c of cases) {
    await t.test(c.name, async (t) => {
      const copy = copyGen(a, ck, `bad-${c.name}`)
      const named = c.damage(copy.image, copy.manifest)
      const runDir = a.mkdir(`run-${c.name}`)
      const r = await a.run(['restart', '--dir', runDir, copy.manifest], 30_000, { subtag: c.name })
      t.equal(r.signal, null, `restart was not killed by a signal (${r.signal})`)
      t.ok(r.code !== null && r.code >= 3, `exit code ${r.code} >= 3`)
      t.equal(r.stdout, '', 'nothing on stdout: the app never ran')
      const lines = r.stderr.split('\n').filter((l) => l.length > 0)
      t.equal(lines.length, 1, `exactly one stderr line: ${JSON.stringify(lines)}`)
      const line = lines[0] ?? ''
      t.match(line, /^amber: /, 'it starts with "amber: "')
      t.ok(
        line.includes(named) || line.includes(join(`bad-${c.name}`, basename(dirname(named)), basename(named))),
        `it names the file (${named}): ${line}`,
      )
      t.ok(line.length > `amber: ${named}: `.length, 'and says what is wrong')
      const left = await a.waitNoneTagged(3_000, c.name)
      t.same(left, [], 'no process left running')
    })
  }
})
