/* A userfaultfd registered on a region (user-mode faults only, as any user may): after restart a
 * touch of a missing page in the region is reported on the same descriptor and resolved with
 * UFFDIO_COPY. */
#include "corpus.h"
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

static char* region;
static volatile int touched;
static void* toucher(void* a) {
  (void)a;
  touched = region[0];
  return NULL;
}

int main(void) {
  int u = (int)syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
  if (u < 0) skip("userfaultfd: %s", strerror(errno));
  struct uffdio_api api = {.api = UFFD_API};
  SYS(ioctl(u, UFFDIO_API, &api));
  region = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  struct uffdio_register reg = {.range = {(unsigned long)region, 4096}, .mode = UFFDIO_REGISTER_MODE_MISSING};
  SYS(ioctl(u, UFFDIO_REGISTER, &reg));

  ready_wait();

  pthread_t t;
  pthread_create(&t, NULL, toucher, NULL);
  struct pollfd p = {.fd = u, .events = POLLIN};
  CHECK(poll(&p, 1, 3000) == 1, "no fault reported on the userfaultfd after restart (the registration is lost)");
  struct uffd_msg m;
  CHECK(read(u, &m, sizeof m) == sizeof m && m.event == UFFD_EVENT_PAGEFAULT, "not a page fault message");
  static char page[4096] __attribute__((aligned(4096)));
  page[0] = 77;
  struct uffdio_copy cp = {.dst = (unsigned long)region, .src = (unsigned long)page, .len = 4096};
  SYS(ioctl(u, UFFDIO_COPY, &cp));
  pthread_join(t, NULL);
  CHECK(touched == 77, "the faulting read got %d, want 77", touched);
  pass();
}
