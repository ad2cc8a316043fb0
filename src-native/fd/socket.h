// What the two socket kinds share (fd/unix.cc, fd/inet.cc): the record (amber_sockinfo in the
// descriptor's data, then the bytes waiting in its receive queue), listeners bound again, and
// connections rebuilt as new pairs whose ends go to every descriptor of the two saved sockets.
#ifndef AMBER_FD_SOCKET_H
#define AMBER_FD_SOCKET_H

#include "fd/ops.h"

#ifdef AMBER_AGENT
namespace fd {
// Family, type, protocol, both addresses, listening or connected (subkind), send queue.
void socket_describe(int fd, amber_sockinfo& si, uint32_t* subkind);
// Stores si, then (connected) the bytes waiting to be read, peeked: the application still reads
// them if the checkpoint is not used. Sets f.data.
void socket_store(amber::Capture& c, amber_fd& f, amber_sockinfo& si);
}  // namespace fd
#endif

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace rs {
struct Ref;
bool sockinfo_of(int img, const amber_fd& f, amber_sockinfo* si, const char** inflight);
void warn_sock(const char* what, const amber_fd& f, long err);
// A listening socket bound and listening again; every descriptor of it in the tree gets it.
void listen_again(fd::Kind k, const Ref* first, const Ref* end);
// Gives every descriptor of the saved sockets inode_a and inode_b (of kind k) the new ends a and
// b, each end's waiting bytes written by the other end first.
void give_pair(fd::Kind k, int a, int b, uint64_t inode_a, uint64_t inode_b);
// Makes a connected pair for two saved ends (the kind's own way) and hands it out.
bool connect_ends(fd::Kind k, const Ref& ra, const amber_sockinfo& sa, const char* ina, const Ref& rb,
                  const amber_sockinfo& sb, const char* inb);
// Pairs the connected sockets of kind k that `want` accepts by their addresses: one end's local
// address is the other's peer. Unpaired ones are named (/dev/null follows).
template <typename W> void pair_by_address(fd::Kind k, W want);
// The group of refs of kind k with this inode (the index is sorted by inode within a kind).
const Ref* refs_with_inode(fd::Kind k, uint64_t inode, const Ref** end);
}  // namespace rs

namespace fd {
// The kinds' own ways to make a connected pair.
bool unixsk_pair(const amber_sockinfo& si, int* a, int* b);
bool inet_pair(const amber_sockinfo& si, int* a, int* b);
}  // namespace fd

namespace rs {
uint64_t addr_hash(const uint8_t* a, uint32_t len, uint16_t family);

template <typename W>
void pair_by_address(fd::Kind k, W want) {
  struct End { uint64_t local, peer; const Ref* ref; amber_sockinfo si; const char* in; bool paired; };
  uint32_t n = 0;
  for (const Ref* r = refs_begin(k); r != refs_end(k); r++) n++;
  End* e = alloc_n<End>(n ? n : 1);
  uint32_t m = 0;
  for (const Ref* r = refs_begin(k); r != refs_end(k); r++) {
    if (r != refs_begin(k) && r[-1].inode == r->inode) continue;  // one per socket
    const amber_fd& f = fd_of(*r);
    if (f.subkind != AMBER_SOCK_CONNECTED || T.img[r->img].prep[r->idx] >= 0) continue;
    End& x = e[m];
    if (!sockinfo_of((int)r->img, f, &x.si, &x.in) || !want(f, x.si)) continue;
    x.local = addr_hash(x.si.local, x.si.local_len, x.si.family);
    x.peer = addr_hash(x.si.peer, x.si.peer_len, x.si.family);
    x.ref = r;
    x.paired = false;
    m++;
  }
  // By local address, to find each end's partner by its peer address.
  uint32_t* by = alloc_n<uint32_t>(m ? m : 1);
  for (uint32_t i = 0; i < m; i++) by[i] = i;
  sort(by, m, [&](uint32_t a, uint32_t b) { return e[a].local < e[b].local; });
  for (uint32_t i = 0; i < m; i++) {
    End& a = e[i];
    if (a.paired) continue;
    uint32_t lo = 0, hi = m;
    while (lo < hi) {
      uint32_t mid = (lo + hi) / 2;
      if (e[by[mid]].local < a.peer) lo = mid + 1;
      else hi = mid;
    }
    End* b = nullptr;
    for (uint32_t j = lo; j < m && e[by[j]].local == a.peer && !b; j++) {
      End& c = e[by[j]];
      if (&c == &a || c.paired || c.si.family != a.si.family || c.si.local_len != a.si.peer_len ||
          c.si.peer_len != a.si.local_len || memcmp(c.si.local, a.si.peer, a.si.peer_len) ||
          memcmp(c.si.peer, a.si.local, a.si.local_len))
        continue;
      b = &c;
    }
    if (!b) { warn_sock("its other end is not part of the computation", fd_of(*a.ref), -107 /*ENOTCONN*/); continue; }
    a.paired = b->paired = true;
    connect_ends(k, *a.ref, a.si, a.in, *b->ref, b->si, b->in);
  }
}
}  // namespace rs
#endif

#endif
