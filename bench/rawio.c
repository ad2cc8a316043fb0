/* rawio: the baseline the benchmark divides by — plain write(2)+fsync and read(2) of N bytes to a
 * file in the same directory the images go to. Compiled by bench/run.js at run time.
 *
 *   rawio write PATH BYTES   fills a buffer (touched, so no page faults are timed), then times
 *                            open + write(2) loop + fsync + close
 *                            prints: write <bytes> <seconds>
 *   rawio read PATH          times open + read(2) of the whole file into a fresh anonymous mapping
 *                            of its size (the bytes must land in new memory, as in a restore),
 *                            then again into one reused 1 MiB buffer
 *                            prints: read <bytes> <seconds> reuse <seconds>
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

int main(int argc, char **argv) {
  if (argc >= 4 && strcmp(argv[1], "write") == 0) {
    size_t bytes = strtoull(argv[3], NULL, 10);
    uint64_t *buf = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) die("mmap");
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < bytes / 8; i++) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      buf[i] = x;
    }
    double t0 = now();
    int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) die(argv[2]);
    size_t off = 0;
    while (off < bytes) {
      size_t n = bytes - off > (64u << 20) ? (64u << 20) : bytes - off;
      ssize_t w = write(fd, (char *)buf + off, n);
      if (w <= 0) die("write");
      off += (size_t)w;
    }
    if (fsync(fd) != 0) die("fsync");
    close(fd);
    printf("write %zu %.6f\n", bytes, now() - t0);
    return 0;
  }
  if (argc >= 3 && strcmp(argv[1], "read") == 0) {
    struct stat st;
    if (stat(argv[2], &st) != 0) die(argv[2]);
    size_t bytes = (size_t)st.st_size;
    double t0 = now();
    int fd = open(argv[2], O_RDONLY);
    if (fd < 0) die(argv[2]);
    char *buf = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) die("mmap");
    size_t off = 0;
    while (off < bytes) {
      ssize_t r = read(fd, buf + off, bytes - off > (64u << 20) ? (64u << 20) : bytes - off);
      if (r <= 0) die("read");
      off += (size_t)r;
    }
    close(fd);
    double fresh = now() - t0;
    t0 = now();
    fd = open(argv[2], O_RDONLY);
    if (fd < 0) die(argv[2]);
    static char small[1 << 20];
    for (;;) {
      ssize_t r = read(fd, small, sizeof small);
      if (r < 0) die("read");
      if (r == 0) break;
    }
    close(fd);
    printf("read %zu %.6f reuse %.6f\n", bytes, fresh, now() - t0);
    return 0;
  }
  fprintf(stderr, "usage: rawio write PATH BYTES | rawio read PATH\n");
  return 2;
}
