/* glibc's own locks across a restart: a thread is inside setlocale — holding glibc's internal
 * read-write lock for writing — blocked opening a locale file (LOCPATH names a directory whose
 * category files are FIFOs) when the checkpoint comes. After the restart the go line's thread
 * feeds the FIFO, setlocale fails on the junk and unlocks; then strerror and gettext (which
 * read-lock the same lock) must return. glibc tells its writer from a reader by the tid stored in
 * the lock, and a restored thread has a new one: unlocked "as a reader", the lock stayed
 * write-locked and the next gettext waited for ever (gcc, checkpointed at its start). */
#include "corpus.h"
#include <libintl.h>
#include <locale.h>
#include <sys/stat.h>

static char dir[64];
static const char* const kCats[] = {"LC_IDENTIFICATION", "LC_MEASUREMENT", "LC_TELEPHONE", "LC_ADDRESS",
                                    "LC_NAME", "LC_PAPER", "LC_MESSAGES", "LC_MONETARY", "LC_COLLATE",
                                    "LC_TIME", "LC_NUMERIC", "LC_CTYPE"};
#define NCATS (sizeof kCats / sizeof kCats[0])
static volatile int switched = -2;

static void rm(void) {
  char p[160];
  for (size_t i = 0; i < NCATS; i++) {
    snprintf(p, sizeof p, "%s/xx/%s", dir, kCats[i]);
    unlink(p);
  }
  snprintf(p, sizeof p, "%s/xx", dir);
  rmdir(p);
  rmdir(dir);
}

static void* switcher(void* u) {
  (void)u;
  switched = setlocale(LC_ALL, "xx") != NULL;
  return NULL;
}

// Whichever FIFO setlocale is opening gets junk and is closed.
static void feed(void) {
  char p[160];
  for (int round = 0; round < 20000 && switched == -2; round++) {
    for (size_t i = 0; i < NCATS; i++) {
      snprintf(p, sizeof p, "%s/xx/%s", dir, kCats[i]);
      int fd = open(p, O_WRONLY | O_NONBLOCK);
      if (fd < 0) continue;
      if (write(fd, "junk", 4) < 0) {}
      close(fd);
    }
    usleep(1000);
  }
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/corpus-loc-%d", (int)getpid());
  SYS(mkdir(dir, 0700));
  on_exit_cleanup(rm);
  char p[160];
  snprintf(p, sizeof p, "%s/xx", dir);
  SYS(mkdir(p, 0700));
  for (size_t i = 0; i < NCATS; i++) {
    snprintf(p, sizeof p, "%s/xx/%s", dir, kCats[i]);
    SYS(mkfifo(p, 0600));
  }
  SYS(setenv("LOCPATH", dir, 1));
  signal(SIGPIPE, SIG_IGN);  // setlocale may close a FIFO while we write to it
  pthread_t t;
  if (pthread_create(&t, NULL, switcher, NULL)) fail("pthread_create");
  usleep(200000);  // it reaches the open (were it late, setlocale would just fail after the line)
  ready_wait();
  feed();
  pthread_join(t, NULL);
  CHECK(switched == 0, "setlocale(\"xx\") on junk files returned %d, want failure (0)", switched);
  const char* m = strerror(ENOENT);
  CHECK(m && strstr(m, "No such file"), "strerror(ENOENT) = %s", m ? m : "(null)");
  CHECK(dcgettext("libc", "Success", LC_MESSAGES) != NULL, "dcgettext");
  CHECK(setlocale(LC_ALL, "C") != NULL, "setlocale C after: %s", strerror(errno));
  pass();
}
