/* The SysV IPC wrappers (msgget, semget, semctl, semop, semtimedop) and mq_notify on invalid
 * pointers, ids and values: the kernel's answer, before the checkpoint and after the restart.
 * semop/semtimedop keep SEM_UNDO adjustments (they read the operations themselves), semctl GETPID
 * gives a pid, mq_notify keeps each queue's sigevent (it reads it itself). */
#include "efault.h"
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <mqueue.h>

union semun {
  int val;
  struct semid_ds* buf;
  unsigned short* array;
};

static int semid = -1;
static mqd_t mq = -1;
static char mqname[64];
static void cleanup(void) {
  if (semid >= 0) semctl(semid, 0, IPC_RMID);
  if (mq >= 0) mq_unlink(mqname);
}

static void checks(void) {
  struct sembuf op = {0, -1, IPC_NOWAIT | SEM_UNDO};
  struct sembuf big = {99, 1, 0};
  struct timespec zero = {0, 0}, badns = {0, 2000000000L};
  struct semid_ds ds;
  unsigned short vals[2];

  T(msgget(0x7a6b5c4d, 0), SYS_msgget, 0x7a6b5c4d, 0);
  T(msgget(0x7a6b5c4d, 0x7fff0000), SYS_msgget, 0x7a6b5c4d, 0x7fff0000);
  T(semget(0x7a6b5c4e, 1, 0), SYS_semget, 0x7a6b5c4e, 1, 0);
  T(semget(IPC_PRIVATE, -1, 0600), SYS_semget, IPC_PRIVATE, -1, 0600);
  T(semget(IPC_PRIVATE, 1 << 20, 0600), SYS_semget, IPC_PRIVATE, 1 << 20, 0600);

  T(semctl(-1, 0, IPC_STAT, P1), SYS_semctl, -1, 0, IPC_STAT, P1);
  T(semctl(semid, 0, IPC_STAT, P1), SYS_semctl, semid, 0, IPC_STAT, P1);
  T(semctl(semid, 0, IPC_STAT, P_RO), SYS_semctl, semid, 0, IPC_STAT, P_RO);
  T(semctl(semid, 0, IPC_STAT, NULL), SYS_semctl, semid, 0, IPC_STAT, NULL);
  T(semctl(semid, 0, IPC_SET, P_NONE), SYS_semctl, semid, 0, IPC_SET, P_NONE);
  T(semctl(semid, 0, GETALL, P1), SYS_semctl, semid, 0, GETALL, P1);
  T(semctl(semid, 0, GETALL, P_RO), SYS_semctl, semid, 0, GETALL, P_RO);
  T(semctl(semid, 0, SETALL, P1), SYS_semctl, semid, 0, SETALL, P1);
  T(semctl(semid, 0, SETALL, P_NONE), SYS_semctl, semid, 0, SETALL, P_NONE);
  T(semctl(semid, 99, GETVAL), SYS_semctl, semid, 99, GETVAL);
  T(semctl(semid, -1, GETPID), SYS_semctl, semid, -1, GETPID);
  T(semctl(semid, 0, 999), SYS_semctl, semid, 0, 999);
  T(semctl(semid, 0, SETVAL, 1 << 20), SYS_semctl, semid, 0, SETVAL, 1 << 20);
  T(semctl(semid, 0, SETVAL, -1), SYS_semctl, semid, 0, SETVAL, -1);
  T(semctl(0x7ffffff0, 0, IPC_STAT, &ds), SYS_semctl, 0x7ffffff0, 0, IPC_STAT, &ds);
  T(semctl(semid, 0, SEM_STAT, P1), SYS_semctl, semid, 0, SEM_STAT, P1);
  T(semctl(semid, 0, IPC_INFO, P1), SYS_semctl, semid, 0, IPC_INFO, P1);
  (void)vals;

  T(semop(semid, P1, 1), SYS_semop, semid, P1, 1);
  T(semop(semid, NULL, 1), SYS_semop, semid, NULL, 1);
  T(semop(semid, P_NONE, 2), SYS_semop, semid, P_NONE, 2);
  T(semop(semid, P_UNMAPPED, 1), SYS_semop, semid, P_UNMAPPED, 1);
  T(semop(semid, &op, 0), SYS_semop, semid, &op, 0);
  T(semop(-1, &op, 1), SYS_semop, -1, &op, 1);
  T(semop(-1, P1, 1), SYS_semop, -1, P1, 1);
  T(semop(0x7ffffff0, &op, 1), SYS_semop, 0x7ffffff0, &op, 1);
  T(semop(semid, &op, 100000), SYS_semop, semid, &op, 100000);
  T(semop(semid, &big, 1), SYS_semop, semid, &big, 1);
  T(semop(semid, &op, 1), SYS_semop, semid, &op, 1);
  /* operations that straddle into an unreadable page */
  struct sembuf* edge = (struct sembuf*)((char*)P_RO + 4096 - sizeof(struct sembuf));
  T(semop(semid, (struct sembuf*)((char*)P_NONE - sizeof(struct sembuf)), 2), SYS_semop, semid,
    (char*)P_NONE - sizeof(struct sembuf), 2);
  (void)edge;
  T(semtimedop(semid, P1, 1, &zero), SYS_semtimedop, semid, P1, 1, &zero);
  T(semtimedop(semid, &op, 1, P1), SYS_semtimedop, semid, &op, 1, P1);
  T(semtimedop(semid, &op, 1, P_NONE), SYS_semtimedop, semid, &op, 1, P_NONE);
  T(semtimedop(semid, &op, 1, &badns), SYS_semtimedop, semid, &op, 1, &badns);
  T(semtimedop(semid, NULL, 1, NULL), SYS_semtimedop, semid, NULL, 1, NULL);
  T(semtimedop(semid, &op, 1, &zero), SYS_semtimedop, semid, &op, 1, &zero);
  T(semtimedop(-1, &op, 1, &zero), SYS_semtimedop, -1, &op, 1, &zero);
  T(syscall(SYS_semop, semid, P1, 1), SYS_semop, semid, P1, 1);
  T(syscall(SYS_semtimedop, semid, P1, 1, NULL), SYS_semtimedop, semid, P1, 1, NULL);

  /* mq_notify (never left registered: each success is undone by the next NULL case) */
  struct sigevent badtype = {.sigev_notify = 99}, nosig = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = -1},
                  bigsig = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = 65}, none = {.sigev_notify = SIGEV_NONE};
  T(mq_notify(-1, NULL), SYS_mq_notify, -1, NULL);
  T(mq_notify(-1, &none), SYS_mq_notify, -1, &none);
  /* (no invalid sigevent pointers: glibc reads sigev_notify itself and faults) */
  T(mq_notify(mq, &badtype), SYS_mq_notify, mq, &badtype);
  T(mq_notify(mq, &nosig), SYS_mq_notify, mq, &nosig);
  T(mq_notify(mq, &bigsig), SYS_mq_notify, mq, &bigsig);
  T(mq_notify(0, &none), SYS_mq_notify, 0, &none);
  T(mq_notify(mq, NULL), SYS_mq_notify, mq, NULL);
}

int main(void) {
  semid = SYS(semget(IPC_PRIVATE, 2, 0600));
  snprintf(mqname, sizeof mqname, "/corpus-efault-%d", (int)getpid());
  struct mq_attr at = {.mq_maxmsg = 2, .mq_msgsize = 16};
  mq = mq_open(mqname, O_RDWR | O_CREAT | O_EXCL, 0600, &at);
  on_exit_cleanup(cleanup);
  if (mq < 0) skip("mq_open: %s", strerror(errno));
  return efault_main();
}
