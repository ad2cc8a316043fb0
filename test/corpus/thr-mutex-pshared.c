/* A process-shared error-checking mutex in shared anonymous memory, locked by our child across the
 * checkpoint (glibc wrote the child's kernel tid as its owner). After restart our trylock is EBUSY
 * and our unlock EPERM (not the owner), the child unlocks it (0, not EPERM), and then we lock it
 * and the child's trylock is EBUSY. */
#include "mem.h"

struct shared {
  pthread_mutex_t mu;
  volatile int step, res[3];
};

int main(void) {
  struct shared* s = SYS(mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
  pthread_mutex_init(&s->mu, &a);
  pid_t c = SYS(fork());
  if (c == 0) {
    s->res[0] = pthread_mutex_lock(&s->mu);
    s->step = 1;
    while (s->step < 2) usleep(1000);
    s->res[1] = pthread_mutex_unlock(&s->mu);
    s->step = 3;
    while (s->step < 4) usleep(1000);
    s->res[2] = pthread_mutex_trylock(&s->mu);
    s->step = 5;
    pause();
    _exit(0);
  }
  peer(c);
  while (s->step < 1) usleep(1000);
  CHECK(s->res[0] == 0, "the child could not lock: %s", strerror(s->res[0]));

  ready_wait();

  int e = pthread_mutex_trylock(&s->mu);
  CHECK(e == EBUSY, "our trylock of the child's mutex: %s, want EBUSY", strerror(e));
  e = pthread_mutex_unlock(&s->mu);
  CHECK(e == EPERM, "our unlock of the child's mutex: %s, want EPERM", e ? strerror(e) : "0");
  s->step = 2;
  double t = now_mono();
  while (s->step < 3 && now_mono() - t < 5) usleep(1000);
  CHECK(s->step >= 3, "the child is stuck");
  CHECK(s->res[1] == 0, "the child's unlock: %s, want 0 (it is the owner)", strerror(s->res[1]));
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += 3;
  e = pthread_mutex_timedlock(&s->mu, &dl);
  CHECK(e == 0, "our lock after the child unlocked: %s", strerror(e));
  s->step = 4;
  t = now_mono();
  while (s->step < 5 && now_mono() - t < 5) usleep(1000);
  CHECK(s->res[2] == EBUSY, "the child's trylock of our mutex: %s, want EBUSY", s->res[2] ? strerror(s->res[2]) : "0");
  CHECK(pthread_mutex_unlock(&s->mu) == 0, "our unlock");
  pass();
}
