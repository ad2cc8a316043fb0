/* The file wrappers (access, faccessat, chdir, open, openat, fopen, freopen, opendir, stat, lstat,
 * fstatat, statx, readlink, readlinkat, truncate, close, close_range, dup2, dup3, fcntl, read,
 * pread, ioctl, inotify_add_watch, inotify_rm_watch, exec*, posix_spawn) on invalid pointers,
 * descriptors and flags, /proc paths included (the agent rewrites those): the kernel's answer,
 * before the checkpoint and after the restart. */
#include "efault.h"
#include <dirent.h>
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>

extern char** environ;

static void checks(void) {
  struct stat st;
  struct statx sx;
  char buf[256];
  char path[64];
  char tmp[] = "/tmp/amber-efault-XXXXXX";
  int tf = SYS(mkstemp(tmp));
  SYS(write(tf, "hello", 5));
  int pf = SYS(open("/proc/self/stat", O_RDONLY));
  int sf = SYS(open("/proc/self/status", O_RDONLY));
  snprintf(path, sizeof path, "/proc/%d/status", (int)getpid());

  /* access / faccessat / chdir */
  T(access(P1, F_OK), SYS_access, P1, F_OK);
  T(access(NULL, F_OK), SYS_access, NULL, F_OK);
  T(access(P_NONE, R_OK), SYS_access, P_NONE, R_OK);
  T(access("/", 99), SYS_access, "/", 99);
  T(access("/proc/self/nonexistent", F_OK), SYS_access, "/proc/self/nonexistent", F_OK);
  T(faccessat(AT_FDCWD, P1, F_OK, 0), SYS_faccessat, AT_FDCWD, P1, F_OK);
  T(faccessat(-5, "x", F_OK, 0), SYS_faccessat, -5, "x", F_OK);
  T(faccessat(AT_FDCWD, P_UNMAPPED, F_OK, AT_EACCESS), SYS_faccessat2, AT_FDCWD, P_UNMAPPED, F_OK, AT_EACCESS);
  T(faccessat(AT_FDCWD, "/", F_OK, 0x40000000), SYS_faccessat2, AT_FDCWD, "/", F_OK, 0x40000000);
  T(chdir(P1), SYS_chdir, P1);
  T(chdir(NULL), SYS_chdir, NULL);
  T(chdir(P_NONE), SYS_chdir, P_NONE);
  T(chdir("/nonexistent-amber"), SYS_chdir, "/nonexistent-amber");
  T(chdir("/proc/self/nonexistent"), SYS_chdir, "/proc/self/nonexistent");

  /* open / openat / fopen / freopen / opendir */
  T(open(P1, O_RDONLY), SYS_open, P1, O_RDONLY);
  T(open(NULL, O_RDONLY), SYS_open, NULL, O_RDONLY);
  T(open(P_NONE, O_RDONLY), SYS_open, P_NONE, O_RDONLY);
  T(open(P_UNMAPPED, O_RDONLY | O_CREAT, 0600), SYS_open, P_UNMAPPED, O_RDONLY | O_CREAT, 0600);
  T(open("/proc/self/status", O_RDONLY | O_DIRECTORY), SYS_open, "/proc/self/status", O_RDONLY | O_DIRECTORY);
  T(open("/proc/self/nonexistent", O_RDONLY), SYS_open, "/proc/self/nonexistent", O_RDONLY);
  T(open("/proc/self/stat", O_RDONLY | O_CREAT | O_EXCL, 0600), SYS_open, "/proc/self/stat", O_RDONLY | O_CREAT | O_EXCL, 0600);
  T(openat(-5, "x", O_RDONLY), SYS_openat, -5, "x", O_RDONLY);
  T(openat(AT_FDCWD, P1, O_RDONLY), SYS_openat, AT_FDCWD, P1, O_RDONLY);
  T(openat(tf, "x", O_RDONLY), SYS_openat, tf, "x", O_RDONLY);
  T(openat(AT_FDCWD, "/proc/self/task/0/stat", O_RDONLY), SYS_openat, AT_FDCWD, "/proc/self/task/0/stat", O_RDONLY);
  T(openat(AT_FDCWD, "/proc/0/stat", O_RDONLY), SYS_openat, AT_FDCWD, "/proc/0/stat", O_RDONLY);
  TP(fopen(P1, "r"), SYS_open, P1, O_RDONLY);
  TP(fopen(P_NONE, "r"), SYS_open, P_NONE, O_RDONLY);
  TP(fopen("/nonexistent-amber", "r"), SYS_open, "/nonexistent-amber", O_RDONLY);
  TP(fopen("/proc/self/nonexistent", "r"), SYS_open, "/proc/self/nonexistent", O_RDONLY);
  FILE* f = fopen(tmp, "r");
  if (f) TP(freopen(P1, "r", f), SYS_open, P1, O_RDONLY);
  f = fopen(tmp, "r");
  if (f) TP(freopen("/proc/self/nonexistent", "r", f), SYS_open, "/proc/self/nonexistent", O_RDONLY);
  TP(opendir("/nonexistent-amber"), SYS_open, "/nonexistent-amber", O_RDONLY | O_DIRECTORY);
  TP(opendir("/proc/self/status"), SYS_open, "/proc/self/status", O_RDONLY | O_DIRECTORY);
  TP(opendir("/proc/self/task/0"), SYS_open, "/proc/self/task/0", O_RDONLY | O_DIRECTORY);

  /* stat family */
  T(stat(P1, &st), SYS_newfstatat, AT_FDCWD, P1, &st, 0);
  T(stat(NULL, &st), SYS_newfstatat, AT_FDCWD, NULL, &st, 0);
  T(stat("/", P1), SYS_newfstatat, AT_FDCWD, "/", P1, 0);
  T(stat("/", P_RO), SYS_newfstatat, AT_FDCWD, "/", P_RO, 0);
  T(stat("/proc/self", P1), SYS_newfstatat, AT_FDCWD, "/proc/self", P1, 0);
  T(stat("/proc/self/status", P_RO), SYS_newfstatat, AT_FDCWD, "/proc/self/status", P_RO, 0);
  T(stat("/proc/self/nonexistent", &st), SYS_newfstatat, AT_FDCWD, "/proc/self/nonexistent", &st, 0);
  T(lstat(P_NONE, &st), SYS_newfstatat, AT_FDCWD, P_NONE, &st, AT_SYMLINK_NOFOLLOW);
  T(lstat("/proc/self", P1), SYS_newfstatat, AT_FDCWD, "/proc/self", P1, AT_SYMLINK_NOFOLLOW);
  T(lstat("/proc/self/exe", P_RO), SYS_newfstatat, AT_FDCWD, "/proc/self/exe", P_RO, AT_SYMLINK_NOFOLLOW);
  T(fstatat(-5, "x", &st, 0), SYS_newfstatat, -5, "x", &st, 0);
  T(fstatat(AT_FDCWD, "/", &st, 0x40000000), SYS_newfstatat, AT_FDCWD, "/", &st, 0x40000000);
  T(fstatat(AT_FDCWD, "", &st, 0), SYS_newfstatat, AT_FDCWD, "", &st, 0);
  T(fstatat(AT_FDCWD, P1, &st, AT_EMPTY_PATH), SYS_newfstatat, AT_FDCWD, P1, &st, AT_EMPTY_PATH);
  T(fstatat(pf, "", P1, AT_EMPTY_PATH), SYS_newfstatat, pf, "", P1, AT_EMPTY_PATH);
  T(statx(AT_FDCWD, P1, 0, STATX_BASIC_STATS, &sx), SYS_statx, AT_FDCWD, P1, 0, STATX_BASIC_STATS, &sx);
  T(statx(AT_FDCWD, "/", 0, STATX_BASIC_STATS, P1), SYS_statx, AT_FDCWD, "/", 0, STATX_BASIC_STATS, P1);
  T(statx(AT_FDCWD, "/proc/self", 0, STATX_BASIC_STATS, P_RO), SYS_statx, AT_FDCWD, "/proc/self", 0, STATX_BASIC_STATS, P_RO);
  T(statx(AT_FDCWD, "/", 0x40000000, STATX_BASIC_STATS, &sx), SYS_statx, AT_FDCWD, "/", 0x40000000, STATX_BASIC_STATS, &sx);
  T(statx(AT_FDCWD, "/", 0, 0x80000000u, &sx), SYS_statx, AT_FDCWD, "/", 0, 0x80000000u, &sx);
  T(statx(-5, "x", 0, STATX_BASIC_STATS, &sx), SYS_statx, -5, "x", 0, STATX_BASIC_STATS, &sx);

  /* readlink: /proc/self, /proc/self/exe, /proc/thread-self are rewritten by the agent */
  T(readlink(P1, buf, sizeof buf), SYS_readlink, P1, buf, sizeof buf);
  T(readlink(NULL, buf, sizeof buf), SYS_readlink, NULL, buf, sizeof buf);
  T(readlink("/proc/self", P1, 64), SYS_readlink, "/proc/self", P1, 64);
  T(readlink("/proc/self", P_RO, 64), SYS_readlink, "/proc/self", P_RO, 64);
  T(readlink("/proc/self", NULL, 64), SYS_readlink, "/proc/self", NULL, 64);
  T(readlink("/proc/thread-self", P_NONE, 64), SYS_readlink, "/proc/thread-self", P_NONE, 64);
  T(readlink("/proc/self/exe", P1, 64), SYS_readlink, "/proc/self/exe", P1, 64);
  T(readlink("/proc/self/fd/0", P_UNMAPPED, 64), SYS_readlink, "/proc/self/fd/0", P_UNMAPPED, 64);
  T(readlink("/proc/self", buf, 0), SYS_readlink, "/proc/self", buf, 0);
  T(readlink("/proc/self", buf, (size_t)-1), SYS_readlink, "/proc/self", buf, (size_t)-1);
  T(readlink("/proc/self/status", buf, sizeof buf), SYS_readlink, "/proc/self/status", buf, sizeof buf);
  T(readlink("/proc/self/nonexistent", buf, sizeof buf), SYS_readlink, "/proc/self/nonexistent", buf, sizeof buf);
  T(readlinkat(-5, "x", buf, sizeof buf), SYS_readlinkat, -5, "x", buf, sizeof buf);
  T(readlinkat(AT_FDCWD, P1, buf, sizeof buf), SYS_readlinkat, AT_FDCWD, P1, buf, sizeof buf);
  T(readlinkat(AT_FDCWD, "/proc/self", P1, 64), SYS_readlinkat, AT_FDCWD, "/proc/self", P1, 64);
  T(readlinkat(AT_FDCWD, "/proc/self/exe", P_RO, 64), SYS_readlinkat, AT_FDCWD, "/proc/self/exe", P_RO, 64);
  T(readlinkat(AT_FDCWD, "/proc/self", buf, 0), SYS_readlinkat, AT_FDCWD, "/proc/self", buf, 0);

  /* paths that run into an unreadable page: unterminated, and terminated on the page's last byte */
  T(access(S_EDGE, F_OK), SYS_access, S_EDGE, F_OK);
  T(access(S_EDGE_OK, F_OK), SYS_access, S_EDGE_OK, F_OK);
  T(chdir(S_EDGE), SYS_chdir, S_EDGE);
  T(open(S_EDGE, O_RDONLY), SYS_open, S_EDGE, O_RDONLY);
  T(openat(AT_FDCWD, S_EDGE, O_RDONLY), SYS_openat, AT_FDCWD, S_EDGE, O_RDONLY);
  TP(fopen(S_EDGE, "r"), SYS_open, S_EDGE, O_RDONLY);
  T(stat(S_EDGE, &st), SYS_newfstatat, AT_FDCWD, S_EDGE, &st, 0);
  T(lstat(S_EDGE, &st), SYS_newfstatat, AT_FDCWD, S_EDGE, &st, AT_SYMLINK_NOFOLLOW);
  T(statx(AT_FDCWD, S_EDGE, 0, STATX_BASIC_STATS, &sx), SYS_statx, AT_FDCWD, S_EDGE, 0, STATX_BASIC_STATS, &sx);
  T(readlink(S_EDGE, buf, sizeof buf), SYS_readlink, S_EDGE, buf, sizeof buf);
  T(readlinkat(AT_FDCWD, S_EDGE, buf, sizeof buf), SYS_readlinkat, AT_FDCWD, S_EDGE, buf, sizeof buf);
  T(truncate(S_EDGE, 0), SYS_truncate, S_EDGE, 0);
  T(inotify_add_watch(-1, S_EDGE, IN_ALL_EVENTS), SYS_inotify_add_watch, -1, S_EDGE, IN_ALL_EVENTS);
  T(execve(S_EDGE, (char*[]){"x", NULL}, environ), SYS_execve, S_EDGE, ((char*[]){"x", NULL}), environ);
  T(readlink(S_EDGE_SELF, P1, 64), SYS_readlink, S_EDGE_SELF, P1, 64);
  T(stat(S_EDGE_SELF, P_RO), SYS_newfstatat, AT_FDCWD, S_EDGE_SELF, P_RO, 0);
  T(truncate(S_EDGE_OK, 0), SYS_truncate, S_EDGE_OK, 0);
  T(open(S_EDGE_OK, O_RDONLY | O_DIRECTORY), SYS_open, S_EDGE_OK, O_RDONLY | O_DIRECTORY);

  /* truncate */
  T(truncate(P1, 0), SYS_truncate, P1, 0);
  T(truncate(NULL, 0), SYS_truncate, NULL, 0);
  T(truncate("/nonexistent-amber", 0), SYS_truncate, "/nonexistent-amber", 0);
  T(truncate(tmp, -1), SYS_truncate, tmp, -1);
  T(truncate("/proc/self/stat", 0), SYS_truncate, "/proc/self/stat", 0);

  /* close / close_range / dup2 / dup3 */
  T(close(-1), SYS_close, -1);
  T(close(99999), SYS_close, 99999);
  T(close(1 << 30), SYS_close, 1 << 30);
  T(close_range(5, 3, 0), SYS_close_range, 5, 3, 0);
  T(close_range(1 << 29, 1 << 29, 0x7fff0000), SYS_close_range, 1 << 29, 1 << 29, 0x7fff0000);
  T(dup2(-1, 100), SYS_dup2, -1, 100);
  T(dup2(99999, 100), SYS_dup2, 99999, 100);
  T(dup2(tf, -1), SYS_dup2, tf, -1);
  T(dup2(tf, 1 << 30), SYS_dup2, tf, 1 << 30);
  T(dup3(tf, tf, 0), SYS_dup3, tf, tf, 0);
  T(dup3(tf, 100, 0x7fff), SYS_dup3, tf, 100, 0x7fff);
  T(dup3(-1, 100, 0), SYS_dup3, -1, 100, 0);
  T(dup3(tf, -1, O_CLOEXEC), SYS_dup3, tf, -1, O_CLOEXEC);

  /* fcntl: locks (l_pid is translated), owners (pids), notify */
  struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
  struct f_owner_ex ow = {F_OWNER_PID, BADPID};
  T(fcntl(-1, F_GETFL), SYS_fcntl, -1, F_GETFL);
  T(fcntl(tf, 9999), SYS_fcntl, tf, 9999);
  T(fcntl(tf, F_GETLK, P1), SYS_fcntl, tf, F_GETLK, P1);
  T(fcntl(tf, F_GETLK, NULL), SYS_fcntl, tf, F_GETLK, NULL);
  T(fcntl(tf, F_GETLK, P_RO), SYS_fcntl, tf, F_GETLK, P_RO);
  T(fcntl(tf, F_OFD_GETLK, P1), SYS_fcntl, tf, F_OFD_GETLK, P1);
  T(fcntl(tf, F_SETLK, P_NONE), SYS_fcntl, tf, F_SETLK, P_NONE);
  T(fcntl(tf, F_SETLKW, P1), SYS_fcntl, tf, F_SETLKW, P1);
  T(fcntl(tf, F_OFD_SETLK, NULL), SYS_fcntl, tf, F_OFD_SETLK, NULL);
  T(fcntl(-1, F_GETLK, &lk), SYS_fcntl, -1, F_GETLK, &lk);
  lk.l_whence = 99;
  T(fcntl(tf, F_GETLK, &lk), SYS_fcntl, tf, F_GETLK, &lk);
  T(fcntl(tf, F_GETOWN_EX, P1), SYS_fcntl, tf, F_GETOWN_EX, P1);
  T(fcntl(tf, F_GETOWN_EX, P_RO), SYS_fcntl, tf, F_GETOWN_EX, P_RO);
  T(fcntl(tf, F_SETOWN_EX, P1), SYS_fcntl, tf, F_SETOWN_EX, P1);
  T(fcntl(tf, F_SETOWN_EX, &ow), SYS_fcntl, tf, F_SETOWN_EX, &ow);
  ow.type = 77;
  T(fcntl(tf, F_SETOWN_EX, &ow), SYS_fcntl, tf, F_SETOWN_EX, &ow);
  T(fcntl(tf, F_SETOWN, BADPID), SYS_fcntl, tf, F_SETOWN, BADPID);
  T(fcntl(tf, F_SETOWN, -BADPID), SYS_fcntl, tf, F_SETOWN, -BADPID);
  T(fcntl(-1, F_GETOWN), SYS_fcntl, -1, F_GETOWN);
  T(fcntl(tf, F_SETOWN, -2147483647 - 1), SYS_fcntl, tf, F_SETOWN, -2147483647 - 1);
  T(fcntl(tf, F_SETOWN, 2147483647), SYS_fcntl, tf, F_SETOWN, 2147483647);
  ow.type = F_OWNER_PGRP;
  ow.pid = -2147483647 - 1;
  T(fcntl(tf, F_SETOWN_EX, &ow), SYS_fcntl, tf, F_SETOWN_EX, &ow);
  ow.type = F_OWNER_TID;
  ow.pid = -1;
  T(fcntl(tf, F_SETOWN_EX, &ow), SYS_fcntl, tf, F_SETOWN_EX, &ow);
  T(fcntl(tf, F_NOTIFY, DN_MODIFY), SYS_fcntl, tf, F_NOTIFY, DN_MODIFY);
  T(fcntl(-1, F_NOTIFY, DN_MODIFY), SYS_fcntl, -1, F_NOTIFY, DN_MODIFY);
  T(fcntl(tf, F_SETSIG, 99), SYS_fcntl, tf, F_SETSIG, 99);
  T(fcntl(tf, F_DUPFD, -1), SYS_fcntl, tf, F_DUPFD, -1);
  T(fcntl(tf, F_DUPFD_CLOEXEC, 1 << 30), SYS_fcntl, tf, F_DUPFD_CLOEXEC, 1 << 30);

  /* read / pread: /proc files whose ids the agent rewrites, a regular file */
  T(read(-1, buf, 1), SYS_read, -1, buf, 1);
  T(read(tf, P1, 1), SYS_read, tf, P1, 1);
  T(pread(tf, P1, 5, 0), SYS_pread64, tf, P1, 5, 0);
  T(pread(tf, P_RO, 5, 0), SYS_pread64, tf, P_RO, 5, 0);
  T(pread(tf, buf, 5, -1), SYS_pread64, tf, buf, 5, -1);
  T(pread(-1, buf, 5, 0), SYS_pread64, -1, buf, 5, 0);
  T(pread(pf, P1, 64, 0), SYS_pread64, pf, P1, 64, 0);
  T(pread(pf, P_RO, 64, 0), SYS_pread64, pf, P_RO, 64, 0);
  T(pread(sf, P_NONE, 512, 0), SYS_pread64, sf, P_NONE, 512, 0);
  T(pread(sf, NULL, 512, 0), SYS_pread64, sf, NULL, 512, 0);
  T(pread(pf, buf, 64, -5), SYS_pread64, pf, buf, 64, -5);
  int pf2 = SYS(open(path, O_RDONLY));
  lseek(pf, 0, SEEK_SET);
  T(read(pf, P1, 64), SYS_pread64, pf2, P1, 64, 0);
  lseek(sf, 0, SEEK_SET);
  T(read(sf, P_RO, 512), SYS_pread64, pf2, P_RO, 512, 0);
  lseek(sf, 0, SEEK_SET);
  T(read(sf, P_UNMAPPED, 512), SYS_pread64, pf2, P_UNMAPPED, 512, 0);
  close(pf2);

  /* ioctl */
  T(ioctl(-1, FIONREAD, buf), SYS_ioctl, -1, FIONREAD, buf);
  int pp[2];
  SYS(pipe(pp));
  T(ioctl(pp[0], FIONREAD, P1), SYS_ioctl, pp[0], FIONREAD, P1);
  T(ioctl(pp[0], FIONREAD, P_RO), SYS_ioctl, pp[0], FIONREAD, P_RO);
  T(ioctl(pp[0], 0x7fff1234, P1), SYS_ioctl, pp[0], 0x7fff1234, P1);
  T(ioctl(tf, FIONBIO, P1), SYS_ioctl, tf, FIONBIO, P1);
  close(pp[0]);
  close(pp[1]);

  /* inotify */
  int in = SYS(inotify_init1(IN_CLOEXEC));
  T(inotify_add_watch(in, P1, IN_ALL_EVENTS), SYS_inotify_add_watch, in, P1, IN_ALL_EVENTS);
  T(inotify_add_watch(in, NULL, IN_ALL_EVENTS), SYS_inotify_add_watch, in, NULL, IN_ALL_EVENTS);
  T(inotify_add_watch(in, P_NONE, IN_ALL_EVENTS), SYS_inotify_add_watch, in, P_NONE, IN_ALL_EVENTS);
  T(inotify_add_watch(-1, "/", IN_ALL_EVENTS), SYS_inotify_add_watch, -1, "/", IN_ALL_EVENTS);
  T(inotify_add_watch(tf, "/", IN_ALL_EVENTS), SYS_inotify_add_watch, tf, "/", IN_ALL_EVENTS);
  T(inotify_add_watch(in, "/", 0), SYS_inotify_add_watch, in, "/", 0);
  T(inotify_add_watch(in, "/nonexistent-amber", IN_ALL_EVENTS), SYS_inotify_add_watch, in, "/nonexistent-amber", IN_ALL_EVENTS);
  T(inotify_rm_watch(in, 12345), SYS_inotify_rm_watch, in, 12345);
  T(inotify_rm_watch(in, -1), SYS_inotify_rm_watch, in, -1);
  T(inotify_rm_watch(-1, 1), SYS_inotify_rm_watch, -1, 1);
  T(inotify_rm_watch(tf, 1), SYS_inotify_rm_watch, tf, 1);
  close(in);

  /* exec: everything fails before the point of no return */
  char* av[] = {"true", NULL};
  char* badav[] = {P1, NULL};
  char* badev[] = {P_NONE, NULL};
  T(execve(P1, av, environ), SYS_execve, P1, av, environ);
  T(execve(NULL, av, environ), SYS_execve, NULL, av, environ);
  T(execve("/nonexistent-amber", av, environ), SYS_execve, "/nonexistent-amber", av, environ);
  T(execve("/bin/true", P1, environ), SYS_execve, "/bin/true", P1, environ);
  T(execve("/bin/true", badav, environ), SYS_execve, "/bin/true", badav, environ);
  T(execve("/bin/true", av, P1), SYS_execve, "/bin/true", av, P1);
  T(execve("/bin/true", av, P_NONE), SYS_execve, "/bin/true", av, P_NONE);
  T(execve("/bin/true", av, badev), SYS_execve, "/bin/true", av, badev);
  T(execve(tmp, av, environ), SYS_execve, tmp, av, environ);
  T(execv("/nonexistent-amber", av), SYS_execve, "/nonexistent-amber", av, environ);
  T(execv("/bin/true", badav), SYS_execve, "/bin/true", badav, environ);
  T(execvp("/nonexistent-amber", av), SYS_execve, "/nonexistent-amber", av, environ);
  T(execl("/nonexistent-amber", "x", (char*)NULL), SYS_execve, "/nonexistent-amber", av, environ);
  T(execle("/bin/true", "true", (char*)NULL, P1), SYS_execve, "/bin/true", av, P1);
  T(execle("/bin/true", "true", (char*)NULL, badev), SYS_execve, "/bin/true", av, badev);
  TE(fexecve(-1, av, environ), EINVAL);
  T(fexecve(12345, av, environ), SYS_execveat, 12345, "", av, environ, AT_EMPTY_PATH);
  T(execveat(-5, "x", av, environ, 0), SYS_execveat, -5, "x", av, environ, 0);
  T(execveat(AT_FDCWD, "/bin/true", av, P1, 0), SYS_execveat, AT_FDCWD, "/bin/true", av, P1, 0);
  T(execveat(AT_FDCWD, "/bin/true", av, environ, 0x7fff0000), SYS_execveat, AT_FDCWD, "/bin/true", av, environ, 0x7fff0000);
  T(syscall(SYS_execve, "/bin/true", av, P1), SYS_execve, "/bin/true", av, P1);
  T(syscall(SYS_execve, P1, av, environ), SYS_execve, P1, av, environ);

  /* posix_spawn: the error the child's exec met, returned */
  pid_t sp;
  TEN(posix_spawn(&sp, "/nonexistent-amber", NULL, NULL, av, environ), ENOENT);
  TEN(posix_spawn(&sp, P1, NULL, NULL, av, environ), EFAULT);
  TEN(posix_spawn(&sp, "/bin/true", NULL, NULL, badav, environ), EFAULT);
  TEN(posix_spawn(&sp, "/bin/true", NULL, NULL, av, badev), EFAULT);
  TEN(posix_spawnp(&sp, "/nonexistent-amber", NULL, NULL, av, environ), ENOENT);
  TEN(posix_spawn(&sp, tmp, NULL, NULL, av, environ), EACCES);

  close(pf);
  close(sf);
  close(tf);
  unlink(tmp);
}

int main(void) { return efault_main(); }
