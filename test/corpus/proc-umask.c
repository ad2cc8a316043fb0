/* umask 027 set after launch: after restart umask() returns 027, /proc/self/status says
 * Umask 0027, and a file created with mode 0666 gets 0640. */
#include "corpus.h"

int main(void) {
  umask(027);

  ready_wait();

  mode_t m = umask(027);
  CHECK(m == 027, "umask is %03o, want 027", m);
  char v[16];
  CHECK(!proc_status_field("/proc/self/status", "Umask", v, sizeof v) && !strcmp(v, "0027"), "/proc/self/status Umask is %s", v);
  int f = SYS(open("umask.dat", O_CREAT | O_WRONLY | O_EXCL, 0666));
  struct stat st;
  SYS(fstat(f, &st));
  CHECK((st.st_mode & 0777) == 0640, "a 0666 file was created %03o, want 0640", st.st_mode & 0777);
  pass();
}
