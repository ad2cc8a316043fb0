/* Shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS) between us and our child: after restart it is
 * still one memory: what the child writes we see, and what we write the child sees. */
#include "mem.h"

int main(void) {
  volatile uint32_t* m = SYS(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  m[0] = 0x1111;
  int q[2];
  SYS(pipe(q));
  pid_t k = SYS(fork());
  if (k == 0) {
    char c;
    if (read(q[0], &c, 1) != 1) _exit(10);
    if (m[0] != 0x1111 || m[2] != 0x3333) _exit(11);
    m[1] = 0x2222;
    for (int i = 0; i < 1500 && m[3] != 0x4444; i++) usleep(2000);
    _exit(m[3] == 0x4444 ? 0 : 12);
  }
  peer(k);
  m[2] = 0x3333;

  ready_wait();

  write_all(q[1], "g", 1);
  for (int i = 0; i < 1500 && m[1] != 0x2222; i++) usleep(2000);
  CHECK(m[1] == 0x2222, "we do not see what the child wrote (the memory is no longer shared)");
  m[3] = 0x4444;
  int st;
  CHECK(waitpid(k, &st, 0) == k, "waitpid: %s", strerror(errno));
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child failed (status %#x; 11 = it saw other values, 12 = it did not see our write)", st);
  pass();
}
