/* A program's own rseq registration (glibc's turned off with GLIBC_TUNABLES=glibc.pthread.rseq=0,
 * as runtimes with their own restartable sequences do; the program re-execs itself so): the main
 * thread registered a 32-byte area with its own signature. After restart the registration is
 * still there — registering the same area again is EBUSY, as it was — and the kernel keeps the
 * area's cpu_id current: it follows the thread when its affinity moves it to another CPU. */
#include "corpus.h"
#include <sched.h>
#include <sys/syscall.h>

#define SIG 0x0badc0deu
struct area {
  uint32_t cpu_id_start, cpu_id;
  uint64_t rseq_cs;
  uint32_t flags, node_id, mm_cid, pad;
} __attribute__((aligned(32)));
static struct area A;

static long reg(unsigned flags) { return syscall(SYS_rseq, &A, sizeof A, flags, SIG); }

/* The area follows the thread: pinned to each allowed CPU in turn, cpu_id says that CPU. */
static void follows(const char* when) {
  cpu_set_t all;
  SYS(sched_getaffinity(0, sizeof all, &all));
  int seen = 0;
  for (int c = 0; c < CPU_SETSIZE && seen < 4; c++) {
    if (!CPU_ISSET(c, &all)) continue;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(c, &one);
    SYS(sched_setaffinity(0, sizeof one, &one));
    sched_yield();
    CHECK((int)__atomic_load_n(&A.cpu_id, __ATOMIC_RELAXED) == c, "%s: pinned to CPU %d, the rseq area says %d", when, c,
          (int)A.cpu_id);
    seen++;
  }
  SYS(sched_setaffinity(0, sizeof all, &all));
}

int main(int argc, char** argv) {
  (void)argc;
  if (!getenv("RSEQ_OWN")) {
    setenv("RSEQ_OWN", "1", 1);
    setenv("GLIBC_TUNABLES", "glibc.pthread.rseq=0", 1);
    execv("/proc/self/exe", argv);
    fail("re-exec: %s", strerror(errno));
  }
  A.cpu_id = (uint32_t)-1;
  if (reg(0) != 0) {
    if (errno == ENOSYS) skip("no rseq here");
    fail("rseq register: %s (glibc's own not turned off?)", strerror(errno));
  }
  follows("before");
  ready_wait();
  errno = 0;
  long r = reg(0);
  CHECK(r == -1 && errno == EBUSY, "registering the same area again after restart: %ld (%s), want EBUSY: the registration was lost", r,
        strerror(errno));
  follows("after restart");
  pass();
}
