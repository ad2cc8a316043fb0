// node checkpoint-loop.mjs DIR COUNT BUDGET_MS: up to COUNT live checkpoints of the computation at
// DIR through its control socket (what `amber checkpoint` does, without a node start each time),
// a short random pause between them so that each lands somewhere else in the program. Run as the
// computation's user (the client refuses a coordinator of another uid). Prints `ok N` per
// checkpoint (`ok N MS ms`), `fail N MESSAGE` at the first failure, then exits.
import { checkpoint } from '../../dist/lib/client.js'

const [dir, count, budget] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])]
const t0 = Date.now()
for (let i = 1; i <= count && Date.now() - t0 < budget; i++) {
  await new Promise((r) => setTimeout(r, 20 + Math.random() * 150))
  const t1 = Date.now()
  try {
    await checkpoint({ dir })
    console.log(`ok ${i} ${Date.now() - t1} ms`)
  } catch (e) {
    console.log(`fail ${i} ${e.message}`)
    process.exit(1)
  }
}
