#!/usr/bin/python3
# The python3 program of bench/copies.js: builds a dict of N entries (argv[1], default 1,000,000),
# says "ready" and then only waits — what a cold start pays before it can work, and what a warm
# start from its image skips.
import sys
import time

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
d = {k: "v%d" % ((k * 2654435761) & 0xFFFFFFFF) for k in range(n)}
sys.stdout.write("ready %d\n" % len(d))
sys.stdout.flush()
while True:
    time.sleep(1)
