/* A thread blocked in sendmsg() of 3 iovecs (256 KiB) on a Unix stream socket whose send buffer is
 * small (the peer end reads nothing until the go line): the kernel moves it in pieces, so the signal
 * of a checkpoint finds part of it sent. The main thread drains after the go line: sendmsg must
 * return the whole 256 KiB (never EINTR, never short), and the reader gets everything queued
 * before then the 256 KiB, in order, once. */
#include "corpus.h"
#include <sys/socket.h>
#include <sys/uio.h>

#define SENT (256 * 1024)
static int sv[2];
static volatile ssize_t sent = -2;
static volatile int serr;
static void* sender(void* u) {
  (void)u;
  static char b[SENT];
  fill_pattern(b, sizeof b, 91);
  struct iovec iov[3] = {{b, 1000}, {b + 1000, 100000}, {b + 101000, SENT - 101000}};
  struct msghdr m = {.msg_iov = iov, .msg_iovlen = 3};
  sent = sendmsg(sv[0], &m, 0);
  serr = errno;
  return NULL;
}

int main(void) {
  SYS(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  int sz = 4096;
  SYS(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz));
  SYS(setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz));
  /* 1 KiB queued first (it must come out before the sendmsg's bytes); the sendmsg itself then
   * fills the socket and blocks with part of it sent (a socket already full would block before
   * moving a byte, and that case the kernel restarts by itself) */
  SYS(fcntl(sv[0], F_SETFL, O_NONBLOCK));
  static char fillb[1024];
  fill_pattern(fillb, sizeof fillb, 90);
  size_t queued = sizeof fillb;
  CHECK(send(sv[0], fillb, queued, 0) == (ssize_t)queued, "the first 1 KiB: %s", strerror(errno));
  SYS(fcntl(sv[0], F_SETFL, 0));
  pthread_t t;
  if (pthread_create(&t, NULL, sender, NULL)) fail("pthread_create");
  usleep(50000);

  ready_wait();

  CHECK(sent == -2, "sendmsg returned %zd (%s) before anything was read", sent, strerror(serr));
  char* got = malloc(queued + SENT);
  read_exact(sv[1], got, queued, "the queued bytes");
  CHECK(memcmp(got, fillb, queued) == 0, "the %zu queued bytes differ", queued);
  read_exact(sv[1], got, SENT, "the blocked sendmsg's bytes");
  pthread_join(t, NULL);
  CHECK(sent == SENT, "sendmsg returned %zd (%s), want %d", sent, sent < 0 ? strerror(serr) : "short", SENT);
  CHECK(check_pattern(got, SENT, 91) < 0, "the blocked sendmsg's bytes differ");
  expect_empty(sv[1], "socket");
  pass();
}
