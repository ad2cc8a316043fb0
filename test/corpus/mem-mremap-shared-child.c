/* Shared anonymous memory (4 pages, MAP_SHARED) shared with a child, then moved by the parent with
 * mremap (MREMAP_MAYMOVE|MREMAP_FIXED) to another address; the child still maps it where it was.
 * (Growing it would not do: the object behind stays 4 pages, more raises SIGBUS.) After restart
 * it is still one object at two addresses: the bytes are there, what the child writes at its
 * address the parent sees at the new one, and what the parent writes the child sees. */
#include "mem.h"

int main(void) {
  long pg = sysconf(_SC_PAGESIZE);
  char* m = SYS(mmap(NULL, (size_t)(4 * pg), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  for (int p = 0; p < 4; p++) fill_pattern(m + p * pg, (size_t)pg, 800 + (uint32_t)p);
  int ctl[2], rep[2];
  SYS(pipe(ctl));
  SYS(pipe(rep));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    close(ctl[1]);
    char c;
    if (read(ctl[0], &c, 1) != 1) _exit(10);
    m[3 * pg + 9] = 'K';  /* the child writes */
    write_all(rep[1], "w", 1);
    if (read(ctl[0], &c, 1) != 1) _exit(11);
    _exit(m[2 * pg + 5] == 'P' ? 0 : 12);  /* sees the parent's write */
  }
  peer(kid);
  close(ctl[0]);
  char* to = SYS(mmap(NULL, (size_t)(4 * pg), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  char* g = mremap(m, (size_t)(4 * pg), (size_t)(4 * pg), MREMAP_MAYMOVE | MREMAP_FIXED, to);
  if (g == MAP_FAILED) fail("mremap: %s", strerror(errno));
  CHECK(faults(m, 0), "setup: the old address is still mapped in the parent");

  ready_wait();

  for (int p = 0; p < 4; p++) CHECK(check_pattern(g + p * pg, (size_t)pg, 800 + (uint32_t)p) < 0, "page %d differs", p);
  write_all(ctl[1], "1", 1);
  char c;
  read_exact(rep[0], &c, 1, "the child's word");
  CHECK(g[3 * pg + 9] == 'K', "the child's write is not seen by the parent (reads %d): not shared any more", g[3 * pg + 9]);
  g[2 * pg + 5] = 'P';
  write_all(ctl[1], "2", 1);
  int st;
  CHECK(waitpid(kid, &st, 0) == kid, "waitpid: %s", strerror(errno));
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child failed (status %#x; 12 = it does not see the parent's write)", st);
  pass();
}
