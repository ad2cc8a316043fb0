/* A thread computing when the checkpoint comes (no system call: the signal interrupts user code):
 * it spins with patterns in ymm0-5 and their copies in ymm8-13, comparing them on every round,
 * and with its MXCSR set to round toward zero. After the restart it must still find every pair
 * equal and, when told to stop, every register holding its pattern. */
#include "corpus.h"
#include "cpu.h"

static uint8_t in[6][32], out[6][32];
static volatile int stop;
static long bad = -1;
static uint32_t csr = 0x1f80 | (3u << 13), csr_after;

#define LD(i, c) "vmovdqu " #i "*32(%[in]), %%ymm" #i "\n vmovdqu " #i "*32(%[in]), %%ymm" #c "\n"
#define CMP(i, c) "vpxor %%ymm" #i ", %%ymm" #c ", %%ymm14\n vptest %%ymm14, %%ymm14\n jnz 2f\n"
#define ST(i) "vmovdqu %%ymm" #i ", " #i "*32(%[out])\n"

static void* spin(void* u) {
  (void)u;
  long r;
  __asm__ volatile("ldmxcsr %[csr]\n"
                   LD(0, 8) LD(1, 9) LD(2, 10) LD(3, 11) LD(4, 12) LD(5, 13)
                   "1:\n" CMP(0, 8) CMP(1, 9) CMP(2, 10) CMP(3, 11) CMP(4, 12) CMP(5, 13)
                   "pause\n cmpl $0, (%[stop])\n je 1b\n"
                   "xor %[r], %[r]\n jmp 3f\n"
                   "2: mov $1, %[r]\n"
                   "3:\n" ST(0) ST(1) ST(2) ST(3) ST(4) ST(5) "stmxcsr %[after]\n"
                   : [r] "=&r"(r), [after] "=m"(csr_after)
                   : [in] "r"(in), [out] "r"(out), [stop] "r"(&stop), [csr] "m"(csr)
                   : "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
                     "xmm13", "xmm14");
  bad = r;
  return NULL;
}

int main(void) {
  if (!have_avx()) skip("no AVX here");
  for (int r = 0; r < 6; r++)
    for (int b = 0; b < 32; b++) in[r][b] = (uint8_t)(r * 41 + b * 13 + 9);
  pthread_t t;
  int e = pthread_create(&t, NULL, spin, NULL);
  if (e) fail("pthread_create: %s", strerror(e));
  ready_wait();
  stop = 1;
  pthread_join(t, NULL);
  CHECK(bad == 0, "the spinning thread saw a register pair differ (%ld)", bad);
  for (int r = 0; r < 6; r++) CHECK(memcmp(in[r], out[r], 32) == 0, "ymm%d changed", r);
  CHECK(csr_after == csr, "the thread's MXCSR is %#x, was %#x", csr_after, csr);
  pass();
}
