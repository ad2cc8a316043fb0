/* prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN) (6.3+: memory-deny-write-execute, a hardening
 * systemd's MemoryDenyWriteExecute and sandboxes ask for; once set it cannot be unset). After
 * restart PR_GET_MDWE still says so, and making anonymous memory executable is still refused. */
#include "corpus.h"
#include <sys/mman.h>
#include <sys/prctl.h>
#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#define PR_GET_MDWE 66
#define PR_MDWE_REFUSE_EXEC_GAIN 1
#endif

int main(void) {
  if (prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0)) skip("PR_SET_MDWE: %s", strerror(errno));
  long pg = sysconf(_SC_PAGESIZE);
  char* m = SYS(mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));

  ready_wait();

  int v = prctl(PR_GET_MDWE, 0, 0, 0, 0);
  CHECK(v >= 0 && (v & PR_MDWE_REFUSE_EXEC_GAIN), "PR_GET_MDWE is %d, want REFUSE_EXEC_GAIN", v);
  CHECK(mprotect(m, (size_t)pg, PROT_READ | PROT_EXEC) == -1 && errno == EACCES, "mprotect to PROT_EXEC was allowed");
  pass();
}
