/* Every place a pid or tid comes back to a program from the kernel, between two processes and two
 * threads that were there before the checkpoint (after a restart their kernel ids are not the ids
 * the program knows): siginfo of kill and sigqueue both ways, of SIGCHLD, of a message queue's
 * notification; waitid's si_pid and wait4's return; semctl GETPID and the SysV queue's and
 * segment's last pids; getsid/getpgid/getpriority/ioprio_get/prlimit/sched_getaffinity of the peer;
 * pidfd_open of the peer's id and pidfd_send_signal; tgkill and a SIGEV_THREAD_ID timer aimed at
 * another thread's id; /proc/self/status (Pid, Tgid, PPid, TracerPid, NSpid), /proc/self/task,
 * /proc/thread-self, /proc/<peer>/stat|status opened by the peer's id. Checked before the
 * checkpoint and again after the restart. */
#include "corpus.h"
#include <dirent.h>
#include <mqueue.h>
#include <poll.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/un.h>

#define SIG_THR (SIGRTMIN + 3)
#define SIG_MQ (SIGRTMIN + 2)

static int cmd[2], rep[2], thr_pipe[2];
static int lockfd = -1;
static pid_t kid;
static volatile pid_t thr_tid;
static int semid = -1, msqid = -1, shmid = -1;
static char mqname[64];
static struct sockaddr_un sun_addr;
static socklen_t sun_len;
static volatile pid_t handler_pid;
static volatile int handler_code;

static void on_sig(int sig, siginfo_t* si, void* uc) {
  (void)sig;
  (void)uc;
  handler_pid = si->si_pid;
  handler_code = si->si_code;
}

static void cleanup(void) {
  if (semid >= 0) semctl(semid, 0, IPC_RMID);
  if (msqid >= 0) msgctl(msqid, IPC_RMID, NULL);
  if (shmid >= 0) shmctl(shmid, IPC_RMID, NULL);
  if (mqname[0]) mq_unlink(mqname);
}

static int wait_sig(int sig, siginfo_t* si, const char* what) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, sig);
  struct timespec t = {10, 0};
  int r = sigtimedwait(&s, si, &t);
  if (r != sig) fail("%s: no signal %d within 10 s (%s)", what, sig, strerror(errno));
  return r;
}

/* The peer: runs commands, answers one line each. */
static void peer_loop(void) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR2);
  sigprocmask(SIG_BLOCK, &s, NULL);
  for (;;) {
    char c;
    if (read(cmd[0], &c, 1) != 1) _exit(0);
    char out[160] = "ok";
    switch (c) {
      case 'q': {
        union sigval v = {.sival_int = 77};
        if (sigqueue(getppid(), SIGUSR1, v)) snprintf(out, sizeof out, "sigqueue: %s", strerror(errno));
        break;
      }
      case 'k':
        if (kill(getppid(), SIGUSR1)) snprintf(out, sizeof out, "kill: %s", strerror(errno));
        break;
      case 'w': { /* wait for SIGUSR2 from the parent (kill, sigqueue or pidfd_send_signal) */
        siginfo_t si;
        struct timespec t = {10, 0};
        if (sigtimedwait(&s, &si, &t) != SIGUSR2) snprintf(out, sizeof out, "peer: no SIGUSR2: %s", strerror(errno));
        else if (si.si_pid != getppid())
          snprintf(out, sizeof out, "peer: SIGUSR2's si_pid %d, its parent is %d (code %d)", (int)si.si_pid, (int)getppid(),
                   si.si_code);
        break;
      }
      case 's': {
        struct sembuf op = {0, 1, 0};
        if (semop(semid, &op, 1)) snprintf(out, sizeof out, "semop: %s", strerror(errno));
        break;
      }
      case 'm': {
        struct {
          long t;
          char b[4];
        } m = {1, "abc"};
        if (msgsnd(msqid, &m, 4, 0)) snprintf(out, sizeof out, "msgsnd: %s", strerror(errno));
        void* a = shmat(shmid, NULL, 0);
        if (a == (void*)-1) snprintf(out, sizeof out, "shmat: %s", strerror(errno));
        else shmdt(a);
        break;
      }
      case 'n': {
        mqd_t q = mq_open(mqname, O_WRONLY);
        if (q == (mqd_t)-1 || mq_send(q, "x", 1, 0)) snprintf(out, sizeof out, "mq_send: %s", strerror(errno));
        if (q != (mqd_t)-1) mq_close(q);
        break;
      }
      case 'c': { /* connect to the parent's socket, send our credentials explicitly */
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr*)&sun_addr, sun_len)) {
          snprintf(out, sizeof out, "connect: %s", strerror(errno));
          break;
        }
        union {
          char b[CMSG_SPACE(sizeof(struct ucred))];
          struct cmsghdr a;
        } cb;
        memset(&cb, 0, sizeof cb);
        struct ucred me = {getpid(), getuid(), getgid()};
        struct iovec iov = {"c", 1};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb.b, .msg_controllen = sizeof cb.b};
        struct cmsghdr* c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_CREDENTIALS;
        c->cmsg_len = CMSG_LEN(sizeof me);
        memcpy(CMSG_DATA(c), &me, sizeof me);
        if (sendmsg(fd, &m, 0) != 1) snprintf(out, sizeof out, "sendmsg SCM_CREDENTIALS with our pid %d: %s", (int)getpid(), strerror(errno));
        close(fd);
        break;
      }
      case 'h': { /* a signal to the parent's SA_SIGINFO handler */
        union sigval v = {.sival_int = 5};
        if (sigqueue(getppid(), SIGRTMIN + 5, v)) snprintf(out, sizeof out, "sigqueue: %s", strerror(errno));
        break;
      }
      case 'l': { /* a POSIX lock on bytes 0..9 of the shared file, taken now */
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
        if (fcntl(lockfd, F_SETLK, &fl)) snprintf(out, sizeof out, "F_SETLK: %s", strerror(errno));
        break;
      }
      case 'u': {
        struct flock fl = {.l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
        if (fcntl(lockfd, F_SETLK, &fl)) snprintf(out, sizeof out, "F_SETLK unlock: %s", strerror(errno));
        break;
      }
      case 'x': _exit(5);
    }
    size_t n = strlen(out);
    out[n] = '\n';
    if (write(rep[1], out, n + 1) < 0) _exit(1);
  }
}

static void ask(char c) {
  if (write(cmd[1], &c, 1) != 1) fail("peer command: %s", strerror(errno));
  char line[200];
  size_t n = 0;
  struct pollfd p = {rep[0], POLLIN, 0};
  for (;;) {
    int pr = poll(&p, 1, 10000);
    if (pr < 0 && errno == EINTR) continue; /* our handler ran ('h') */
    if (pr <= 0) fail("peer did not answer command %c", c);
    if (read(rep[0], line + n, 1) != 1) fail("peer closed its answer pipe (command %c)", c);
    if (line[n] == '\n' || n == sizeof line - 2) break;
    n++;
  }
  line[n] = 0;
  if (strcmp(line, "ok")) fail("command %c: %s", c, line);
}

/* A probe that fails is named on stderr and counted; the run goes on so that one run names every
 * leak, and fails at the end of the phase. */
static int nleaks;
static char first_leak[400];
#define PCHECK(cond, ...)                                         \
  do {                                                            \
    if (!(cond)) {                                                \
      char _m[400];                                               \
      snprintf(_m, sizeof _m, __VA_ARGS__);                       \
      fprintf(stderr, "leak: %s\n", _m);                          \
      if (!nleaks++) snprintf(first_leak, sizeof first_leak, "%s", _m); \
    }                                                             \
  } while (0)
static void phase_end(void) {
  if (nleaks) fail("%d probe(s) failed; first: %s", nleaks, first_leak);
}

static void* thr_main(void* u) {
  (void)u;
  thr_tid = gettid();
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIG_THR);
  for (;;) {
    siginfo_t si;
    if (sigwaitinfo(&s, &si) != SIG_THR) continue;
    if (write(thr_pipe[1], &si, sizeof si) != sizeof si) _exit(1);
  }
}

/* A siginfo the thread received (tgkill or a timer aimed at it). */
static void thr_got(siginfo_t* si, const char* what) {
  struct pollfd p = {thr_pipe[0], POLLIN, 0};
  if (poll(&p, 1, 10000) <= 0) fail("%s: the thread got no signal within 10 s", what);
  if (read(thr_pipe[0], si, sizeof *si) != sizeof *si) fail("%s: short read", what);
}

static long status_num(const char* path, const char* key) {
  char v[128];
  if (proc_status_field(path, key, v, sizeof v)) return -1000;
  return atol(v);
}

static void checks(const char* phase) {
  siginfo_t si;
  pid_t me = getpid();

  /* signals from the peer */
  ask('q');
  wait_sig(SIGUSR1, &si, "sigqueue from the peer");
  PCHECK(si.si_pid == kid && si.si_code == SI_QUEUE, "%s: sigqueue from the peer %d: si_pid %d code %d", phase, (int)kid,
        (int)si.si_pid, si.si_code);
  ask('k');
  wait_sig(SIGUSR1, &si, "kill from the peer");
  PCHECK(si.si_pid == kid && si.si_code == SI_USER, "%s: kill from the peer %d: si_pid %d code %d", phase, (int)kid,
        (int)si.si_pid, si.si_code);
  /* signals to the peer, which checks si_pid against its getppid() */
  PCHECK(kill(kid, SIGUSR2) == 0, "%s: kill(peer %d): %s", phase, (int)kid, strerror(errno));
  ask('w');
  union sigval v = {.sival_int = 3};
  PCHECK(sigqueue(kid, SIGUSR2, v) == 0, "%s: sigqueue(peer %d): %s", phase, (int)kid, strerror(errno));
  ask('w');
  int pfd = (int)syscall(SYS_pidfd_open, kid, 0);
  PCHECK(pfd >= 0, "%s: pidfd_open(peer %d): %s", phase, (int)kid, strerror(errno));
  PCHECK(syscall(SYS_pidfd_send_signal, pfd, SIGUSR2, NULL, 0) == 0, "%s: pidfd_send_signal: %s", phase, strerror(errno));
  ask('w');
  close(pfd);

  /* a handler's siginfo */
  handler_pid = 0;



  ask('h');
  for (int i = 0; i < 10000 && !handler_pid; i++) usleep(1000);
  PCHECK(handler_pid == kid && handler_code == SI_QUEUE, "%s: SA_SIGINFO handler's si_pid %d code %d, the peer %d sent",
         phase, (int)handler_pid, handler_code, (int)kid);

  /* a connection the peer makes now: SO_PEERCRED and the SCM_CREDENTIALS it sends with its pid */
  int ls = socket(AF_UNIX, SOCK_STREAM, 0);
  int one = 1;
  CHECK(ls >= 0 && setsockopt(ls, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) == 0 &&
            bind(ls, (struct sockaddr*)&sun_addr, sun_len) == 0 && listen(ls, 1) == 0,
        "listen: %s", strerror(errno));
  ask('c');
  int cfd = accept(ls, NULL, NULL);
  CHECK(cfd >= 0, "accept: %s", strerror(errno));
  struct ucred pc;
  socklen_t pl = sizeof pc;
  PCHECK(getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &pc, &pl) == 0 && pc.pid == kid, "%s: SO_PEERCRED pid %d, the peer %d",
         phase, (int)pc.pid, (int)kid);
  union {
    char b[CMSG_SPACE(sizeof(struct ucred))];
    struct cmsghdr a;
  } rb;
  char one_byte;
  struct iovec riov = {&one_byte, 1};
  struct msghdr rm = {.msg_iov = &riov, .msg_iovlen = 1, .msg_control = rb.b, .msg_controllen = sizeof rb.b};
  CHECK(recvmsg(cfd, &rm, 0) == 1, "recvmsg: %s", strerror(errno));
  struct cmsghdr* rc = CMSG_FIRSTHDR(&rm);
  struct ucred got = {0, 0, 0};
  if (rc && rc->cmsg_type == SCM_CREDENTIALS) memcpy(&got, CMSG_DATA(rc), sizeof got);
  PCHECK(got.pid == kid, "%s: SCM_CREDENTIALS pid %d, the peer %d sent its own", phase, (int)got.pid, (int)kid);
  close(cfd);
  close(ls);

  /* a lock the peer takes now: F_GETLK's l_pid; owners set to the peer: F_GETOWN, F_GETOWN_EX */
  ask('l');
  struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
  PCHECK(fcntl(lockfd, F_GETLK, &fl) == 0 && fl.l_type == F_WRLCK && fl.l_pid == kid,
         "%s: F_GETLK type %d l_pid %d, the peer %d holds it", phase, fl.l_type, (int)fl.l_pid, (int)kid);
  ask('u');
  int ofd = open("/dev/null", O_RDONLY);
  PCHECK(fcntl(ofd, F_SETOWN, kid) == 0 && fcntl(ofd, F_GETOWN) == kid, "%s: F_GETOWN %d after F_SETOWN(peer %d)",
         phase, fcntl(ofd, F_GETOWN), (int)kid);
  struct f_owner_ex ox = {F_OWNER_PGRP, kid};
  struct f_owner_ex oy = {0, 0};
  PCHECK(fcntl(ofd, F_SETOWN_EX, &ox) == 0 && fcntl(ofd, F_GETOWN_EX, &oy) == 0 && oy.type == F_OWNER_PGRP && oy.pid == kid,
         "%s: F_GETOWN_EX type %d pid %d after F_SETOWN_EX(group %d)", phase, oy.type, (int)oy.pid, (int)kid);
  PCHECK(fcntl(ofd, F_GETOWN) == -kid, "%s: F_GETOWN %d for the group %d", phase, fcntl(ofd, F_GETOWN), (int)kid);
  close(ofd);

  /* ids of the peer asked by its id */
  PCHECK(getpgid(kid) == kid, "%s: getpgid(peer %d) = %d (it made its own group)", phase, (int)kid, (int)getpgid(kid));
  PCHECK(getsid(kid) == getsid(0), "%s: getsid(peer) %d, ours %d", phase, (int)getsid(kid), (int)getsid(0));
  errno = 0;
  int pr = getpriority(PRIO_PROCESS, (id_t)kid);
  PCHECK(pr == 7 && errno == 0, "%s: getpriority(peer) = %d (%s), it set 7", phase, pr, strerror(errno));
  PCHECK(getpriority(PRIO_PGRP, (id_t)kid) == 7, "%s: getpriority(PRIO_PGRP, peer's group) %d", phase,
        getpriority(PRIO_PGRP, (id_t)kid));
  long io = syscall(SYS_ioprio_get, 1 /*IOPRIO_WHO_PROCESS*/, kid);
  PCHECK(io == ((2 << 13) | 6), "%s: ioprio_get(peer) = %ld (%s), it set best-effort 6", phase, io, strerror(errno));
  struct rlimit rl;
  PCHECK(prlimit(kid, RLIMIT_NOFILE, NULL, &rl) == 0 && rl.rlim_cur == 99, "%s: prlimit(peer) NOFILE %ld (%s)", phase,
        (long)rl.rlim_cur, strerror(errno));
  cpu_set_t cs;
  PCHECK(sched_getaffinity(kid, sizeof cs, &cs) == 0, "%s: sched_getaffinity(peer): %s", phase, strerror(errno));

  /* SysV: the last pids */
  ask('s');
  PCHECK(semctl(semid, 0, GETPID) == kid, "%s: semctl GETPID %d, the peer %d did the last semop", phase,
        semctl(semid, 0, GETPID), (int)kid);
  ask('m');
  struct msqid_ds mq;
  CHECK(msgctl(msqid, IPC_STAT, &mq) == 0, "msgctl: %s", strerror(errno));
  PCHECK(mq.msg_lspid == kid, "%s: msgctl IPC_STAT msg_lspid %d, the peer %d sent", phase, (int)mq.msg_lspid, (int)kid);
  struct {
    long t;
    char b[4];
  } m;
  CHECK(msgrcv(msqid, &m, 4, 0, IPC_NOWAIT) == 4, "msgrcv: %s", strerror(errno));
  PCHECK(msgctl(msqid, IPC_STAT, &mq) == 0 && mq.msg_lrpid == me, "%s: msg_lrpid %d, we %d received", phase,
        (int)mq.msg_lrpid, (int)me);
  struct shmid_ds sd;
  CHECK(shmctl(shmid, IPC_STAT, &sd) == 0, "shmctl: %s", strerror(errno));
  PCHECK(sd.shm_lpid == kid && sd.shm_cpid == me, "%s: shmctl IPC_STAT shm_lpid %d shm_cpid %d, want %d and %d", phase,
        (int)sd.shm_lpid, (int)sd.shm_cpid, (int)kid, (int)me);

  /* a message queue's notification: si_pid is the sender's */
  mqd_t q = mq_open(mqname, O_RDONLY);
  CHECK(q != (mqd_t)-1, "mq_open: %s", strerror(errno));
  struct sigevent ev;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_SIGNAL;
  ev.sigev_signo = SIG_MQ;
  CHECK(mq_notify(q, &ev) == 0, "mq_notify: %s", strerror(errno));
  ask('n');
  wait_sig(SIG_MQ, &si, "mq_notify");
  PCHECK(si.si_code == SI_MESGQ && si.si_pid == kid, "%s: mq_notify signal si_pid %d code %d, the peer %d sent", phase,
        (int)si.si_pid, si.si_code, (int)kid);
  char b[16];
  mq_receive(q, b, sizeof b, NULL);
  mq_close(q);

  /* another thread by its id */
  pid_t t = thr_tid;
  PCHECK(tgkill(me, t, SIG_THR) == 0, "%s: tgkill(%d, thread %d): %s", phase, (int)me, (int)t, strerror(errno));
  thr_got(&si, "tgkill");
  PCHECK(si.si_pid == me, "%s: tgkill's si_pid %d code %d, want %d", phase, (int)si.si_pid, si.si_code, (int)me);
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_THREAD_ID;
  ev.sigev_signo = SIG_THR;
  ev._sigev_un._tid = t;
  timer_t tm;
  CHECK(timer_create(CLOCK_MONOTONIC, &ev, &tm) == 0, "%s: timer_create SIGEV_THREAD_ID thread %d: %s", phase, (int)t,
        strerror(errno));
  struct itimerspec its = {{0, 0}, {0, 1000000}};
  timer_settime(tm, 0, &its, NULL);
  thr_got(&si, "SIGEV_THREAD_ID timer");
  PCHECK(si.si_code == SI_TIMER, "%s: timer signal code %d", phase, si.si_code);
  timer_delete(tm);

  /* /proc */
  PCHECK(status_num("/proc/self/status", "Pid") == me, "%s: /proc/self/status Pid", phase);
  PCHECK(status_num("/proc/self/status", "Tgid") == me, "%s: /proc/self/status Tgid", phase);
  PCHECK(status_num("/proc/self/status", "PPid") == getppid(), "%s: /proc/self/status PPid", phase);
  PCHECK(status_num("/proc/self/status", "TracerPid") == 0, "%s: /proc/self/status TracerPid %ld", phase,
        status_num("/proc/self/status", "TracerPid"));
  char nsp[128];
  PCHECK(proc_status_field("/proc/self/status", "NSpid", nsp, sizeof nsp) == 0 && atol(nsp) == me &&
            !strchr(nsp, '\t') && !strchr(nsp, ' '),
        "%s: /proc/self/status NSpid '%s', getpid() %d", phase, nsp, (int)me);
  char path[96];
  snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)t);
  PCHECK(status_num(path, "Pid") == t, "%s: %s Pid %ld, the thread's gettid() %d", phase, path, status_num(path, "Pid"),
        (int)t);
  PCHECK(proc_status_field(path, "NSpid", nsp, sizeof nsp) == 0 && atol(nsp) == t, "%s: %s NSpid '%s'", phase, path, nsp);
  DIR* d = opendir("/proc/self/task");
  CHECK(d, "opendir /proc/self/task: %s", strerror(errno));
  int seen_me = 0, seen_t = 0, n = 0;
  struct dirent* e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    n++;
    if (atoi(e->d_name) == me) seen_me = 1;
    if (atoi(e->d_name) == t) seen_t = 1;
  }
  closedir(d);
  PCHECK(seen_me && seen_t && n == 2, "%s: /proc/self/task lists %d entries, main %d thread %d", phase, n, seen_me,
        seen_t);
  char lk[96];
  ssize_t ln = readlink("/proc/thread-self", lk, sizeof lk - 1);
  CHECK(ln > 0, "readlink /proc/thread-self: %s", strerror(errno));
  lk[ln] = 0;
  char want[96];
  snprintf(want, sizeof want, "%d/task/%d", (int)me, (int)gettid());
  PCHECK(!strcmp(lk, want), "%s: /proc/thread-self -> %s, want %s", phase, lk, want);
  snprintf(path, sizeof path, "/proc/%d/status", (int)kid);
  PCHECK(status_num(path, "Pid") == kid && status_num(path, "PPid") == me, "%s: %s Pid %ld PPid %ld", phase, path,
        status_num(path, "Pid"), status_num(path, "PPid"));
  PCHECK(proc_status_field(path, "NSpid", nsp, sizeof nsp) == 0 && atol(nsp) == kid, "%s: %s NSpid '%s'", phase, path, nsp);
  snprintf(path, sizeof path, "/proc/%d/stat", (int)kid);
  FILE* f = fopen(path, "r");
  CHECK(f, "%s: fopen %s: %s", phase, path, strerror(errno));
  long sp = 0, spp = 0, spg = 0;
  char st;
  CHECK(fscanf(f, "%ld %*s %c %ld %ld", &sp, &st, &spp, &spg) == 4, "parse %s", path);
  fclose(f);
  PCHECK(sp == kid && spp == me && spg == kid, "%s: %s pid %ld ppid %ld pgrp %ld", phase, path, sp, spp, spg);
}

/* The peer's end: SIGCHLD's si_pid, waitid's si_pid, wait4's return. */
static void exit_checks(pid_t k, int cmdfd, const char* phase) {
  char c = 'x';
  if (write(cmdfd, &c, 1) != 1) fail("exit command: %s", strerror(errno));
  siginfo_t si;
  wait_sig(SIGCHLD, &si, "SIGCHLD");
  PCHECK(si.si_pid == k && si.si_code == CLD_EXITED && si.si_status == 5, "%s: SIGCHLD si_pid %d code %d status %d, child %d",
        phase, (int)si.si_pid, si.si_code, si.si_status, (int)k);
  memset(&si, 0, sizeof si);
  PCHECK(waitid(P_ALL, 0, &si, WEXITED | WNOWAIT) == 0 && si.si_pid == k, "%s: waitid si_pid %d, child %d", phase,
        (int)si.si_pid, (int)k);
  int status;
  pid_t w = wait4(-1, &status, 0, NULL);
  for (int i = 0; i < corpus_npeers; i++)
    if (corpus_peers[i] == k) corpus_peers[i] = 0; /* reaped: nothing to kill at exit */
  PCHECK(w == k && WEXITSTATUS(status) == 5, "%s: wait4 returned %d, child %d", phase, (int)w, (int)k);
}

static pid_t start_peer(void) {
  pid_t p = fork();
  if (p < 0) fail("fork: %s", strerror(errno));
  if (p == 0) {
    /* our copies of the parent's ends: a parent that dies ends our loop (EOF) */
    close(cmd[1]);
    close(rep[0]);
    setpgid(0, 0);
    setpriority(PRIO_PROCESS, 0, 7);
    syscall(SYS_ioprio_set, 1, 0, (2 << 13) | 6);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = 99;
    setrlimit(RLIMIT_NOFILE, &rl);
    peer_loop();
  }
  setpgid(p, p);
  peer(p); /* killed at exit if a check fails before it ends */
  ask('k'); /* it runs its loop (its group is set): a first command, its signal drained */
  siginfo_t si;
  wait_sig(SIGUSR1, &si, "peer start");
  return p;
}

int main(void) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  sigaddset(&s, SIGUSR2);
  sigaddset(&s, SIGCHLD);
  sigaddset(&s, SIG_THR);
  sigaddset(&s, SIG_MQ);
  sigprocmask(SIG_BLOCK, &s, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sig;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigaction(SIGRTMIN + 5, &sa, NULL);
  sun_addr.sun_family = AF_UNIX;
  snprintf(sun_addr.sun_path + 1, sizeof sun_addr.sun_path - 1, "amber-pid-leaks-%d", (int)getpid());
  sun_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sun_addr.sun_path + 1));
  semid = SYS(semget(IPC_PRIVATE, 1, 0600));
  msqid = SYS(msgget(IPC_PRIVATE, 0600));
  shmid = SYS(shmget(IPC_PRIVATE, 4096, 0600));
  snprintf(mqname, sizeof mqname, "/amber-pid-leaks-%d", (int)getpid());
  struct mq_attr a = {.mq_maxmsg = 4, .mq_msgsize = 8};
  mqd_t q = mq_open(mqname, O_CREAT | O_RDWR, 0600, &a);
  if (q == (mqd_t)-1) {
    mqname[0] = 0;
    skip("mq_open: %s", strerror(errno));
  }
  mq_close(q);
  on_exit_cleanup(cleanup);
  char lp[] = "/tmp/amber-pid-leaks-lock-XXXXXX";
  lockfd = SYS(mkstemp(lp));
  unlink(lp);
  SYS(ftruncate(lockfd, 64));
  SYS(pipe(cmd));
  SYS(pipe(rep));
  SYS(pipe(thr_pipe));
  pthread_t th;
  if (pthread_create(&th, NULL, thr_main, NULL)) fail("pthread_create");
  while (!thr_tid) usleep(1000);

  /* a peer that ends before the checkpoint, for the exit checks there */
  kid = start_peer();
  checks("before the checkpoint");
  exit_checks(kid, cmd[1], "before the checkpoint");
  phase_end();
  kid = start_peer();
  checks("before the checkpoint (second peer)");
  phase_end();

  ready_wait();

  checks("after the restart");
  exit_checks(kid, cmd[1], "after the restart");
  phase_end();
  pass();
}
