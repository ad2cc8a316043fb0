/* A region marked MADV_WIPEONFORK (with data): after restart our copy still holds the data, smaps
 * shows "wf", and a child forked now sees the region zero-filled. */
#include "mem.h"

int main(void) {
  char* a = SYS(mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  fill_pattern(a, 4 * 4096, 311);
  if (madvise(a, 4 * 4096, MADV_WIPEONFORK)) skip("MADV_WIPEONFORK: %s", strerror(errno));

  ready_wait();

  CHECK(check_pattern(a, 4 * 4096, 311) < 0, "our copy of the region differs");
  CHECK(has_vmflag(a, "wf") == 1, "smaps does not show wf (MADV_WIPEONFORK)");
  pid_t k = SYS(fork());
  if (k == 0) {
    for (int i = 0; i < 4 * 4096; i++)
      if (a[i]) _exit(1);
    _exit(0);
  }
  int st;
  SYS(waitpid(k, &st, 0));
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a child forked after restart sees the data (not wiped)");
  pass();
}
