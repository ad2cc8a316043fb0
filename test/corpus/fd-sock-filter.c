/* A UDP socket with a classic BPF filter (SO_ATTACH_FILTER) that keeps only datagrams whose first
 * byte is 'A', locked (SO_LOCK_FILTER), with one accepted datagram queued. After restart
 * SO_GET_FILTER returns the same 4 instructions, SO_LOCK_FILTER reads 1 (detaching fails with
 * EPERM), the queued datagram is there, and of two new datagrams "Bxx" and "Ayy" only "Ayy"
 * arrives. */
#include "net.h"
#include <linux/filter.h>
#include <poll.h>

int main(void) {
  int s = SYS(socket(AF_INET, SOCK_DGRAM, 0));
  struct sockaddr_in a = lo4(0);
  SYS(bind(s, (struct sockaddr*)&a, sizeof a));
  a = lo4(port_of(s));
  struct sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 8), /* UDP payload starts after the 8-byte header */
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 'A', 0, 1),
      BPF_STMT(BPF_RET | BPF_K, 0xffff),
      BPF_STMT(BPF_RET | BPF_K, 0),
  };
  struct sock_fprog prog = {.len = 4, .filter = code};
  SYS(setsockopt(s, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog));
  int one = 1;
  SYS(setsockopt(s, SOL_SOCKET, SO_LOCK_FILTER, &one, sizeof one));
  int c = SYS(socket(AF_INET, SOCK_DGRAM, 0));
  SYS(sendto(c, "Bqq", 3, 0, (struct sockaddr*)&a, sizeof a));
  SYS(sendto(c, "Aqq", 3, 0, (struct sockaddr*)&a, sizeof a));
  struct pollfd p = {.fd = s, .events = POLLIN};
  if (poll(&p, 1, 5000) != 1) fail("setup: nothing queued");

  ready_wait();

  struct sock_filter got[8];
  socklen_t gl = 8; /* SO_GET_FILTER counts instructions, not bytes */
  CHECK(!getsockopt(s, SOL_SOCKET, SO_GET_FILTER, got, &gl), "SO_GET_FILTER: %s", strerror(errno));
  CHECK(gl == 4, "SO_GET_FILTER: %u instructions, want 4 (the filter is gone?)", (unsigned)gl);
  CHECK(!memcmp(got, code, sizeof code), "SO_GET_FILTER: the instructions differ");
  CHECK(getint(s, SOL_SOCKET, SO_LOCK_FILTER) == 1, "SO_LOCK_FILTER %d, want 1", getint(s, SOL_SOCKET, SO_LOCK_FILTER));
  CHECK(setsockopt(s, SOL_SOCKET, SO_DETACH_FILTER, &one, sizeof one) < 0 && errno == EPERM,
        "detaching the locked filter did not fail with EPERM");
  char b[8] = {0};
  ssize_t n = recv(s, b, sizeof b, MSG_DONTWAIT);
  CHECK(n == 3 && !memcmp(b, "Aqq", 3), "the queued datagram: %zd \"%.3s\", want \"Aqq\"", n, b);
  SYS(sendto(c, "Bxx", 3, 0, (struct sockaddr*)&a, sizeof a));
  SYS(sendto(c, "Ayy", 3, 0, (struct sockaddr*)&a, sizeof a));
  CHECK(poll(&p, 1, 5000) == 1, "no datagram after the restart");
  memset(b, 0, sizeof b);
  n = recv(s, b, sizeof b, MSG_DONTWAIT);
  CHECK(n == 3 && !memcmp(b, "Ayy", 3), "first datagram after restart: %zd \"%.3s\", want \"Ayy\" (the filter let \"Bxx\" in)", n, b);
  CHECK(recv(s, b, sizeof b, MSG_DONTWAIT) < 0 && errno == EAGAIN, "a second datagram arrived");
  pass();
}
