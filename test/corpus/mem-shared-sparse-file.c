/* A sparse file (1 MiB: data in pages 0 and 200, the rest a hole) mapped MAP_SHARED whole, with
 * page 100 written through the mapping (so it is data now). After restart the mapping is at the
 * same address and shared with the file: pages 0, 100 and 200 read their bytes through both the
 * mapping and pread, the other pages read zero, a store through the mapping shows in the file,
 * and the file did not become dense (its blocks stay far below 1 MiB where holes are kept). */
#include "mem.h"

#define PG 4096
#define NP 256

int main(void) {
  int fd = SYS(open("sparse.dat", O_RDWR | O_CREAT | O_TRUNC, 0600));
  SYS(ftruncate(fd, (off_t)NP * PG));
  static char pg[PG];
  fill_pattern(pg, PG, 400);
  SYS(pwrite(fd, pg, PG, 0));
  fill_pattern(pg, PG, 402);
  SYS(pwrite(fd, pg, PG, (off_t)200 * PG));
  char* m = SYS(mmap(NULL, (size_t)NP * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  fill_pattern(m + 100 * PG, PG, 401);
  SYS(msync(m, (size_t)NP * PG, MS_SYNC));
  struct stat s0;
  SYS(fstat(fd, &s0));
  int holes = s0.st_blocks * 512 < (off_t)NP * PG / 2;  /* the filesystem keeps holes */

  ready_wait();

  static const int data[3] = {0, 100, 200};
  for (int k = 0; k < 3; k++) {
    int at = check_pattern(m + data[k] * PG, PG, 400 + (uint32_t)k);
    CHECK(at < 0, "page %d differs in the mapping at byte %d", data[k], at);
    SYS(pread(fd, pg, PG, (off_t)data[k] * PG));
    CHECK(check_pattern(pg, PG, 400 + (uint32_t)k) < 0, "page %d differs in the file", data[k]);
  }
  for (int p = 0; p < NP; p++) {
    if (p == 0 || p == 100 || p == 200) continue;
    for (int i = 0; i < PG; i++) CHECK(!m[p * PG + i], "page %d (a hole) reads %d at byte %d, want 0", p, m[p * PG + i], i);
  }
  m[150 * PG + 7] = 'S';
  char c = 0;
  SYS(pread(fd, &c, 1, (off_t)150 * PG + 7));
  CHECK(c == 'S', "a store through the mapping does not reach the file (read %d): not shared any more", c);
  struct stat s1;
  SYS(fstat(fd, &s1));
  CHECK(s1.st_size == (off_t)NP * PG, "file size %ld, want %d", (long)s1.st_size, NP * PG);
  if (holes) CHECK(s1.st_blocks * 512 < (off_t)NP * PG / 2, "the file became dense: %ld blocks (was %ld)", (long)s1.st_blocks, (long)s0.st_blocks);
  pass();
}
