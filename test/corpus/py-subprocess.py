# python3: a subprocess.Popen child (`cat`) with pipes to and from it, 10000 bytes written to its
# stdin and echoed back but not read yet. After restart all 10000 come back, in order; closing its
# stdin ends it and wait() returns 0 under the pid Popen gave.
import os
import subprocess
import sys
import time

p = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
data = bytes((i * 7 + 3) % 251 for i in range(10000))
p.stdin.write(data)
p.stdin.flush()
time.sleep(0.05)
pid = p.pid
print("READY", flush=True)
if not sys.stdin.readline():
    print("FAIL: stdin closed before the go line", flush=True)
    sys.exit(1)
got = b""
while len(got) < len(data):
    chunk = os.read(p.stdout.fileno(), 65536)
    if not chunk:
        break
    got += chunk
if got != data:
    print(f"FAIL: read back {len(got)} bytes, {'equal prefix' if data.startswith(got) else 'different'}", flush=True)
    sys.exit(1)
p.stdin.close()
try:
    rc = p.wait(timeout=5)
except subprocess.TimeoutExpired:
    print("FAIL: cat did not exit after its stdin closed", flush=True)
    sys.exit(1)
if rc != 0 or p.pid != pid:
    print(f"FAIL: cat ended with {rc} (pid {p.pid}, was {pid})", flush=True)
    sys.exit(1)
print("PASS", flush=True)
