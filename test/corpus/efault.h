/* Shared by the sys-efault-* corpus programs: the wrappers' contract (issue 10). Every function the
 * agent interposes must behave exactly like libc on any argument, invalid pointers included: the
 * same return and errno as the kernel gives for the same call (EFAULT, never a crash), before a
 * checkpoint and after a restart (where the agent translates ids and takes other paths).
 *
 * The oracle is the kernel itself: each case is also issued as a raw `syscall` instruction (inline
 * asm: libc's syscall() is one of the wrapped functions) and must give the same result. Where no
 * single system call is the oracle (pthread objects, posix_spawn) or the raw call would name this
 * run's kernel ids (our own pid after a restart), the expected errno is written down, checked
 * without amber first. A signal in a case names the case and fails the program. Only cases where
 * plain glibc returns (not crashes) are here: glibc reads some arguments itself (sigaction's
 * struct, fopen's mode), and there "like libc" means the same crash. */
#ifndef EFAULT_H
#define EFAULT_H
#include "corpus.h"
#include <sys/mman.h>
#include <setjmp.h>
#include <sys/syscall.h>

/* NULL is one of the arguments under test */
#pragma GCC diagnostic ignored "-Wnonnull"
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#pragma GCC diagnostic ignored "-Wstringop-overread"
#pragma GCC diagnostic ignored "-Wrestrict"

static inline long ef_raw(long n, long a, long b, long c, long d, long e, long f) {
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "0"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}
#define EF_RAW_(n, a, b, c, d, e, f, ...) \
  ef_raw((long)(n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))
#define RAW(...) EF_RAW_(__VA_ARGS__, 0, 0, 0, 0, 0, 0)

/* Bad pointers: NULL, 1, a page that is not mapped, a PROT_NONE page, a read-only page (for what
 * the call writes). */
static void* const P1 = (void*)1;
static void* P_UNMAPPED;
static void* P_NONE;
static void* P_RO;
/* Strings that run into a PROT_NONE page: "/proc/self/status" with no NUL before the page ends
 * (the kernel answers EFAULT), and one whose NUL is the page's last byte (a good path). */
static char* S_EDGE;
static char* S_EDGE_OK;
static char* S_EDGE_SELF;
#define BADPID 0x3ffffff0

static const char* ef_case = "(setup)";
static int ef_line;
static const char* ef_phase = "before the checkpoint";
static int ef_fails;
static char ef_first[600];

static void ef_put(const char* s) {
  ssize_t w = write(2, s, strlen(s));
  (void)w;
}
/* A signal in a case: named on stderr, counted as a failure, and the remaining cases still run
 * (siglongjmp back to the case's start) so one run names every crash. */
static sigjmp_buf ef_jump;
static volatile int ef_crashes;
static void ef_signal(int sig) {
  ef_put(sig == SIGSEGV ? "efault: SIGSEGV in case " : "efault: SIGBUS in case ");
  ef_put(ef_case);
  ef_put("\n");
  ef_crashes++;
  siglongjmp(ef_jump, 1);
}

static void ef_init(void) {
  char* p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) fail("mmap: %s", strerror(errno));
  P_UNMAPPED = p;
  P_NONE = p + 4096;
  P_RO = p + 8192;
  memset(p + 8192, 0, 4096);
  SYS(munmap(P_UNMAPPED, 4096));
  SYS(mprotect(P_NONE, 4096, PROT_NONE));
  SYS(mprotect(P_RO, 4096, PROT_READ));
  char* q = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (q == MAP_FAILED) fail("mmap: %s", strerror(errno));
  SYS(mprotect(q + 4096, 4096, PROT_NONE));
  SYS(mprotect(q + 3 * 4096, 4096, PROT_NONE));
  static const char st[] = "/proc/self/status", self[] = "/proc/self";
  S_EDGE = q + 4096 - (sizeof st - 1);
  memcpy(S_EDGE, st, sizeof st - 1);
  S_EDGE_OK = q + 3 * 4096 - sizeof st;
  memcpy(S_EDGE_OK, st, sizeof st);
  S_EDGE_SELF = q + 3 * 4096 - sizeof self - 20;
  memcpy(S_EDGE_SELF, self, sizeof self);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = ef_signal;
  sa.sa_flags = SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
}

static const char* ef_err(long v) {
  static char b[2][64];
  static int i;
  i ^= 1;
  if (v < 0 && v > -4096) snprintf(b[i], sizeof b[i], "-1 %s", strerrorname_np((int)-v) ?: "?");
  else snprintf(b[i], sizeof b[i], "%ld", v);
  return b[i];
}

static void ef_cmp(long lib, long want, const char* oracle) {
  if (lib == want) return;
  char m[600];
  snprintf(m, sizeof m, "%s (line %d, %s): wrapper %s, %s %s", ef_case, ef_line, ef_phase, ef_err(lib), oracle,
           ef_err(want));
  fprintf(stderr, "efault: %s\n", m);
  if (!ef_fails++) snprintf(ef_first, sizeof ef_first, "%s", m);
}

static void ef_crashed(void) {
  char m[600];
  snprintf(m, sizeof m, "SIGSEGV in case %s (line %d, %s)", ef_case, ef_line, ef_phase);
  if (!ef_fails++) snprintf(ef_first, sizeof ef_first, "%s", m);
}
#define EF_BEGIN(call) \
  if (sigsetjmp(ef_jump, 1)) { ef_crashed(); break; } \
  (ef_case = #call, ef_line = __LINE__, errno = 0)
/* -1/errno against the kernel's answer to the same raw call */
#define T(call, ...)                                            \
  do {                                                          \
    EF_BEGIN(call);                                             \
    long _r = (long)(call);                                     \
    long _l = _r == -1 ? -(long)errno : _r;                     \
    long _k = RAW(__VA_ARGS__);                                 \
    ef_cmp(_l, _k, "kernel");                                   \
  } while (0)
/* a pointer result (NULL/errno) against a raw call that must fail too */
#define TP(call, ...)                                           \
  do {                                                          \
    EF_BEGIN(call);                                             \
    void* _r = (void*)(call);                                   \
    long _l = _r ? 0 : -(long)errno;                            \
    long _k = RAW(__VA_ARGS__);                                 \
    if (_k >= 0) { close((int)_k); _k = 0; }                    \
    ef_cmp(_l, _k, "kernel");                                   \
  } while (0)
/* an error number returned (pthread style) against the raw call's -errno */
#define TN(call, ...)                                           \
  do {                                                          \
    EF_BEGIN(call);                                             \
    long _l = -(long)(call);                                    \
    long _k = RAW(__VA_ARGS__);                                 \
    ef_cmp(_l, _k, "kernel");                                   \
  } while (0)
/* -1/errno against a written-down errno (0: success) */
#define TE(call, e)                                             \
  do {                                                          \
    EF_BEGIN(call);                                             \
    long _r = (long)(call);                                     \
    long _l = _r == -1 ? -(long)errno : (_r < 0 ? _r : 0);      \
    ef_cmp(_l, -(long)(e), "glibc");                            \
  } while (0)
/* an error number returned against a written-down one */
#define TEN(call, e)                                            \
  do {                                                          \
    EF_BEGIN(call);                                             \
    long _l = -(long)(call);                                    \
    ef_cmp(_l, -(long)(e), "glibc");                            \
  } while (0)

/* A child that has exited and is not reaped yet (its pid): the wait cases' target. */
static inline pid_t zombie(void) {
  pid_t p = fork();
  if (p < 0) fail("fork: %s", strerror(errno));
  if (p == 0) _exit(3);
  siginfo_t si;
  /* WNOWAIT: wait until it is a zombie without reaping it */
  if (waitid(P_PID, (id_t)p, &si, WEXITED | WNOWAIT) != 0) fail("waitid WNOWAIT: %s", strerror(errno));
  return p;
}

/* The same wait by glibc and by the kernel, each on a zombie of its own: the result is the pid
 * reaped, which differs; compare pid-ness (> 0) and errno. */
#define TZ(call_with_z, raw_with_z)                                      \
  do {                                                                   \
    pid_t z = zombie();                                                  \
    EF_BEGIN(call_with_z);                                               \
    long _r = (long)(call_with_z);                                       \
    long _l = _r == -1 ? -(long)errno : (_r == z ? 1 : _r);              \
    z = zombie();                                                        \
    long _k = raw_with_z;                                                \
    _k = _k > 0 ? 1 : _k;                                                \
    ef_cmp(_l, _k, "kernel");                                            \
    while (waitpid(-1, NULL, WNOHANG) > 0) {                             \
    }                                                                    \
  } while (0)

static void checks(void);
/* Run the cases a third time in a child forked after the restart (off where the cases need this
 * process's other threads). */
static int ef_in_child = 1;

/* Run the cases, wait for the checkpoint and restart, run them again. */
static inline int efault_main(void) {
  ef_init();
  checks();
  if (ef_fails) fail("%d case(s) differ; first: %s", ef_fails, ef_first);
  ready_wait();
  ef_phase = "after the restart";
  checks();
  if (ef_fails) fail("%d case(s) differ; first: %s", ef_fails, ef_first);
  if (ef_in_child) {
    /* a child forked after the restart inherits the pid maps and takes the paths of a process
     * that was never restored */
    pid_t k = fork();
    if (k < 0) fail("fork: %s", strerror(errno));
    if (k == 0) {
      ef_phase = "in a child forked after the restart";
      checks();
      if (ef_fails) {
        say("FAIL: %d case(s) differ; first: %s", ef_fails, ef_first);
        _exit(1);
      }
      _exit(0);
    }
    int st;
    if (waitpid(k, &st, 0) != k) fail("waitpid(child): %s", strerror(errno));
    if (!WIFEXITED(st) || WEXITSTATUS(st)) fail("the child forked after the restart failed (status %#x)", st);
  }
  pass();
}
#endif
