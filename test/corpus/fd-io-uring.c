/* An io_uring instance (liburing programs: servers, databases, runtimes) with its rings mapped: after
 * restart the same descriptor and ring addresses work: a NOP submitted through the saved rings
 * completes with its user_data. */
#include "corpus.h"
#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/syscall.h>

int main(void) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  int fd = (int)syscall(__NR_io_uring_setup, 4, &p);
  if (fd < 0) skip("io_uring_setup: %s", strerror(errno));
  size_t sq_sz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  size_t cq_sz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  char* sq = mmap(NULL, sq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
  char* cq = mmap(NULL, cq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
  struct io_uring_sqe* sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
  if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) fail("mmap rings: %s", strerror(errno));

  ready_wait();

  unsigned* tail = (unsigned*)(sq + p.sq_off.tail);
  unsigned* mask = (unsigned*)(sq + p.sq_off.ring_mask);
  unsigned* array = (unsigned*)(sq + p.sq_off.array);
  unsigned t = *tail, idx = t & *mask;
  memset(&sqes[idx], 0, sizeof sqes[idx]);
  sqes[idx].opcode = IORING_OP_NOP;
  sqes[idx].user_data = 4242;
  array[idx] = idx;
  __atomic_store_n(tail, t + 1, __ATOMIC_RELEASE);
  long r = syscall(__NR_io_uring_enter, fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0);
  CHECK(r == 1, "io_uring_enter after restart: %ld (%s)", r, strerror(errno));
  unsigned* chead = (unsigned*)(cq + p.cq_off.head);
  unsigned* ctail = (unsigned*)(cq + p.cq_off.tail);
  unsigned* cmask = (unsigned*)(cq + p.cq_off.ring_mask);
  struct io_uring_cqe* cqes = (struct io_uring_cqe*)(cq + p.cq_off.cqes);
  CHECK(__atomic_load_n(ctail, __ATOMIC_ACQUIRE) != *chead, "no completion in the saved completion ring");
  struct io_uring_cqe* e = &cqes[*chead & *cmask];
  CHECK(e->user_data == 4242 && e->res == 0, "completion user_data %llu res %d", (unsigned long long)e->user_data, e->res);
  pass();
}
