// The node program of bench/copies.js: builds a Map of N entries (argv[2], default 1,000,000),
// says "ready" and then only waits (a timer keeps the event loop alive).
const n = Number(process.argv[2] ?? 1000000);
const m = new Map();
for (let k = 0; k < n; k++) m.set(k, `v${(k * 7919) % 1000003}`);
process.stdout.write(`ready ${m.size}\n`);
setInterval(() => m.get(0), 1000);
