/* Memory protection keys: a page tagged with a key (pkey_mprotect) whose access the thread has
 * disabled in its PKRU register (pkey_set PKEY_DISABLE_ACCESS), another page on a second key
 * with writes disabled. After restart smaps still shows each page's key, the register still
 * denies access (reading the first page faults, writing the second faults, reading it works) and
 * enabling the keys again gives the data back. SKIP where the CPU or kernel has no pkeys. */
#include "mem.h"
#include <setjmp.h>

static sigjmp_buf jb;
static volatile int faulted;
static void on_segv(int s) { (void)s; faulted = 1; siglongjmp(jb, 1); }

static int touch(volatile char* p, int w) {
  faulted = 0;
  if (!sigsetjmp(jb, 1)) {
    if (w) *p = 'w';
    else (void)*p;
  }
  return faulted;
}

static int key_of(void* addr) {
  FILE* f = fopen("/proc/self/smaps", "r");
  if (!f) return -2;
  char line[512];
  int in = 0, k = -1;
  while (fgets(line, sizeof line, f)) {
    unsigned long a, b;
    if (sscanf(line, "%lx-%lx ", &a, &b) == 2 && strchr(line, '-') < strchr(line, ' ')) {
      in = (uintptr_t)addr >= a && (uintptr_t)addr < b;
      continue;
    }
    if (in && sscanf(line, "ProtectionKey: %d", &k) == 1) break;
  }
  fclose(f);
  return k;
}

int main(void) {
  int k1 = pkey_alloc(0, 0);
  if (k1 < 0) skip("pkey_alloc: %s", strerror(errno));
  int k2 = SYS(pkey_alloc(0, 0));
  char* m = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) fail("mmap: %s", strerror(errno));
  m[0] = 'a';
  m[4096] = 'b';
  SYS(pkey_mprotect(m, 4096, PROT_READ | PROT_WRITE, k1));
  SYS(pkey_mprotect(m + 4096, 4096, PROT_READ | PROT_WRITE, k2));
  SYS(pkey_set(k1, PKEY_DISABLE_ACCESS));
  SYS(pkey_set(k2, PKEY_DISABLE_WRITE));
  struct sigaction sa = {.sa_handler = on_segv};
  SYS(sigaction(SIGSEGV, &sa, NULL));

  ready_wait();

  CHECK(key_of(m) == k1 && key_of(m + 4096) == k2, "smaps ProtectionKey %d %d, want %d %d", key_of(m), key_of(m + 4096), k1, k2);
  CHECK(pkey_get(k1) == PKEY_DISABLE_ACCESS, "PKRU for key %d: %d, want PKEY_DISABLE_ACCESS", k1, pkey_get(k1));
  CHECK(pkey_get(k2) == PKEY_DISABLE_WRITE, "PKRU for key %d: %d, want PKEY_DISABLE_WRITE", k2, pkey_get(k2));
  CHECK(touch(m, 0), "reading the access-disabled page worked");
  CHECK(!touch(m + 4096, 0), "reading the write-disabled page faulted");
  CHECK(touch(m + 4096, 1), "writing the write-disabled page worked");
  SYS(pkey_set(k1, 0));
  SYS(pkey_set(k2, 0));
  CHECK(m[0] == 'a' && m[4096] == 'b', "data lost");
  int k3 = pkey_alloc(0, 0);
  CHECK(k3 >= 0 && k3 != k1 && k3 != k2, "a new key %d is one in use (the allocation map was lost)", k3);
  pass();
}
