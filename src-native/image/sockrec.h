/*
 * The data of a saved socket (AMBER_FD_SOCKET, format 1.2+; layout in format.h): one parser shared
 * by the restorer (freestanding), the addon and the tests, so that nobody walks these bytes with
 * arithmetic of their own. Everything is checked against the data's length; nothing is aligned.
 *
 *   amber_sockview v;
 *   if (!amber_sock_parse(data, len, &v)) ...            // bad record: treat as not rebuildable
 *   const char* cur = v.msgs;
 *   amber_sockmsg_view m;
 *   while (amber_sock_next_msg(&v, &cur, &m)) ...         // m.data, m.addr, amber_sock_msg_fd(&m, k)
 */
#ifndef AMBER_IMAGE_SOCKREC_H
#define AMBER_IMAGE_SOCKREC_H

#include <stdint.h>

#include "image/format.h"

#define AMBER_SOCK_ADDR_MAX 128u

typedef struct amber_sockview {
  amber_sockinfo si;
  const char* queued;        /* si.inflight_len bytes waiting to be read (streams: all of them) */
  int has_x;                 /* format 1.4 extension present */
  amber_sockx x;             /* zero when absent (then x.peek_off is -1) */
  const char* opts;          /* x.nopts amber_sockopt */
  const char* msgs;          /* x.nmsgs messages */
  const char* msgs_end;
  const char* pending;       /* x.npending uint32 */
} amber_sockview;

typedef struct amber_sockmsg_view {
  amber_sockmsg m;
  const char* addr;          /* m.addr_len bytes */
  const char* data;          /* datagrams: m.len bytes; streams: null (the bytes are in queued) */
  const char* fds;           /* m.nfds uint32 */
} amber_sockmsg_view;

static inline void amber__sk_copy(void* d, const void* s, uint32_t n) {
  unsigned char* dd = (unsigned char*)d;
  const unsigned char* ss = (const unsigned char*)s;
  for (uint32_t i = 0; i < n; i++) dd[i] = ss[i];
}

/* Streams keep their messages' bytes in `queued`; every other type inline. */
static inline int amber_sock_inline_data(const amber_sockinfo* si) { return si->type != 1 /*SOCK_STREAM*/; }

static inline int amber_sock_parse(const char* d, uint32_t len, amber_sockview* v) {
  uint32_t i;
  for (i = 0; i < (uint32_t)sizeof *v; i++) ((unsigned char*)v)[i] = 0;
  v->x.peek_off = -1;
  if (!d || len < sizeof(amber_sockinfo)) return 0;
  amber__sk_copy(&v->si, d, sizeof v->si);
  if (v->si.local_len > sizeof v->si.local || v->si.peer_len > sizeof v->si.peer) return 0;
  uint64_t at = sizeof(amber_sockinfo);
  if (at + v->si.inflight_len > len) return 0;
  v->queued = d + at;
  at += v->si.inflight_len;
  if (at + sizeof(amber_sockx) > len) return 1; /* before 1.4, or no extension */
  amber_sockx x;
  amber__sk_copy(&x, d + at, sizeof x);
  if (x.magic != AMBER_SOCKX_MAGIC) return 1;
  if (x.size < sizeof x || at + x.size > len) return 0;
  const uint64_t end = at + x.size;
  uint64_t p = at + sizeof x;
  if (p + (uint64_t)x.nopts * sizeof(amber_sockopt) > end) return 0;
  v->opts = d + p;
  p += (uint64_t)x.nopts * sizeof(amber_sockopt);
  v->msgs = d + p;
  /* Walk the messages once to find where they end (and that they fit). */
  uint64_t stream_bytes = 0;
  for (uint32_t k = 0; k < x.nmsgs; k++) {
    amber_sockmsg m;
    if (p + sizeof m > end) return 0;
    amber__sk_copy(&m, d + p, sizeof m);
    if (m.addr_len > AMBER_SOCK_ADDR_MAX) return 0;
    uint64_t body = (uint64_t)m.addr_len + (amber_sock_inline_data(&v->si) ? m.len : 0) + (uint64_t)m.nfds * 4u;
    if (p + sizeof m + body > end) return 0;
    if (!amber_sock_inline_data(&v->si)) stream_bytes += m.len;
    p += sizeof m + body;
  }
  if (stream_bytes > v->si.inflight_len) return 0;
  v->msgs_end = d + p;
  if (p + (uint64_t)x.npending * 4u > end) return 0;
  v->pending = d + p;
  v->x = x;
  v->has_x = 1;
  return 1;
}

/* The next message at *cur (start with v->msgs); 0 at the end. */
static inline int amber_sock_next_msg(const amber_sockview* v, const char** cur, amber_sockmsg_view* out) {
  if (!v->has_x || !*cur || *cur >= v->msgs_end) return 0;
  const char* p = *cur;
  amber__sk_copy(&out->m, p, sizeof out->m);
  p += sizeof out->m;
  out->addr = p;
  p += out->m.addr_len;
  out->data = 0;
  if (amber_sock_inline_data(&v->si)) {
    out->data = p;
    p += out->m.len;
  }
  out->fds = p;
  p += (uint64_t)out->m.nfds * 4u;
  *cur = p;
  return 1;
}

static inline uint32_t amber_sock_msg_fd(const amber_sockmsg_view* m, uint32_t k) {
  uint32_t x;
  amber__sk_copy(&x, m->fds + 4u * k, 4);
  return x;
}
static inline uint32_t amber_sock_pending(const amber_sockview* v, uint32_t k) {
  uint32_t x;
  amber__sk_copy(&x, v->pending + 4u * k, 4);
  return x;
}
static inline amber_sockopt amber_sock_opt(const amber_sockview* v, uint32_t k) {
  amber_sockopt o;
  amber__sk_copy(&o, v->opts + (uint64_t)k * sizeof o, sizeof o);
  return o;
}

#endif
