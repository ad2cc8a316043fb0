// The kernel's special mappings: [vdso], [vvar], [vvar_vclock], [vsyscall] (PITFALLS 3).
//
// Capture: their labels and addresses only (AMBER_REG_VDSO ... regions without data): their
// contents are the kernel's, and vvar cannot even be read.
// Restore: the kernel gives the restorer a fresh vdso block; stage 1 refuses an image whose
// block differs in size or relative layout (the vdso finds its data pages at fixed offsets: this
// kernel's vdso would crash at the first clock_gettime); stage 3 moves the whole block, layout
// kept, to the saved addresses with mremap (through a temporary spot when the ranges overlap).
// Moving the vdso alone makes the next vdso call crash; a single vvar page cannot be moved.
// AT_SYSINFO_EHDR in the saved auxv stays right because the vdso is back at its saved address.
#include <stddef.h>
#include <stdint.h>

#include "image/format.h"

#ifdef AMBER_AGENT
#include "agent/capture.h"

namespace amber {
uint32_t vdso_flag_of(const char* l, size_t n) {
  if (n == 6 && !__builtin_memcmp(l, "[vdso]", 6)) return AMBER_REG_VDSO;
  if (n == 6 && !__builtin_memcmp(l, "[vvar]", 6)) return AMBER_REG_VVAR;
  if (n == 13 && !__builtin_memcmp(l, "[vvar_vclock]", 13)) return AMBER_REG_VVAR_VCLOCK;
  if (n == 10 && !__builtin_memcmp(l, "[vsyscall]", 10)) return AMBER_REG_VSYSCALL;
  return 0;
}
}  // namespace amber
#endif

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace rs {
namespace {
const amber_region* saved_special(uint32_t flag) {
  for (uint32_t i = 0; i < S.v.nregions; i++)
    if (S.v.regions[i].flags & flag) return &S.v.regions[i];
  return nullptr;
}

void move_block(uint64_t delta_from, uint64_t to_base) {
  // Move vvar, vvar_vclock, vdso keeping their relative layout, from the block whose vdso is at
  // delta_from to the block whose vdso will be at to_base.
  struct M { uint64_t* at; uint64_t len; } ms[3] = {
      {&S.cur_vvar, S.cur_vvar_len}, {&S.cur_vclock, S.cur_vclock_len}, {&S.cur_vdso, S.cur_vdso_len}};
  for (auto& m : ms) {
    if (!*m.at) continue;
    uint64_t dst = to_base + (*m.at - delta_from);
    long r = sys::mremap((void*)*m.at, m.len, m.len, 1 /*MAYMOVE*/ | 2 /*FIXED*/, (void*)dst);
    if (r != (long)dst) die(EXIT_SYSTEM, "cannot move the vdso", nullptr, r);
    *m.at = dst;
  }
}
}  // namespace

void vdso_read_current(char* buf, uint64_t cap) {
  S.cur_vvar = S.cur_vclock = S.cur_vdso = 0;
  each_mapping(buf, cap, [](uint64_t s, uint64_t e, const char* nm) {
    if (sys::seq(nm, "[vvar]")) { S.cur_vvar = s; S.cur_vvar_len = e - s; }
    else if (sys::seq(nm, "[vvar_vclock]")) { S.cur_vclock = s; S.cur_vclock_len = e - s; }
    else if (sys::seq(nm, "[vdso]")) { S.cur_vdso = s; S.cur_vdso_len = e - s; }
  });
}

void vdso_check() {
  const amber_region* vd = saved_special(AMBER_REG_VDSO);
  const amber_region* vv = saved_special(AMBER_REG_VVAR);
  const amber_region* vc = saved_special(AMBER_REG_VVAR_VCLOCK);
  char msg[200];
  if (!vd) return;  // a process without a vdso (vdso=0): nothing to move
  if (!S.cur_vdso || S.cur_vdso_len != vd->end - vd->start)
    die(EXIT_HOST, "this kernel's vdso differs in size from the image's; image made on kernel", S.hdr.kernel_release);
  if ((vv != nullptr) != (S.cur_vvar != 0) || (vc != nullptr) != (S.cur_vclock != 0)) {
    sys::Out(msg, sizeof msg).s(S.hdr.kernel_release).s(" (vvar/vvar_vclock differ)");
    die(EXIT_HOST, "this kernel's vdso layout differs from the image's kernel", msg);
  }
  if (vv && (S.cur_vvar_len != vv->end - vv->start || (int64_t)(vv->start - vd->start) != (int64_t)(S.cur_vvar - S.cur_vdso)))
    die(EXIT_HOST, "this kernel's [vvar] layout differs from the image's kernel", S.hdr.kernel_release);
  if (vc && (S.cur_vclock_len != vc->end - vc->start || (int64_t)(vc->start - vd->start) != (int64_t)(S.cur_vclock - S.cur_vdso)))
    die(EXIT_HOST, "this kernel's [vvar_vclock] layout differs from the image's kernel", S.hdr.kernel_release);
}

void vdso_place() {
  const amber_region* vd = saved_special(AMBER_REG_VDSO);
  if (!vd || !S.cur_vdso || S.cur_vdso == vd->start) return;
  uint64_t lo = S.cur_vdso, hi = S.cur_vdso + S.cur_vdso_len;
  if (S.cur_vvar && S.cur_vvar < lo) lo = S.cur_vvar;
  if (S.cur_vclock && S.cur_vclock < lo) lo = S.cur_vclock;
  if (S.cur_vvar && S.cur_vvar + S.cur_vvar_len > hi) hi = S.cur_vvar + S.cur_vvar_len;
  if (S.cur_vclock && S.cur_vclock + S.cur_vclock_len > hi) hi = S.cur_vclock + S.cur_vclock_len;
  uint64_t delta_lo = S.cur_vdso - lo;  // vdso offset inside the block
  uint64_t target_lo = vd->start - delta_lo;
  if (overlaps(lo, hi, target_lo, target_lo + (hi - lo))) {
    if (hi - lo > S.vtemp_len) die(EXIT_SYSTEM, "vdso block larger than expected");
    uint64_t tmp_lo = (uint64_t)S.blob + S.vtemp_at;
    move_block(S.cur_vdso, tmp_lo + delta_lo);
  }
  move_block(S.cur_vdso, vd->start);
}
}  // namespace rs
#endif
