/* TCP over IPv4-mapped IPv6: a dual-stack AF_INET6 listener (IPV6_V6ONLY 0), our child connects
 * to ::ffff:127.0.0.1, bytes queued both ways. After restart the sockets are still AF_INET6 with
 * the mapped peer address, IPV6_V6ONLY still 0, the bytes arrive, and the listener still takes a
 * plain IPv4 client. */
#include "net.h"

int main(void) {
  int l = socket(AF_INET6, SOCK_STREAM, 0);
  if (l < 0) skip("no IPv6: %s", strerror(errno));
  int z = 0;
  SYS(setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &z, sizeof z));
  struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};
  SYS(bind(l, (struct sockaddr*)&a, sizeof a));
  SYS(listen(l, 4));
  uint16_t port = port_of(l);
  int ctl[2];
  SYS(pipe(ctl));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    close(ctl[1]);
    int c = SYS(socket(AF_INET6, SOCK_STREAM, 0));
    struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &to.sin6_addr);
    if (connect(c, (struct sockaddr*)&to, sizeof to)) _exit(10);
    write_all(c, "mapped up", 9);
    char ch, b[16];
    if (read(ctl[0], &ch, 1) != 1) _exit(11);
    read_exact(c, b, 11, "child");
    _exit(memcmp(b, "mapped down", 11) ? 12 : 0);
  }
  peer(kid);
  close(ctl[0]);
  struct sockaddr_in6 from;
  socklen_t fl = sizeof from;
  int s = SYS(accept(l, (struct sockaddr*)&from, &fl));
  write_all(s, "mapped down", 11);
  wait_queued(s, 9);

  ready_wait();

  struct sockaddr_in6 p;
  socklen_t pl = sizeof p;
  CHECK(!getpeername(s, (struct sockaddr*)&p, &pl), "getpeername: %s", strerror(errno));
  char txt[64] = "?";
  inet_ntop(AF_INET6, &p.sin6_addr, txt, sizeof txt);
  CHECK(p.sin6_family == AF_INET6 && !strcmp(txt, "::ffff:127.0.0.1"), "peer is family %d %s, want AF_INET6 ::ffff:127.0.0.1",
        p.sin6_family, txt);
  CHECK(getint(l, IPPROTO_IPV6, IPV6_V6ONLY) == 0, "the listener became IPV6_V6ONLY");
  char b[16];
  read_exact(s, b, 9, "the child's bytes");
  CHECK(!memcmp(b, "mapped up", 9), "the child's bytes differ");
  write_all(ctl[1], "g", 1);
  int st;
  CHECK(waitpid(kid, &st, 0) == kid, "waitpid: %s", strerror(errno));
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child failed (status %#x; 12 = bytes to it differ)", st);
  CHECK(port_of(l) == port, "listener port %u, want %u", port_of(l), port);
  int c4 = tcp_connect(port);
  (void)c4;
  CHECK(accept(l, NULL, NULL) >= 0, "the listener does not take an IPv4 client: %s", strerror(errno));
  pass();
}
