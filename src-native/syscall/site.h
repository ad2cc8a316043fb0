// Which system call does a call site make? Read from the code before its `syscall` instruction.
//
// Needed when a thread was interrupted in a call we did not see it enter (record.cc): the number
// (orig_ax) is not in the signal frame. Compilers load it with `mov $NR, %eax` (b8 imm32) or, for
// 0, `xor %eax, %eax`, usually right before the instruction, sometimes a few argument loads
// earlier (glibc's multi-threaded pselect: `mov $0x10e,%eax; mov 0x1c(%rsp),%edi; syscall`).
// Backward disassembly is ambiguous, so every candidate load within kScan bytes is checked by
// decoding forward from it: only instructions that cannot write eax (argument moves, lea, xor, ALU
// with an immediate, shifts, movzx/movsx, cmovcc/setcc, test/cmp) are accepted, and the decode must land exactly on the
// `syscall`. All candidates that pass must agree; otherwise the site stays unknown (-1). A site that
// takes the number from another register or memory (syscall(2), Go's syscall.Syscall) is unknown.
#ifndef AMBER_SYSCALL_SITE_H
#define AMBER_SYSCALL_SITE_H

#include <stddef.h>
#include <stdint.h>

namespace amber {
namespace intr {

constexpr size_t kScan = 40;

// Length of the instruction at p (ending before end) if it is an accepted argument-setup
// instruction that leaves eax alone; 0 otherwise.
inline size_t arg_insn_len(const uint8_t* p, const uint8_t* end) {
  const uint8_t* q = p;
  bool opsize = false;
  if (q < end && *q == 0x66) { opsize = true; q++; }
  uint8_t rex = 0;
  if (q < end && (*q & 0xf0) == 0x40) rex = *q++;
  if (q >= end) return 0;
  const bool rexw = rex & 8, rexr = rex & 4, rexb = rex & 1;
  uint8_t op = *q++;
  bool twobyte = false;
  if (op == 0x0f) {
    if (q >= end) return 0;
    op = *q++;
    twobyte = true;
  }
  // ModR/M (+ SIB + displacement). dest: 0 none, 1 the reg field, 2 the r/m field.
  auto modrm = [&](int dest, uint8_t* reg_out) -> bool {
    if (q >= end) return false;
    uint8_t m = *q++;
    uint8_t mod = m >> 6, reg = (m >> 3) & 7, rm = m & 7;
    if (reg_out) *reg_out = reg;
    if (dest == 1 && reg == 0 && !rexr) return false;   // writes eax
    if (mod == 3) return !(dest == 2 && rm == 0 && !rexb);
    if (rm == 4) {
      if (q >= end) return false;
      uint8_t sib = *q++;
      if (mod == 0 && (sib & 7) == 5) q += 4;
    } else if (mod == 0 && rm == 5) {
      q += 4;  // rip-relative
    }
    if (mod == 1) q += 1;
    else if (mod == 2) q += 4;
    return q <= end;
  };
  uint8_t reg = 0;
  if (twobyte) {
    if (op == 0xb6 || op == 0xb7 || op == 0xbe || op == 0xbf || (op >= 0x40 && op <= 0x4f)) {
      if (!modrm(1, nullptr)) return 0;      // movzx, movsx, cmovcc: write reg
    } else if (op >= 0x90 && op <= 0x9f) {
      if (!modrm(2, nullptr)) return 0;      // setcc: writes r/m
    } else {
      return 0;
    }
  } else if (op == 0x89 || op == 0x88 || op == 0x31 || op == 0x09 || op == 0x21 || op == 0x01 || op == 0x29) {
    if (!modrm(2, nullptr)) return 0;        // op r/m, reg: writes r/m
  } else if (op == 0x8b || op == 0x8a || op == 0x8d || op == 0x33 || op == 0x63 || op == 0x0b || op == 0x23 ||
             op == 0x03 || op == 0x2b) {
    if (!modrm(1, nullptr)) return 0;        // op reg, r/m: writes reg
  } else if (op == 0x85 || op == 0x84 || op == 0x39 || op == 0x38 || op == 0x3b || op == 0x3a) {
    if (!modrm(0, nullptr)) return 0;        // test / cmp: write nothing
  } else if (op == 0x80 || op == 0x83) {
    if (!modrm(2, &reg)) return 0;           // group 1, imm8 (cmp /7 writes nothing)
    q += 1;
  } else if (op == 0xc1) {
    if (!modrm(2, nullptr)) return 0;        // shifts by imm8
    q += 1;
  } else if (op == 0xd1 || op == 0xd3) {
    if (!modrm(2, nullptr)) return 0;        // shifts by 1 / by cl
  } else if (op == 0x81) {
    if (!modrm(2, &reg)) return 0;
    q += opsize ? 2 : 4;
  } else if (op == 0xc7 || op == 0xc6) {
    if (!modrm(2, &reg) || reg != 0) return 0;  // mov imm -> r/m
    q += op == 0xc6 ? 1 : (opsize ? 2 : 4);
  } else if (op >= 0xb8 && op <= 0xbf) {
    if (op == 0xb8 && !rexb) return 0;       // mov imm -> eax
    q += rexw ? 8 : (opsize ? 2 : 4);
  } else {
    return 0;
  }
  return q <= end ? (size_t)(q - p) : 0;
}

// before: the n bytes that precede a `syscall` instruction (n <= kScan). The call number the site
// loads, or -1 when it cannot be told for sure.
inline long site_nr_in(const uint8_t* before, size_t n) {
  const uint8_t* end = before + n;
  long found = -1;
  for (size_t k = 2; k <= n; k++) {
    const uint8_t* c = end - k;
    long nr;
    const uint8_t* q;
    if (k >= 5 && c[0] == 0xb8) {
      nr = (long)((uint32_t)c[1] | (uint32_t)c[2] << 8 | (uint32_t)c[3] << 16 | (uint32_t)c[4] << 24);
      q = c + 5;
    } else if ((c[0] == 0x31 || c[0] == 0x33) && c[1] == 0xc0) {
      nr = 0;
      q = c + 2;
    } else {
      continue;
    }
    while (q < end) {
      size_t len = arg_insn_len(q, end);
      if (!len) break;
      q += len;
    }
    if (q != end) continue;
    // 41 b8 imm32 is `mov $imm, %r8d`: a b8 after a byte that can be a REX prefix with REX.B is
    // that instruction as well, if it also decodes to the end. Both readings fit: unknown.
    if (c[0] == 0xb8 && c > before && (c[-1] & 0xf1) == 0x41) {
      size_t len = arg_insn_len(c - 1, end);
      const uint8_t* r = c - 1;
      while (len && r < end) {
        r += len;
        len = r < end ? arg_insn_len(r, end) : 0;
      }
      if (r == end) return -1;
    }
    if (found >= 0 && found != nr) return -1;  // two readings disagree: unknown
    found = nr;
  }
  return found;
}

}  // namespace intr
}  // namespace amber

#endif
