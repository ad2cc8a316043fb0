/* Resource limits changed after launch (soft limits lowered or raised within the hard limits, some
 * hard limits lowered): after restart getrlimit returns exactly what it returned before for every
 * resource, and the RLIMIT_FSIZE soft limit (1 GiB here: images are smaller; proc-rlimit-fsize
 * has a small one) is enforced: a write that crosses it is cut at the limit. */
#include "corpus.h"
#include <sys/resource.h>

static const char* names[RLIM_NLIMITS] = {"CPU", "FSIZE", "DATA", "STACK", "CORE", "RSS", "NPROC", "NOFILE", "MEMLOCK", "AS",
                                          "LOCKS", "SIGPENDING", "MSGQUEUE", "NICE", "RTPRIO", "RTTIME"};

static void setsoft(int r, rlim_t soft, rlim_t hard_or_zero) {
  struct rlimit l;
  SYS(getrlimit(r, &l));
  if (hard_or_zero && (l.rlim_max == RLIM_INFINITY || hard_or_zero < l.rlim_max)) l.rlim_max = hard_or_zero;
  l.rlim_cur = soft < l.rlim_max ? soft : l.rlim_max;
  SYS(setrlimit(r, &l));
}

int main(void) {
  signal(SIGXFSZ, SIG_IGN);
  setsoft(RLIMIT_CPU, 100000, 200000);
  setsoft(RLIMIT_FSIZE, 1 << 30, 0);
  setsoft(RLIMIT_CORE, 4096, 1 << 20);
  setsoft(RLIMIT_STACK, 6 << 20, 0);
  setsoft(RLIMIT_NOFILE, 777, 0);
  setsoft(RLIMIT_NPROC, 5000, 0);
  setsoft(RLIMIT_SIGPENDING, 1234, 0);
  setsoft(RLIMIT_MSGQUEUE, 400000, 0);
  setsoft(RLIMIT_RTTIME, 5000000, 9000000);
  struct rlimit want[RLIM_NLIMITS];
  for (int r = 0; r < RLIM_NLIMITS; r++) SYS(getrlimit(r, &want[r]));

  ready_wait();

  for (int r = 0; r < RLIM_NLIMITS; r++) {
    struct rlimit l;
    SYS(getrlimit(r, &l));
    CHECK(l.rlim_cur == want[r].rlim_cur && l.rlim_max == want[r].rlim_max, "RLIMIT_%s is %llu/%llu, want %llu/%llu", names[r],
          (unsigned long long)l.rlim_cur, (unsigned long long)l.rlim_max, (unsigned long long)want[r].rlim_cur,
          (unsigned long long)want[r].rlim_max);
  }
  int f = SYS(open("fsize.dat", O_WRONLY | O_CREAT | O_TRUNC, 0600));
  ssize_t n = pwrite(f, "0123456789", 10, (1 << 30) - 4);
  CHECK(n == 4, "a 10-byte write 4 bytes below RLIMIT_FSIZE wrote %zd (%s)", n, n < 0 ? strerror(errno) : "");
  CHECK(pwrite(f, "x", 1, 1 << 30) < 0 && errno == EFBIG, "a write past RLIMIT_FSIZE did not fail with EFBIG");
  pass();
}
