/* membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) (userspace RCU, JITs): a process that
 * registered may call MEMBARRIER_CMD_PRIVATE_EXPEDITED; one that did not gets EPERM. After restart
 * the expedited barrier still works. */
#include "corpus.h"
#include <linux/membarrier.h>
#include <sys/syscall.h>

static long mb(int cmd) { return syscall(SYS_membarrier, cmd, 0, 0); }

int main(void) {
  long q = mb(MEMBARRIER_CMD_QUERY);
  if (q < 0 || !(q & MEMBARRIER_CMD_PRIVATE_EXPEDITED)) skip("no private expedited membarrier");
  SYS(mb(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED));
  SYS(mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED));

  ready_wait();

  CHECK(mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0, "MEMBARRIER_CMD_PRIVATE_EXPEDITED after restart: %s (the registration is lost)",
        strerror(errno));
  pass();
}
