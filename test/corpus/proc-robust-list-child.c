/* get_robust_list of a forked child named by the pid fork returned (glibc registers every thread's
 * robust list head in its TCB): the head the child reports for itself equals the one we read, and
 * our own is where it was — before and after the restart. */
#include "corpus.h"
#include <linux/futex.h>
#include <sys/syscall.h>

static void check(pid_t kid, uintptr_t kid_head, uintptr_t my_head, const char* phase) {
  void* h = NULL;
  size_t len = 0;
  long r = syscall(SYS_get_robust_list, kid, &h, &len);
  CHECK(r == 0, "%s: get_robust_list(child %d): %s", phase, (int)kid, strerror(errno));
  CHECK((uintptr_t)h == kid_head && len == sizeof(struct robust_list_head), "%s: the child's head %p len %zu, it says %#lx",
        phase, h, len, (unsigned long)kid_head);
  r = syscall(SYS_get_robust_list, 0, &h, &len);
  CHECK(r == 0 && (uintptr_t)h == my_head, "%s: our own head %p, was %#lx", phase, h, (unsigned long)my_head);
  r = syscall(SYS_get_robust_list, getpid(), &h, &len);
  CHECK(r == 0 && (uintptr_t)h == my_head, "%s: our head by getpid() %p (%s), was %#lx", phase, h, strerror(errno),
        (unsigned long)my_head);
}

int main(void) {
  int rep[2], go[2];
  SYS(pipe(rep));
  SYS(pipe(go));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    void* h = NULL;
    size_t len = 0;
    syscall(SYS_get_robust_list, 0, &h, &len);
    uintptr_t v = (uintptr_t)h;
    if (write(rep[1], &v, sizeof v) != sizeof v) _exit(2);
    char c;
    if (read(go[0], &c, 1) != 1) _exit(0);
    _exit(0);
  }
  peer(kid);
  uintptr_t kh = 0;
  CHECK(read(rep[0], &kh, sizeof kh) == sizeof kh, "the child's report");
  void* h = NULL;
  size_t len = 0;
  if (syscall(SYS_get_robust_list, kid, &h, &len)) skip("get_robust_list(child): %s", strerror(errno));
  SYS(syscall(SYS_get_robust_list, 0, &h, &len));
  uintptr_t mh = (uintptr_t)h;
  check(kid, kh, mh, "before");
  ready_wait();
  check(kid, kh, mh, "after");
  pass();
}
