/* The FPU and vector state of a thread blocked in a raw read(2) across the checkpoint: the
 * sixteen ymm registers (and, with AVX-512, zmm16-31 and the k1-k7 masks) hold patterns loaded
 * just before the syscall instruction, the x87 control word and MXCSR hold a non-default rounding
 * mode, precision and flush-to-zero. The kernel keeps all of it across a system call; after the
 * restart each register must hold its pattern and the control words their values — a program's
 * numbers must not change (rounding modes are common in interval arithmetic and numerical codes). */
#include "corpus.h"
#include "cpu.h"
#include <sys/syscall.h>

static uint8_t ymm_in[16][32], ymm_out[16][32];
static uint8_t zmm_in[16][64], zmm_out[16][64];
static uint64_t k_in[7], k_out[7];

#define LD(i) "vmovdqu " #i "*32(%[yi]), %%ymm" #i "\n"
#define ST(i) "vmovdqu %%ymm" #i ", " #i "*32(%[yo])\n"
#define ZLD(i, r) "vmovdqu64 " #i "*64(%[zi]), %%zmm" #r "\n"
#define ZST(i, r) "vmovdqu64 %%zmm" #r ", " #i "*64(%[zo])\n"
#define KLD(i, r) "kmovq " #i "*8(%[ki]), %%k" #r "\n"
#define KST(i, r) "kmovq %%k" #r ", " #i "*8(%[ko])\n"

int main(void) {
  if (!have_avx()) skip("no AVX here");
  int z = have_avx512();
  for (int r = 0; r < 16; r++)
    for (int b = 0; b < 32; b++) ymm_in[r][b] = (uint8_t)(r * 37 + b * 11 + 5);
  for (int r = 0; r < 16; r++)
    for (int b = 0; b < 64; b++) zmm_in[r][b] = (uint8_t)(r * 53 + b * 7 + 1);
  for (int r = 0; r < 7; r++) k_in[r] = 0x0123456789abcdefull * (uint64_t)(r + 3);

  /* x87: round toward zero (bits 10-11 = 11), 53-bit precision (bits 8-9 = 10), exceptions masked. */
  uint16_t cw = 0x0e7f, cw_after = 0;
  __asm__ volatile("fldcw %0" : : "m"(cw));
  /* SSE: round up (bits 13-14 = 10), flush-to-zero (15), denormals-are-zero (6), masked. */
  uint32_t csr = 0x1f80 | (2u << 13) | (1u << 15) | (1u << 6), csr_after = 0;
  __asm__ volatile("ldmxcsr %0" : : "m"(csr));

  ready();
  char c = 0;
  long n;
  if (z) {
    __asm__ volatile(ZLD(0, 16) ZLD(1, 17) ZLD(2, 18) ZLD(3, 19) ZLD(4, 20) ZLD(5, 21) ZLD(6, 22) ZLD(7, 23)
                     ZLD(8, 24) ZLD(9, 25) ZLD(10, 26) ZLD(11, 27) ZLD(12, 28) ZLD(13, 29) ZLD(14, 30) ZLD(15, 31)
                     KLD(0, 1) KLD(1, 2) KLD(2, 3) KLD(3, 4) KLD(4, 5) KLD(5, 6) KLD(6, 7)
                     LD(0) LD(1) LD(2) LD(3) LD(4) LD(5) LD(6) LD(7) LD(8) LD(9) LD(10) LD(11) LD(12) LD(13) LD(14) LD(15)
                     "syscall\n"
                     ST(0) ST(1) ST(2) ST(3) ST(4) ST(5) ST(6) ST(7) ST(8) ST(9) ST(10) ST(11) ST(12) ST(13) ST(14) ST(15)
                     ZST(0, 16) ZST(1, 17) ZST(2, 18) ZST(3, 19) ZST(4, 20) ZST(5, 21) ZST(6, 22) ZST(7, 23)
                     ZST(8, 24) ZST(9, 25) ZST(10, 26) ZST(11, 27) ZST(12, 28) ZST(13, 29) ZST(14, 30) ZST(15, 31)
                     KST(0, 1) KST(1, 2) KST(2, 3) KST(3, 4) KST(4, 5) KST(5, 6) KST(6, 7)
                     : "=a"(n)
                     : "a"((long)SYS_read), "D"(0L), "S"(&c), "d"(1L), [yi] "r"(ymm_in), [yo] "r"(ymm_out), [zi] "r"(zmm_in),
                       [zo] "r"(zmm_out), [ki] "r"(k_in), [ko] "r"(k_out)
                     : "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
                       "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
  } else {
    __asm__ volatile(LD(0) LD(1) LD(2) LD(3) LD(4) LD(5) LD(6) LD(7) LD(8) LD(9) LD(10) LD(11) LD(12) LD(13) LD(14) LD(15)
                     "syscall\n"
                     ST(0) ST(1) ST(2) ST(3) ST(4) ST(5) ST(6) ST(7) ST(8) ST(9) ST(10) ST(11) ST(12) ST(13) ST(14) ST(15)
                     : "=a"(n)
                     : "a"((long)SYS_read), "D"(0L), "S"(&c), "d"(1L), [yi] "r"(ymm_in), [yo] "r"(ymm_out)
                     : "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
                       "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
  }
  __asm__ volatile("fnstcw %0" : "=m"(cw_after));
  __asm__ volatile("stmxcsr %0" : "=m"(csr_after));
  CHECK(n == 1, "the raw read(0) returned %ld", n);
  if (c != '\n') read_line();
  for (int r = 0; r < 16; r++) CHECK(memcmp(ymm_in[r], ymm_out[r], 32) == 0, "ymm%d changed", r);
  if (z) {
    for (int r = 0; r < 16; r++) CHECK(memcmp(zmm_in[r], zmm_out[r], 64) == 0, "zmm%d changed", r + 16);
    for (int r = 0; r < 7; r++) CHECK(k_in[r] == k_out[r], "k%d changed: %#llx", r + 1, (unsigned long long)k_out[r]);
  }
  CHECK(cw_after == cw, "x87 control word %#x, was %#x", cw_after, cw);
  CHECK(csr_after == csr, "MXCSR %#x, was %#x", csr_after, csr);
  pass();
}
