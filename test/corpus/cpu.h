/* What the CPU and the kernel offer for the register-state programs (thr-fpu-*). */
#ifndef CORPUS_CPU_H
#define CORPUS_CPU_H
#include <cpuid.h>

/* The OS has enabled the state components in mask (XCR0, read by xgetbv). */
static inline int xcr0_has(unsigned mask) {
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (lo & mask) == mask;
}

/* AVX: the CPU has it (and OSXSAVE), and the OS saves the ymm state (XCR0 bits 1-2). */
static inline int have_avx(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 28)) || !(c & (1u << 27))) return 0;
  return xcr0_has(0x6);
}

/* AVX-512F, with the opmask and zmm state enabled (XCR0 bits 5-7). */
static inline int have_avx512(void) {
  unsigned a, b, c, d;
  if (!have_avx() || !__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & (1u << 16))) return 0;
  return xcr0_has(0xe0);
}
#endif
