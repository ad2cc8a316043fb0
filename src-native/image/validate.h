/*
 * amber image format v1: validation and checksum helpers, shared by EVERY party that touches an
 * image — the agent's writer (src-native/agent), the freestanding restorer (src-native/restore)
 * and the reader (src-native/image/reader.cc, used by the addon and the tests). Computing the
 * checksums in one place is the point: a writer and a reader that hash differently would produce
 * images that are "corrupt" only in production.
 *
 * FREESTANDING: this header must compile inside the restorer (-ffreestanding -nostdlib
 * -fno-builtin -fno-exceptions -fno-rtti). Hence: no libc calls (only __builtin_mem* which the
 * compiler either expands or lowers to memcpy/memset/memcmp, which the restorer provides), no
 * allocation, no exceptions, no function-local statics (their guards call into libstdc++), and
 * every structure is read through a copy or an aligned pointer so nothing depends on the caller's
 * buffer alignment except where stated. test/native/build.sh checks the undefined symbols of a
 * freestanding build of this header.
 *
 * Error model: every check returns true on success, or false after filling *err (err may be null)
 * with a code (AMBER_E_*), a static message and the absolute FILE offset of the offending thing.
 *
 * Policy for forward compatibility (format.h: "readers accept a newer minor"): an image with a
 * newer minor may carry section types and enum values we do not know; those are skipped/accepted.
 * For an image of our own minor or older they mean a writer bug or corruption and are rejected.
 * Record sizes are fixed for the whole major version (new fields go into reserved space).
 */
#ifndef AMBER_IMAGE_VALIDATE_H
#define AMBER_IMAGE_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "image/format.h"

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#if defined(__STDC_HOSTED__) && __STDC_HOSTED__ == 0
/* xxhash 0.8.1 defines plain static (non-inline) wrappers around malloc/free for its
 * create/free-state API, which we never use; at -O0 the compiler still emits them and the
 * freestanding link would fail on malloc/free. Point them at nothing for this include only
 * (stdlib.h first, so its own declarations are not touched by the macros). */
#include <stdlib.h>
#define malloc(s) ((void)(s), (void*)0)
#define free(p) ((void)(p))
#include <xxhash.h>
#undef malloc
#undef free
#else
#include <xxhash.h>
#endif

enum {
  AMBER_E_OK = 0,
  AMBER_E_NOTIMAGE = 1,   /* bad magic: not an amber image at all */
  AMBER_E_TRUNCATED = 2,  /* file shorter than the header says, or the trailer is missing */
  AMBER_E_VERSION = 3,    /* unknown major version, architecture, page size or codec */
  AMBER_E_CORRUPT = 4,    /* structure inconsistent (checksums were fine: a writer bug) */
  AMBER_E_CHECKSUM = 5,   /* a checksum mismatch */
};

struct amber_err {
  int code;          /* AMBER_E_* */
  const char* what;  /* static, human readable, e.g. "header checksum mismatch" */
  uint64_t offset;   /* absolute file offset of the offending byte/record */
};

/*
 * The parsed metadata: pointers INTO the caller's metadata buffer (which must stay alive and be
 * 8-byte aligned). The first fields are the published API; the trailing ones (meta, meta_len,
 * nplugins) exist so plugin sections can be iterated with amber_plugin_at().
 */
struct amber_view {
  const amber_header* hdr;
  const amber_process* proc;
  const amber_thread* threads;
  uint32_t nthreads;
  const amber_region* regions;
  uint32_t nregions;
  const amber_chunk* chunks;
  uint32_t nchunks;
  const amber_fd* fds;
  uint32_t nfds;
  const amber_timer* timers;
  uint32_t ntimers;
  const char* strings;
  uint32_t strings_len;
  /* additions beyond the brief: */
  const uint8_t* meta;
  uint64_t meta_len;
  uint32_t nplugins;
  /* format 1.4: FILEDATA, the bytes of files that exist nowhere else (deleted files, memfds) */
  const amber_extent* extents;
  uint32_t nextents;
  /* format 1.5: PROCEXT; never null after parsing (all zero for an older image) */
  const amber_process_ext* pext;
};

/* What an image without a PROCEXT section (before 1.5) says: nothing. */
static const amber_process_ext amber__no_pext = {};

/* Every record size is a multiple of 8, so "count * sizeof == section size" holds exactly and
 * records in a section stay 8-byte aligned. */
static_assert(sizeof(amber_section) == 16, "section header");
static_assert(sizeof(amber_process) % 8 == 0, "process record");
static_assert(sizeof(amber_process_ext) % 8 == 0, "process extension record");
static_assert(sizeof(amber_thread) % 8 == 0, "thread record");
static_assert(sizeof(amber_region) % 8 == 0, "region record");
static_assert(sizeof(amber_chunk) % 8 == 0, "chunk record");
static_assert(sizeof(amber_fd) % 8 == 0, "fd record");
static_assert(sizeof(amber_timer) % 8 == 0, "timer record");
static_assert(sizeof(amber_extent) % 8 == 0, "extent record");
/* The header has no interior padding, so hashing "struct bytes, field zeroed" is well defined
 * regardless of how the struct was built. Fields after header_xxh are format 1.4's. */
static_assert(offsetof(amber_header, generation_id) == offsetof(amber_header, header_xxh) + 8 &&
                  offsetof(amber_header, program_xxh) == offsetof(amber_header, generation_id) + 16 &&
                  offsetof(amber_header, program_xxh) + 8 == sizeof(amber_header),
              "header: no padding around the 1.4 fields");

/* ------------------------------------------------------------------------------------------ */
/* internals                                                                                  */

inline bool amber__fail(amber_err* err, int code, const char* what, uint64_t offset) {
  if (err) {
    err->code = code;
    err->what = what;
    err->offset = offset;
  }
  return false;
}

/* a + b <= limit, without overflow */
inline bool amber__fits(uint64_t a, uint64_t b, uint64_t limit) {
  return a <= limit && b <= limit - a;
}

inline uint64_t amber__round8(uint64_t n) { return (n + 7) & ~(uint64_t)7; }

inline bool amber__page_aligned(uint64_t v) { return (v & (AMBER_PAGE_SIZE - 1)) == 0; }

inline bool amber__nul_terminated(const char* s, size_t cap) {
  for (size_t i = 0; i < cap; i++)
    if (s[i] == 0) return true;
  return false;
}

/* Zeros hashed after the header struct (the writer's view of the header page: struct + zeros),
 * and in place of header_xxh itself. Namespace scope, constant initialised: no guard. */
inline constexpr unsigned char amber__zeros[512] = {};

inline void amber__hash_zeros(XXH3_state_t* st, uint64_t n) {
  while (n > 0) {
    uint64_t k = n < sizeof(amber__zeros) ? n : sizeof(amber__zeros);
    XXH3_64bits_update(st, amber__zeros, (size_t)k);
    n -= k;
  }
}

/* ------------------------------------------------------------------------------------------ */
/* checksums (shared by writer and readers)                                                   */

/*
 * header_xxh: XXH3 of the AMBER_HEADER_SIZE-byte header page with the header_xxh field zeroed.
 * amber_header_page_xxh() hashes a page as it is in the file (so bytes after the struct — future
 * minor fields, or garbage — are covered); amber_header_xxh() hashes "struct then zeros", which
 * is what the writer puts in the file. Both are the same function of the page bytes.
 */
inline uint64_t amber_header_page_xxh(const void* page) {
  const unsigned char* p = (const unsigned char*)page;
  const size_t off = offsetof(amber_header, header_xxh);
  XXH3_state_t st;
  XXH3_64bits_reset(&st);
  XXH3_64bits_update(&st, p, off);
  amber__hash_zeros(&st, 8);
  XXH3_64bits_update(&st, p + off + 8, AMBER_HEADER_SIZE - off - 8);
  return XXH3_64bits_digest(&st);
}

inline uint64_t amber_header_xxh(const amber_header* h) {
  const unsigned char* p = (const unsigned char*)h;
  const size_t off = offsetof(amber_header, header_xxh);
  XXH3_state_t st;
  XXH3_64bits_reset(&st);
  XXH3_64bits_update(&st, p, off);
  amber__hash_zeros(&st, 8);
  /* fields after header_xxh (format 1.4 on), then the page's zero padding */
  XXH3_64bits_update(&st, p + off + 8, sizeof(amber_header) - off - 8);
  amber__hash_zeros(&st, AMBER_HEADER_SIZE - sizeof(amber_header));
  return XXH3_64bits_digest(&st);
}

/* header.program_xxh (format 1.4): the program an image holds, from its PROCESS record. */
inline uint64_t amber_program_xxh(const char* exe, uint32_t exe_len, const char* cmdline,
                                  uint32_t cmdline_len) {
  XXH3_state_t st;
  XXH3_64bits_reset(&st);
  if (exe_len) XXH3_64bits_update(&st, exe, exe_len);
  amber__hash_zeros(&st, 1);
  if (cmdline_len) XXH3_64bits_update(&st, cmdline, cmdline_len);
  return XXH3_64bits_digest(&st);
}

inline uint64_t amber_meta_xxh(const void* meta, uint64_t len) {
  return XXH3_64bits(meta, (size_t)len);
}

inline uint64_t amber_chunk_xxh(const void* bytes, uint64_t len) {
  return XXH3_64bits(bytes, (size_t)len);
}

/*
 * image_xxh = XXH3 over the little-endian uint64 sequence
 *   header_xxh, meta_xxh, chunk[0].xxh, chunk[1].xxh, ...   (chunk table order)
 * Streamed so neither the writer (which learns chunk checksums as it writes) nor the restorer
 * needs a buffer proportional to the number of chunks. The state is ~600 bytes, 64-byte aligned;
 * keep it on the stack or inside a struct. x86-64 only, so native order is little-endian.
 */
struct amber_image_hasher {
  XXH3_state_t st;
  uint64_t count; /* chunk checksums added */
};

inline void amber_image_xxh_begin(amber_image_hasher* h, uint64_t header_xxh, uint64_t meta_xxh) {
  XXH3_64bits_reset(&h->st);
  uint64_t two[2] = {header_xxh, meta_xxh};
  XXH3_64bits_update(&h->st, two, sizeof two);
  h->count = 0;
}

inline void amber_image_xxh_add(amber_image_hasher* h, uint64_t chunk_xxh) {
  XXH3_64bits_update(&h->st, &chunk_xxh, sizeof chunk_xxh);
  h->count++;
}

inline uint64_t amber_image_xxh_end(const amber_image_hasher* h) {
  return XXH3_64bits_digest(&h->st);
}

/* Writer convenience: the whole trailer. */
inline void amber_trailer_init(amber_trailer* t, uint64_t file_size, uint64_t image_xxh,
                               uint64_t nchunks) {
  __builtin_memset(t, 0, sizeof *t);
  __builtin_memcpy(t->magic, AMBER_TRAILER_MAGIC, 8);
  t->file_size = file_size;
  t->image_xxh = image_xxh;
  t->nchunks = nchunks;
}

/* ------------------------------------------------------------------------------------------ */
/* header                                                                                     */

/*
 * first_page: AMBER_HEADER_SIZE readable bytes (any alignment): the file's first page, with
 * bytes past the end of a shorter file zero filled. file_size: the actual size of the file.
 * Order of checks matters for the error a user sees: magic (not an image at all), major (a newer
 * format may lay the header out differently, so do not judge its checksum), checksum (anything
 * else that looks wrong after this is a real value, not a flipped bit), then compatibility and
 * layout, and finally whether the file is as long as the header says.
 */
inline bool amber_check_header(const void* first_page, uint64_t file_size, amber_err* err) {
  const unsigned char* page = (const unsigned char*)first_page;
  if (file_size < 8 || __builtin_memcmp(page, AMBER_IMAGE_MAGIC, 8) != 0)
    return amber__fail(err, AMBER_E_NOTIMAGE, "not an amber image (bad magic)", 0);
  if (file_size < AMBER_HEADER_SIZE)
    return amber__fail(err, AMBER_E_TRUNCATED, "file shorter than the header page", file_size);

  amber_header h;
  __builtin_memcpy(&h, page, sizeof h);
  if (h.major != AMBER_FORMAT_MAJOR)
    return amber__fail(err, AMBER_E_VERSION, "unsupported image format major version",
                       offsetof(amber_header, major));
  if (amber_header_page_xxh(page) != h.header_xxh)
    return amber__fail(err, AMBER_E_CHECKSUM, "header checksum mismatch",
                       offsetof(amber_header, header_xxh));
  if (h.header_size != AMBER_HEADER_SIZE)
    return amber__fail(err, AMBER_E_VERSION, "unsupported header size",
                       offsetof(amber_header, header_size));
  if (h.arch != AMBER_ARCH_X86_64)
    return amber__fail(err, AMBER_E_VERSION, "image is for another architecture",
                       offsetof(amber_header, arch));
  if (h.page_size != AMBER_PAGE_SIZE)
    return amber__fail(err, AMBER_E_VERSION, "image has an unsupported page size",
                       offsetof(amber_header, page_size));

  if (!amber__nul_terminated(h.kernel_release, sizeof h.kernel_release))
    return amber__fail(err, AMBER_E_CORRUPT, "header kernel_release not NUL terminated",
                       offsetof(amber_header, kernel_release));
  if (!amber__nul_terminated(h.libc_version, sizeof h.libc_version))
    return amber__fail(err, AMBER_E_CORRUPT, "header libc_version not NUL terminated",
                       offsetof(amber_header, libc_version));
  if (!amber__nul_terminated(h.hostname, sizeof h.hostname))
    return amber__fail(err, AMBER_E_CORRUPT, "header hostname not NUL terminated",
                       offsetof(amber_header, hostname));

  /* Layout: header page | meta | data | trailer, in this order, without overlap. */
  if (h.file_size < (uint64_t)AMBER_HEADER_SIZE + AMBER_TRAILER_SIZE)
    return amber__fail(err, AMBER_E_CORRUPT, "header file_size too small",
                       offsetof(amber_header, file_size));
  const uint64_t body_end = h.file_size - AMBER_TRAILER_SIZE;
  if (h.meta_off < AMBER_HEADER_SIZE || (h.meta_off & 7) != 0 || (h.meta_size & 7) != 0)
    return amber__fail(err, AMBER_E_CORRUPT, "metadata offset or size misaligned",
                       offsetof(amber_header, meta_off));
  if (!amber__fits(h.meta_off, h.meta_size, body_end))
    return amber__fail(err, AMBER_E_CORRUPT, "metadata extends past the end of the image",
                       offsetof(amber_header, meta_size));
  if (!amber__page_aligned(h.data_off) || h.data_off < h.meta_off + h.meta_size)
    return amber__fail(err, AMBER_E_CORRUPT, "data offset misaligned or overlaps metadata",
                       offsetof(amber_header, data_off));
  if (!amber__fits(h.data_off, h.data_size, body_end))
    return amber__fail(err, AMBER_E_CORRUPT, "data extends past the end of the image",
                       offsetof(amber_header, data_size));
  if (h.pages_stored > h.pages_total)
    return amber__fail(err, AMBER_E_CORRUPT, "more pages stored than mapped",
                       offsetof(amber_header, pages_stored));

  if (file_size < h.file_size)
    return amber__fail(err, AMBER_E_TRUNCATED, "file shorter than the header says", file_size);
  return true;
}

/* ------------------------------------------------------------------------------------------ */
/* metadata                                                                                   */

inline bool amber__str_ok(amber_str s, uint32_t strings_len) {
  return (uint64_t)s.off + s.len <= strings_len;
}

inline bool amber_str_at(const amber_view* v, amber_str s, const char** p, uint32_t* len) {
  if (!amber__str_ok(s, v->strings_len)) return false;
  *p = v->strings ? v->strings + s.off : "";
  *len = s.len;
  return true;
}

/*
 * hdr: a header already accepted by amber_check_header (8-byte aligned, owned by the caller).
 * meta/meta_len: the metadata bytes, hdr->meta_size of them, 8-byte aligned.
 * On success *out points into meta. Cost is linear in the metadata size except the thread
 * uniqueness check, which is quadratic in at most AMBER_MAX_THREADS.
 */
inline bool amber_parse_meta(const amber_header* hdr, const void* meta, uint64_t meta_len,
                             amber_view* out, amber_err* err) {
  const uint64_t base = hdr->meta_off;
  const uint8_t* m = (const uint8_t*)meta;
  const bool newer_minor = hdr->minor > AMBER_FORMAT_MINOR;

  if (meta_len != hdr->meta_size)
    return amber__fail(err, AMBER_E_TRUNCATED, "metadata shorter than the header says",
                       base + meta_len);
  if (((uintptr_t)meta & 7) != 0)
    return amber__fail(err, AMBER_E_CORRUPT, "metadata buffer misaligned (caller bug)", base);
  if (amber_meta_xxh(meta, meta_len) != hdr->meta_xxh)
    return amber__fail(err, AMBER_E_CHECKSUM, "metadata checksum mismatch", base);

  amber_view v;
  __builtin_memset(&v, 0, sizeof v);
  v.hdr = hdr;
  v.meta = m;
  v.meta_len = meta_len;

  /* Pass 1: walk the sections; each known type at most once, sizes exact. */
  bool seen[11] = {};  // by section type, PROCEXT (10) the highest
  uint64_t off_of[11] = {};
  uint64_t pos = 0;
  while (pos < meta_len) {
    if (!amber__fits(pos, sizeof(amber_section), meta_len))
      return amber__fail(err, AMBER_E_CORRUPT, "truncated section header", base + pos);
    const amber_section* s = (const amber_section*)(m + pos);
    const uint64_t payload = pos + sizeof(amber_section);
    if ((s->size & 7) != 0 || !amber__fits(payload, s->size, meta_len))
      return amber__fail(err, AMBER_E_CORRUPT, "section size out of range", base + pos);
    const void* p = m + payload;

    uint64_t rec = 0; /* record size for table sections */
    switch (s->type) {
      case AMBER_SEC_PROCESS: rec = sizeof(amber_process); break;
      case AMBER_SEC_THREADS: rec = sizeof(amber_thread); break;
      case AMBER_SEC_REGIONS: rec = sizeof(amber_region); break;
      case AMBER_SEC_CHUNKS: rec = sizeof(amber_chunk); break;
      case AMBER_SEC_FDS: rec = sizeof(amber_fd); break;
      case AMBER_SEC_TIMERS: rec = sizeof(amber_timer); break;
      case AMBER_SEC_STRINGS: rec = 1; break;
      case AMBER_SEC_PLUGIN: break;
      case AMBER_SEC_FILEDATA:
        /* a 1.3 reader skipped it as a newer minor's section; ours knows it from 1.4 on */
        if (hdr->minor < 4) return amber__fail(err, AMBER_E_CORRUPT, "unknown section type", base + pos);
        rec = sizeof(amber_extent);
        break;
      case AMBER_SEC_PROCEXT:
        if (hdr->minor < 5) return amber__fail(err, AMBER_E_CORRUPT, "unknown section type", base + pos);
        rec = sizeof(amber_process_ext);
        break;
      default:
        if (s->type == 0 || !newer_minor)
          return amber__fail(err, AMBER_E_CORRUPT, "unknown section type", base + pos);
        pos = payload + s->size; /* a newer minor's section: skip it */
        continue;
    }

    if (s->type == AMBER_SEC_PLUGIN) {
      /* payload: amber_str name, then `count` bytes; size = round8(8 + count) */
      if (s->size != amber__round8(8 + (uint64_t)s->count))
        return amber__fail(err, AMBER_E_CORRUPT, "plugin section size does not match count",
                           base + pos);
      v.nplugins++;
      pos = payload + s->size;
      continue;
    }

    if (seen[s->type])
      return amber__fail(err, AMBER_E_CORRUPT, "duplicate metadata section", base + pos);
    seen[s->type] = true;
    off_of[s->type] = base + payload;
    if (s->size != amber__round8(rec * s->count))
      return amber__fail(err, AMBER_E_CORRUPT, "section size does not match record count",
                         base + pos);

    switch (s->type) {
      case AMBER_SEC_PROCESS:
        if (s->count != 1)
          return amber__fail(err, AMBER_E_CORRUPT, "process section must hold one record",
                             base + pos);
        v.proc = (const amber_process*)p;
        break;
      case AMBER_SEC_THREADS:
        v.threads = (const amber_thread*)p;
        v.nthreads = s->count;
        break;
      case AMBER_SEC_REGIONS:
        v.regions = (const amber_region*)p;
        v.nregions = s->count;
        break;
      case AMBER_SEC_CHUNKS:
        v.chunks = (const amber_chunk*)p;
        v.nchunks = s->count;
        break;
      case AMBER_SEC_FDS:
        v.fds = (const amber_fd*)p;
        v.nfds = s->count;
        break;
      case AMBER_SEC_TIMERS:
        v.timers = (const amber_timer*)p;
        v.ntimers = s->count;
        break;
      case AMBER_SEC_STRINGS:
        v.strings = (const char*)p;
        v.strings_len = s->count;
        break;
      case AMBER_SEC_FILEDATA:
        v.extents = (const amber_extent*)p;
        v.nextents = s->count;
        break;
      case AMBER_SEC_PROCEXT:
        if (s->count != 1)
          return amber__fail(err, AMBER_E_CORRUPT, "process extension section must hold one record",
                             base + pos);
        v.pext = (const amber_process_ext*)p;
        break;
    }
    pos = payload + s->size;
  }

  /* Pass 2: records, now that strings and regions are known. */
  if (!v.proc) return amber__fail(err, AMBER_E_CORRUPT, "no process section", base);
  {
    const uint64_t at = off_of[AMBER_SEC_PROCESS];
    const amber_process* pr = v.proc;
    if (!amber__str_ok(pr->cmdline, v.strings_len) || !amber__str_ok(pr->cwd, v.strings_len) ||
        !amber__str_ok(pr->exe, v.strings_len))
      return amber__fail(err, AMBER_E_CORRUPT, "process string out of range",
                         at + offsetof(amber_process, cmdline));
    if (pr->auxv_words > 2 * AMBER_MAX_AUXV || (pr->auxv_words & 1) != 0)
      return amber__fail(err, AMBER_E_CORRUPT, "bad auxv length",
                         at + offsetof(amber_process, auxv_words));
    if (pr->suspend_signal >= AMBER_NSIG)
      return amber__fail(err, AMBER_E_CORRUPT, "bad suspend signal",
                         at + offsetof(amber_process, suspend_signal));
  }

  if (v.pext) {
    const uint64_t at = off_of[AMBER_SEC_PROCEXT];
    const amber_process_ext* px = v.pext;
    if (!amber__str_ok(px->sysv_ids, v.strings_len) || px->sysv_ids.len % sizeof(amber_sysv_id) != 0)
      return amber__fail(err, AMBER_E_CORRUPT, "bad SysV id list", at + offsetof(amber_process_ext, sysv_ids));
    if (!amber__str_ok(px->sem_undo, v.strings_len) || px->sem_undo.len % sizeof(amber_semadj) != 0)
      return amber__fail(err, AMBER_E_CORRUPT, "bad semaphore undo list", at + offsetof(amber_process_ext, sem_undo));
    if (!amber__str_ok(px->creds, v.strings_len) ||
        (px->creds.len && (px->creds.len < sizeof(amber_creds) ||
                           (px->creds.len - sizeof(amber_creds)) % 4 != 0 ||
                           (px->creds.len - sizeof(amber_creds)) / 4 > AMBER_MAX_GROUPS)))
      return amber__fail(err, AMBER_E_CORRUPT, "bad credentials record", at + offsetof(amber_process_ext, creds));
    if (px->creds.len) {
      amber_creds cr;
      __builtin_memcpy(&cr, v.strings + px->creds.off, sizeof cr);
      if (cr.ngroups != (px->creds.len - sizeof(amber_creds)) / 4 || cr.dumpable < 0 || cr.dumpable > 2)
        return amber__fail(err, AMBER_E_CORRUPT, "bad credentials record", at + offsetof(amber_process_ext, creds));
    }
    if (!amber__str_ok(px->aio_reqs, v.strings_len) || px->aio_reqs.len % sizeof(amber_aio_req) != 0)
      return amber__fail(err, AMBER_E_CORRUPT, "bad AIO request list", at + offsetof(amber_process_ext, aio_reqs));
    if (px->nzombies > 1024)
      return amber__fail(err, AMBER_E_CORRUPT, "too many zombie children", at + offsetof(amber_process_ext, nzombies));
  } else {
    v.pext = &amber__no_pext;
  }

  if (v.nthreads == 0) return amber__fail(err, AMBER_E_CORRUPT, "no threads", base);
  if (v.nthreads > AMBER_MAX_THREADS)
    return amber__fail(err, AMBER_E_CORRUPT, "too many threads", off_of[AMBER_SEC_THREADS]);
  {
    uint32_t nmain = 0, nckpt = 0;
    for (uint32_t i = 0; i < v.nthreads; i++) {
      const amber_thread* t = &v.threads[i];
      const uint64_t at = off_of[AMBER_SEC_THREADS] + (uint64_t)i * sizeof(amber_thread);
      if (t->tid <= 0) return amber__fail(err, AMBER_E_CORRUPT, "bad thread id", at);
      if (!newer_minor && (t->flags & ~(uint32_t)(AMBER_THR_MAIN | AMBER_THR_CKPT | AMBER_THR_SCHED | AMBER_THR_NO_NEW_PRIVS |
                                                AMBER_THR_MCE_SET | AMBER_THR_MCE_EARLY)) != 0)
        return amber__fail(err, AMBER_E_CORRUPT, "unknown thread flags", at);
      if ((t->flags & (AMBER_THR_MAIN | AMBER_THR_CKPT)) == (AMBER_THR_MAIN | AMBER_THR_CKPT))
        return amber__fail(err, AMBER_E_CORRUPT, "main thread marked as checkpoint thread", at);
      if (t->flags & AMBER_THR_MAIN) nmain++;
      if (t->flags & AMBER_THR_CKPT) nckpt++;
      for (uint32_t j = 0; j < i; j++)
        if (v.threads[j].tid == t->tid)
          return amber__fail(err, AMBER_E_CORRUPT, "duplicate thread id", at);
    }
    /* (none when the main thread had ended: AMBER_PROC_MAIN_EXITED) */
    if (nmain != ((v.proc->proc_flags & AMBER_PROC_MAIN_EXITED) ? 0u : 1u))
      return amber__fail(err, AMBER_E_CORRUPT, "not exactly one main thread",
                         off_of[AMBER_SEC_THREADS]);
    if (nckpt > 1)
      return amber__fail(err, AMBER_E_CORRUPT, "more than one checkpoint thread",
                         off_of[AMBER_SEC_THREADS]);
  }

  /* Threads with a working directory of their own: each names a thread once, in a group, with an
   * absolute path (the restorer changes into it). */
  if (v.pext->thread_fs.len) {
    const uint64_t at = off_of[AMBER_SEC_PROCEXT] + offsetof(amber_process_ext, thread_fs);
    const amber_str ts = v.pext->thread_fs;
    if (!amber__str_ok(ts, v.strings_len) || ts.len % sizeof(amber_thread_fs) != 0 ||
        ts.len / sizeof(amber_thread_fs) > v.nthreads)
      return amber__fail(err, AMBER_E_CORRUPT, "bad thread fs list", at);
    const uint32_t n = ts.len / (uint32_t)sizeof(amber_thread_fs);
    for (uint32_t i = 0; i < n; i++) {
      amber_thread_fs f;
      __builtin_memcpy(&f, v.strings + ts.off + (uint64_t)i * sizeof f, sizeof f);
      if (f.thread >= v.nthreads || f.group == 0 || f.group > v.nthreads || f.umask > 0777 ||
          !amber__str_ok(f.cwd, v.strings_len) || f.cwd.len == 0 || v.strings[f.cwd.off] != '/' ||
          (v.threads[f.thread].flags & AMBER_THR_CKPT))
        return amber__fail(err, AMBER_E_CORRUPT, "bad thread fs record", at);
      for (uint32_t j = 0; j < i; j++) {
        amber_thread_fs o;
        __builtin_memcpy(&o, v.strings + ts.off + (uint64_t)j * sizeof o, sizeof o);
        if (o.thread == f.thread) return amber__fail(err, AMBER_E_CORRUPT, "thread listed twice in the fs list", at);
      }
    }
  }

  /* Regions: page aligned, non-empty, sorted and disjoint (the restorer maps them MAP_FIXED one
   * after the other; an overlap would silently replace memory). */
  const uint32_t never_stored = AMBER_REG_NODATA | AMBER_REG_VDSO | AMBER_REG_VVAR |
                                AMBER_REG_VVAR_VCLOCK | AMBER_REG_VSYSCALL;
  for (uint32_t i = 0; i < v.nregions; i++) {
    const amber_region* r = &v.regions[i];
    const uint64_t at = off_of[AMBER_SEC_REGIONS] + (uint64_t)i * sizeof(amber_region);
    if (r->start >= r->end || !amber__page_aligned(r->start) || !amber__page_aligned(r->end))
      return amber__fail(err, AMBER_E_CORRUPT, "region bounds bad or not page aligned", at);
    if (i > 0 && r->start < v.regions[i - 1].end)
      return amber__fail(err, AMBER_E_CORRUPT, "regions unsorted or overlapping", at);
    if (r->prot & ~7u) return amber__fail(err, AMBER_E_CORRUPT, "bad region protection", at);
    if (!newer_minor && (r->flags & ~(uint32_t)((AMBER_REG_AIO << 1) - 1)) != 0)
      return amber__fail(err, AMBER_E_CORRUPT, "unknown region flags", at);
    if (!amber__str_ok(r->path, v.strings_len))
      return amber__fail(err, AMBER_E_CORRUPT, "region path out of range",
                         at + offsetof(amber_region, path));
    if ((r->flags & AMBER_REG_FILE) && r->path.len == 0)
      return amber__fail(err, AMBER_E_CORRUPT, "file region without a path", at);
    if (!amber__fits(r->first_chunk, r->nchunks, v.nchunks))
      return amber__fail(err, AMBER_E_CORRUPT, "region chunk range out of range",
                         at + offsetof(amber_region, first_chunk));
    if ((r->flags & never_stored) && r->nchunks != 0)
      return amber__fail(err, AMBER_E_CORRUPT, "chunks stored for a region that has no data",
                         at);
  }

  /* Chunks: sorted by address, disjoint, inside their region, whose chunk range names them;
   * stored page aligned inside the data area. */
  {
    uint64_t stored_pages = 0;
    for (uint32_t i = 0; i < v.nchunks; i++) {
      const amber_chunk* c = &v.chunks[i];
      const uint64_t at = off_of[AMBER_SEC_CHUNKS] + (uint64_t)i * sizeof(amber_chunk);
      if (c->len == 0 || c->len > AMBER_CHUNK_MAX || !amber__page_aligned(c->len) ||
          !amber__page_aligned(c->addr))
        return amber__fail(err, AMBER_E_CORRUPT, "chunk address or length not page aligned",
                           at);
      if (c->addr + c->len < c->addr)
        return amber__fail(err, AMBER_E_CORRUPT, "chunk wraps the address space", at);
      if (i > 0 && c->addr < v.chunks[i - 1].addr + v.chunks[i - 1].len)
        return amber__fail(err, AMBER_E_CORRUPT, "chunks unsorted or overlapping", at);
      if (c->codec != AMBER_CODEC_RAW)
        return amber__fail(err, AMBER_E_VERSION, "unsupported chunk codec",
                           at + offsetof(amber_chunk, codec));
      if (c->stored_len != c->len)
        return amber__fail(err, AMBER_E_CORRUPT, "raw chunk stored length differs from length",
                           at + offsetof(amber_chunk, stored_len));
      if (!amber__page_aligned(c->file_off) || c->file_off < hdr->data_off ||
          !amber__fits(c->file_off - hdr->data_off, c->stored_len, hdr->data_size))
        return amber__fail(err, AMBER_E_CORRUPT, "chunk data outside the data area",
                           at + offsetof(amber_chunk, file_off));
      if (c->region >= v.nregions)
        return amber__fail(err, AMBER_E_CORRUPT, "chunk region index out of range",
                           at + offsetof(amber_chunk, region));
      const amber_region* r = &v.regions[c->region];
      if (c->addr < r->start || c->addr + c->len > r->end)
        return amber__fail(err, AMBER_E_CORRUPT, "chunk outside its region", at);
      if (i < r->first_chunk || i - r->first_chunk >= r->nchunks)
        return amber__fail(err, AMBER_E_CORRUPT, "chunk not in its region's chunk range", at);
      stored_pages += c->len / AMBER_PAGE_SIZE;
    }
    if (stored_pages != hdr->pages_stored)
      return amber__fail(err, AMBER_E_CORRUPT, "header pages_stored disagrees with chunk table",
                         offsetof(amber_header, pages_stored));
  }

  for (uint32_t i = 0; i < v.nfds; i++) {
    const amber_fd* f = &v.fds[i];
    const uint64_t at = off_of[AMBER_SEC_FDS] + (uint64_t)i * sizeof(amber_fd);
    if (f->fd < 0) return amber__fail(err, AMBER_E_CORRUPT, "bad fd number", at);
    if (f->kind == 0 || (!newer_minor && f->kind > AMBER_FD_AGENT))
      return amber__fail(err, AMBER_E_CORRUPT, "unknown fd kind", at);
    if (!amber__str_ok(f->path, v.strings_len))
      return amber__fail(err, AMBER_E_CORRUPT, "fd path out of range",
                         at + offsetof(amber_fd, path));
    if (!amber__str_ok(f->data, v.strings_len))
      return amber__fail(err, AMBER_E_CORRUPT, "fd data out of range",
                         at + offsetof(amber_fd, data));
    /* Format 1.9: a fanotify instance's marks, each whole with its path inside the data, of a
     * known type (the restorer walks them by these lengths). */
    if (f->kind == AMBER_FD_ANON && f->subkind == AMBER_ANON_FANOTIFY && hdr->minor >= 9) {
      const char* d = v.strings + f->data.off;
      for (uint64_t o = 0; o < f->data.len;) {
        amber_fanotify_mark mk;
        if (f->data.len - o < sizeof mk)
          return amber__fail(err, AMBER_E_CORRUPT, "partial fanotify mark record", at + offsetof(amber_fd, data));
        __builtin_memcpy(&mk, d + o, sizeof mk);
        const uint64_t rec = (sizeof mk + (uint64_t)mk.path_len + 7) & ~7ull;
        if (mk.type < AMBER_FAN_INODE || mk.type > AMBER_FAN_FILESYSTEM || mk.path_len == 0 ||
            mk.path_len >= 4096 || f->data.len - o < rec)
          return amber__fail(err, AMBER_E_CORRUPT, "bad fanotify mark record", at + offsetof(amber_fd, data));
        o += rec;
      }
    }
  }

  /* File extents: each names a descriptor, lies inside that file's saved size and the data area,
   * and they are sorted by (descriptor, offset) without overlap. */
  for (uint32_t i = 0; i < v.nextents; i++) {
    const amber_extent* e = &v.extents[i];
    const uint64_t at = off_of[AMBER_SEC_FILEDATA] + (uint64_t)i * sizeof(amber_extent);
    if (e->fd >= v.nfds) return amber__fail(err, AMBER_E_CORRUPT, "file extent names no descriptor", at);
    if (e->len == 0 || e->len > AMBER_CHUNK_MAX || !amber__fits(e->offset, e->len, v.fds[e->fd].size))
      return amber__fail(err, AMBER_E_CORRUPT, "file extent outside its file", at);
    if (!amber__page_aligned(e->file_off) || e->file_off < hdr->data_off ||
        !amber__fits(e->file_off - hdr->data_off, e->len, hdr->data_size))
      return amber__fail(err, AMBER_E_CORRUPT, "file extent data outside the data area",
                         at + offsetof(amber_extent, file_off));
    if (i > 0) {
      const amber_extent* p = &v.extents[i - 1];
      if (e->fd < p->fd || (e->fd == p->fd && e->offset < p->offset + p->len))
        return amber__fail(err, AMBER_E_CORRUPT, "file extents unsorted or overlapping", at);
    }
  }

  for (uint32_t i = 0; i < v.ntimers; i++) {
    const amber_timer* t = &v.timers[i];
    const uint64_t at = off_of[AMBER_SEC_TIMERS] + (uint64_t)i * sizeof(amber_timer);
    if (t->id < 0 || t->signo < 0 || (uint32_t)t->signo >= AMBER_NSIG)
      return amber__fail(err, AMBER_E_CORRUPT, "bad timer", at);
  }

  /* Plugin names (pass 1 only counted them: strings may come later). */
  for (pos = 0; pos < meta_len;) {
    const amber_section* s = (const amber_section*)(m + pos);
    if (s->type == AMBER_SEC_PLUGIN) {
      amber_str name;
      __builtin_memcpy(&name, s + 1, sizeof name);
      if (name.len == 0 || !amber__str_ok(name, v.strings_len))
        return amber__fail(err, AMBER_E_CORRUPT, "plugin name out of range", base + pos + 16);
    }
    pos += sizeof(amber_section) + s->size;
  }

  /* Format 1.4: the header's program_xxh names what the PROCESS record holds (the manifest binds
   * the image to it). Older images have none. */
  if (hdr->minor >= 4) {
    const char* exe = v.strings ? v.strings + v.proc->exe.off : "";
    const char* cmd = v.strings ? v.strings + v.proc->cmdline.off : "";
    if (amber_program_xxh(exe, v.proc->exe.len, cmd, v.proc->cmdline.len) != hdr->program_xxh)
      return amber__fail(err, AMBER_E_CORRUPT, "header program_xxh disagrees with the process record",
                         offsetof(amber_header, program_xxh));
  }

  *out = v;
  return true;
}

/* The idx-th PLUGIN section (0-based, file order) of a parsed view. */
inline bool amber_plugin_at(const amber_view* v, uint32_t idx, const char** name,
                            uint32_t* name_len, const void** bytes, uint64_t* len) {
  for (uint64_t pos = 0; pos < v->meta_len;) {
    const amber_section* s = (const amber_section*)(v->meta + pos);
    if (s->type == AMBER_SEC_PLUGIN && idx-- == 0) {
      amber_str n;
      __builtin_memcpy(&n, s + 1, sizeof n);
      if (!amber_str_at(v, n, name, name_len)) return false;
      *bytes = (const uint8_t*)(s + 1) + sizeof n;
      *len = s->count;
      return true;
    }
    pos += sizeof(amber_section) + s->size;
  }
  return false;
}

/* ------------------------------------------------------------------------------------------ */
/* trailer and chunks                                                                         */

/* trailer64: the last AMBER_TRAILER_SIZE bytes of the image (at hdr->file_size - 64), any
 * alignment. Checking image_xxh needs only metadata, so a reader can do it before any chunk. */
inline bool amber_check_trailer(const amber_header* hdr, const void* trailer64,
                                const amber_view* v, amber_err* err) {
  const uint64_t at = hdr->file_size - AMBER_TRAILER_SIZE;
  amber_trailer t;
  __builtin_memcpy(&t, trailer64, sizeof t);
  if (__builtin_memcmp(t.magic, AMBER_TRAILER_MAGIC, 8) != 0)
    return amber__fail(err, AMBER_E_TRUNCATED, "trailer missing (image incomplete)", at);
  if (t.file_size != hdr->file_size)
    return amber__fail(err, AMBER_E_CORRUPT, "trailer file size disagrees with header",
                       at + offsetof(amber_trailer, file_size));
  if (t.nchunks != v->nchunks)
    return amber__fail(err, AMBER_E_CORRUPT, "trailer chunk count disagrees with chunk table",
                       at + offsetof(amber_trailer, nchunks));
  amber_image_hasher h;
  amber_image_xxh_begin(&h, hdr->header_xxh, hdr->meta_xxh);
  for (uint32_t i = 0; i < v->nchunks; i++) amber_image_xxh_add(&h, v->chunks[i].xxh);
  if (amber_image_xxh_end(&h) != t.image_xxh)
    return amber__fail(err, AMBER_E_CHECKSUM, "image checksum mismatch",
                       at + offsetof(amber_trailer, image_xxh));
  return true;
}

/* bytes: the extent's len bytes as read from e->file_off. */
inline bool amber_check_extent(const amber_extent* e, const void* bytes, amber_err* err) {
  if (amber_chunk_xxh(bytes, e->len) != e->xxh)
    return amber__fail(err, AMBER_E_CHECKSUM, "file data checksum mismatch", e->file_off);
  return true;
}

/* bytes: the chunk's stored_len bytes as read from c->file_off. */
inline bool amber_check_chunk(const amber_chunk* c, const void* bytes, amber_err* err) {
  if (c->codec != AMBER_CODEC_RAW)
    return amber__fail(err, AMBER_E_VERSION, "unsupported chunk codec", c->file_off);
  if (amber_chunk_xxh(bytes, c->stored_len) != c->xxh)
    return amber__fail(err, AMBER_E_CHECKSUM, "chunk checksum mismatch", c->file_off);
  return true;
}

/* A pty master's data (format.h, amber_ptyinfo): the record, its output bytes, then (with
 * AMBER_PTY_INPUT) input entries that end exactly at the end of data, each at most
 * AMBER_PTYIN_MAX bytes of a known type. Fills *pi and where the input starts and its length
 * (0 without AMBER_PTY_INPUT). False, having read nothing past len, when anything does not fit. */
inline bool amber_pty_parse(const char* d, uint32_t len, amber_ptyinfo* pi, uint32_t* in_at, uint32_t* in_len) {
  if (!d || len < sizeof(amber_ptyinfo)) return false;
  __builtin_memcpy(pi, d, sizeof *pi);
  if (pi->out_len > len - sizeof(amber_ptyinfo)) return false;
  uint32_t at = (uint32_t)sizeof(amber_ptyinfo) + pi->out_len;
  *in_at = at;
  *in_len = 0;
  if (!(pi->flags & AMBER_PTY_INPUT)) return true;
  for (uint32_t k = at; k < len;) {
    if (len - k < 2) return false;
    uint32_t h = (uint32_t)(unsigned char)d[k] | (uint32_t)(unsigned char)d[k + 1] << 8;
    uint32_t n = h & 0x1fff, type = h >> 13;
    if (n > AMBER_PTYIN_MAX || type > AMBER_PTYIN_RAW || n > len - k - 2) return false;
    k += 2 + n;
  }
  *in_len = len - at;
  return true;
}

#endif
