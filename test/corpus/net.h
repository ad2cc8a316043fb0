/* Loopback helpers for the socket programs of the corpus. */
#ifndef CORPUS_NET_H
#define CORPUS_NET_H
#include "corpus.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static inline struct sockaddr_in lo4(uint16_t port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

static inline uint16_t port_of(int fd) {
  struct sockaddr_storage s;
  socklen_t l = sizeof s;
  if (getsockname(fd, (struct sockaddr*)&s, &l)) return 0;
  if (s.ss_family == AF_INET) return ntohs(((struct sockaddr_in*)&s)->sin_port);
  if (s.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6*)&s)->sin6_port);
  return 0;
}

/* A TCP listener on 127.0.0.1, an ephemeral port. */
static inline int tcp_listener(int backlog) {
  int l = SYS(socket(AF_INET, SOCK_STREAM, 0));
  struct sockaddr_in a = lo4(0);
  SYS(bind(l, (struct sockaddr*)&a, sizeof a));
  SYS(listen(l, backlog));
  return l;
}

static inline int tcp_connect(uint16_t port) {
  int c = SYS(socket(AF_INET, SOCK_STREAM, 0));
  struct sockaddr_in a = lo4(port);
  SYS(connect(c, (struct sockaddr*)&a, sizeof a));
  return c;
}

static inline int getint(int fd, int level, int opt) {
  int v = -12345;
  socklen_t l = sizeof v;
  if (getsockopt(fd, level, opt, &v, &l)) return -12345;
  return v;
}

/* Wait (up to 1 s) until n bytes are readable on fd without reading them. */
static inline void wait_queued(int fd, int n) {
  char b[65536];
  for (int i = 0; i < 2500; i++) {
    if (recv(fd, b, (size_t)n < sizeof b ? (size_t)n : sizeof b, MSG_PEEK | MSG_DONTWAIT) >= n) return;
    usleep(2000);
  }
}
#endif
