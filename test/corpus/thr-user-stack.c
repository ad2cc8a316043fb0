/* A thread running on a stack the program allocated itself (pthread_attr_setstack: 256 KiB of
 * its own mmap, as green-thread runtimes and JITs do), blocked in a call with locals on that stack.
 * After restart the thread still runs on that stack (its locals' addresses are inside it, their
 * values intact), and it returns its result to pthread_join. */
#include "mem.h"

#define SZ (256 * 1024)
static char* stk;
static int q[2];

static void* run(void* u) {
  (void)u;
  volatile char local[1000];
  for (int i = 0; i < 1000; i++) local[i] = (char)(i * 7);
  char c;
  if (read(q[0], &c, 1) != 1) return (void*)1;
  if ((char*)local < stk || (char*)local >= stk + SZ) return (void*)2;
  for (int i = 0; i < 1000; i++)
    if (local[i] != (char)(i * 7)) return (void*)3;
  return (void*)42;
}

int main(void) {
  stk = mmap(NULL, SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (stk == MAP_FAILED) fail("mmap: %s", strerror(errno));
  SYS(pipe(q));
  pthread_attr_t a;
  pthread_attr_init(&a);
  if (pthread_attr_setstack(&a, stk, SZ)) fail("pthread_attr_setstack");
  pthread_t t;
  if (pthread_create(&t, &a, run, NULL)) fail("pthread_create");

  ready_wait();

  write_all(q[1], "g", 1);
  void* r = NULL;
  CHECK(!pthread_join(t, &r), "pthread_join failed");
  CHECK(r == (void*)42, "the thread returned %ld (1 read failed, 2 not on its stack, 3 locals changed)", (long)(intptr_t)r);
  pass();
}
