# python3: a worker thread blocked in queue.Queue.get() (a lock acquire, i.e. a futex wait, with no
# timeout) across the checkpoint. After restart the main thread puts an item; the worker gets it,
# answers through a second queue, and join(5) sees it finished.
import queue
import sys
import threading

inq, outq = queue.Queue(), queue.Queue()


def worker():
    item = inq.get()
    outq.put(item * 2)


t = threading.Thread(target=worker, daemon=True)
t.start()
print("READY", flush=True)
if not sys.stdin.readline():
    print("FAIL: stdin closed before the go line", flush=True)
    sys.exit(1)
inq.put(21)
try:
    got = outq.get(timeout=5)
except queue.Empty:
    print("FAIL: the blocked worker did not answer", flush=True)
    sys.exit(1)
t.join(5)
if t.is_alive():
    print("FAIL: the worker did not finish", flush=True)
    sys.exit(1)
if got != 42:
    print(f"FAIL: the worker answered {got}, want 42", flush=True)
    sys.exit(1)
print("PASS", flush=True)
