/* A Unix listener bound under umask 077 whose socket file the server then opens to others
 * (chmod 0666, as PostgreSQL does with unix_socket_permissions); as root, the file is also given
 * to another user (chown 65534, as a root-started server that switches user). After restart the
 * socket file has that mode and owner again, and a client connects through it. */
#include "corpus.h"
#include <sys/socket.h>
#include <sys/un.h>

int main(void) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  char cwd[80];
  if (!getcwd(cwd, sizeof cwd)) skip("working directory path too long for sun_path");
  snprintf(a.sun_path, sizeof a.sun_path, "%s/srv.sock", cwd);
  int l = SYS(socket(AF_UNIX, SOCK_STREAM, 0));
  mode_t old = umask(077);
  SYS(bind(l, (struct sockaddr*)&a, sizeof a));
  umask(old);
  SYS(listen(l, 4));
  SYS(chmod(a.sun_path, 0666));
  uid_t want_uid = getuid();
  if (getuid() == 0) {
    SYS(chown(a.sun_path, 65534, 65534));
    want_uid = 65534;
  }

  ready_wait();

  struct stat st;
  SYS(lstat(a.sun_path, &st));
  CHECK(S_ISSOCK(st.st_mode), "the path is not a socket any more");
  CHECK((st.st_mode & 07777) == 0666, "socket file mode %o, want 666", st.st_mode & 07777);
  CHECK(st.st_uid == want_uid, "socket file owner %u, want %u", st.st_uid, want_uid);
  int c = SYS(socket(AF_UNIX, SOCK_STREAM, 0));
  CHECK(connect(c, (struct sockaddr*)&a, sizeof a) == 0, "connect: %s", strerror(errno));
  int s = accept(l, NULL, NULL);
  CHECK(s >= 0, "accept: %s", strerror(errno));
  pass();
}
