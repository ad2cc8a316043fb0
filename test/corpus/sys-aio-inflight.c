/* Linux AIO requests of every state at the checkpoint, one context: five IOCB_CMD_POLL (POLLIN) on
 * five pipes. Two completed at submission (their pipes held a byte) and are not reaped; two are in
 * flight (empty pipes), one of them submitted from an iocb the program overwrote right after
 * io_submit (the kernel had copied it: legal, and what a stack-allocated iocb does); one was
 * cancelled with io_cancel (its completion, res 0, is in the ring, not reaped). After the go line
 * the program writes to every empty pipe and reaps every request's event, then submits a sentinel
 * POLL on the cancelled request's pipe: each request's event must come exactly once, with its data
 * word and obj, POLLIN for the polls and 0 for the cancelled one, and none before the sentinel's
 * (a cancelled request submitted again would complete with its pipe's byte). */
#include "corpus.h"
#include <linux/aio_abi.h>
#include <poll.h>
#include <sys/syscall.h>

#define N 5
static int p[N][2];
static struct iocb cb[N + 1];

static struct iocb* submit_poll(aio_context_t ctx, int i, int fd, uint64_t data) {
  memset(&cb[i], 0, sizeof cb[i]);
  cb[i].aio_lio_opcode = IOCB_CMD_POLL;
  cb[i].aio_fildes = (uint32_t)fd;
  cb[i].aio_buf = POLLIN;
  cb[i].aio_data = data;
  struct iocb* one[1] = {&cb[i]};
  long r = syscall(SYS_io_submit, ctx, 1, one);
  if (r != 1) {
    if (i == 0) skip("io_submit IOCB_CMD_POLL: %s", strerror(errno));
    fail("io_submit %d: %ld (%s)", i, r, strerror(errno));
  }
  return &cb[i];
}

int main(void) {
  aio_context_t ctx = 0;
  if (syscall(SYS_io_setup, 16, &ctx) < 0) skip("io_setup: %s", strerror(errno));
  for (int i = 0; i < N; i++) SYS(pipe(p[i]));
  write_all(p[1][1], "a", 1);
  write_all(p[3][1], "b", 1);
  for (int i = 0; i < N; i++) submit_poll(ctx, i, p[i][0], 0x1000 + (uint64_t)i);
  // Request 2 is in flight; its iocb's memory now holds something else (the kernel keeps its copy).
  memset(&cb[2], 0xa5, sizeof cb[2]);
  struct io_event cev;
  long r = syscall(SYS_io_cancel, ctx, &cb[4], &cev);
  CHECK(r == 0 || (r == -1 && errno == EINPROGRESS), "io_cancel of request 4: %ld (%s)", r, strerror(errno));
  // The cancellation's event comes from a kernel work item: wait until the ring holds it (with
  // requests 1 and 3's), not reaped, so that the checkpoint finds it there.
  const volatile unsigned* ring = (const volatile unsigned*)ctx;  // id, nr, head, tail
  double t0 = now_mono();
  while ((ring[3] + ring[1] - ring[2]) % ring[1] < 3) {
    CHECK(now_mono() - t0 < 20, "the ring holds %u events, want 3", (ring[3] + ring[1] - ring[2]) % ring[1]);
    usleep(1000);
  }

  ready_wait();

  for (int i = 0; i < N; i++)
    if (i != 1 && i != 3) write_all(p[i][1], "c", 1);
  // Every request's event (in any order), then a sentinel that completes at once (pipe 4 holds
  // its byte): a request that came back twice, or a cancelled one submitted again (it would
  // complete with pipe 4's byte), shows as an event before the sentinel's.
  int seen[N] = {0}, sentinel = 0, all = 0;
  while (!sentinel) {
    if (!all && seen[0] && seen[1] && seen[2] && seen[3] && seen[4]) {
      all = 1;
      submit_poll(ctx, N, p[4][0], 0x2000);
    }
    struct io_event ev[8];
    struct timespec ts = {20, 0};
    long n = syscall(SYS_io_getevents, ctx, 1, 8, ev, &ts);
    CHECK(n > 0, "io_getevents: %ld (%s), events so far %d %d %d %d %d", n, strerror(errno), seen[0], seen[1], seen[2],
          seen[3], seen[4]);
    for (long k = 0; k < n; k++) {
      if (ev[k].data == 0x2000) {
        CHECK(all && ev[k].obj == (uint64_t)(uintptr_t)&cb[N] && (ev[k].res & POLLIN), "sentinel event: obj %#llx res %lld",
              (unsigned long long)ev[k].obj, (long long)ev[k].res);
        CHECK(k == n - 1, "an event after the sentinel's");
        sentinel = 1;
        continue;
      }
      uint64_t i = ev[k].data - 0x1000;
      CHECK(i < N, "an event nobody submitted: data %#llx obj %#llx res %lld", (unsigned long long)ev[k].data,
            (unsigned long long)ev[k].obj, (long long)ev[k].res);
      CHECK(ev[k].obj == (uint64_t)(uintptr_t)&cb[i], "request %d: obj %#llx, want %p", (int)i, (unsigned long long)ev[k].obj,
            (void*)&cb[i]);
      CHECK(++seen[i] == 1, "request %d completed twice (res %lld)", (int)i, (long long)ev[k].res);
      if (i == 4) CHECK(ev[k].res == 0, "the cancelled request's event: res %lld, want 0", (long long)ev[k].res);
      else CHECK(ev[k].res & POLLIN, "request %d: res %lld, want POLLIN", (int)i, (long long)ev[k].res);
    }
  }
  for (int i = 0; i < N; i++) CHECK(seen[i] == 1, "request %d: %d events before the sentinel's, want 1", i, seen[i]);
  CHECK(syscall(SYS_io_destroy, ctx) == 0, "io_destroy: %s", strerror(errno));
  pass();
}
