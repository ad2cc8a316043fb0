// Test-only image writer: builds synthetic, valid amber v1 images in memory so the codec, the
// reader and the addon can be tested without the agent. It uses the SAME checksum helpers as the
// agent's writer (image/validate.h), so an image it produces is exactly what a correct writer
// produces. The tamper hook lets a test break one table entry and still get correct checksums,
// which is how structural (not checksum) validation is exercised.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "image/validate.h"

namespace amber::test {

struct MkRegion {
  uint64_t start = 0, end = 0;
  uint32_t prot = 3;  // PROT_READ|PROT_WRITE
  uint32_t flags = 0; // AMBER_REG_*
  std::string path;
  uint64_t file_off = 0;
};

struct MkChunk {
  uint64_t addr = 0;
  std::vector<uint8_t> bytes; // page multiple, <= AMBER_CHUNK_MAX
  uint32_t region = 0;        // index into MkSpec::regions
};

struct MkThread {
  int32_t tid = 0;
  uint32_t flags = 0;
  uint64_t fs_base = 0;
  uint64_t rseq_addr = 0;
  uint32_t rseq_len = 0;
};

struct MkFd {
  MkFd(int32_t fd_ = 0, uint32_t kind_ = AMBER_FD_FILE, int32_t flags_ = 0, uint64_t pos_ = 0, std::string path_ = {})
      : fd(fd_), kind(kind_), flags(flags_), pos(pos_), path(std::move(path_)) {}
  int32_t fd = 0;
  uint32_t kind = AMBER_FD_FILE;
  int32_t flags = 0;
  uint64_t pos = 0;
  std::string path;
  std::string data;       // amber_fd.data (a socket's record: see sockRecord)
  uint32_t subkind = 0;
  uint32_t fd_flags = 0;  // AMBER_FD_HIDDEN ...
  uint64_t inode = 0;
  uint64_t size = 0;
};

// A FILEDATA extent (format 1.4): bytes of fds[fd] at offset.
struct MkExtent {
  uint32_t fd = 0;
  uint64_t offset = 0;
  std::vector<uint8_t> bytes;  // 0 < size <= AMBER_CHUNK_MAX
};

// A socket's data (format 1.4, image/sockrec.h): a datagram socket (family AF_UNIX) with one option
// and two queued messages — "first" from the abstract name "\0peer" carrying descriptor record
// `fdIndex`, and an empty one — or (stream) a TCP socket with "hello world" queued whose first 5
// bytes were one write carrying descriptor record `fdIndex`.
std::string sockRecord(bool stream, uint32_t fdIndex);

// The tables just before checksums are computed; a tamper hook may change anything in them.
struct MkTables {
  amber_header hdr;
  amber_process proc;
  std::vector<amber_thread> threads;
  std::vector<amber_region> regions;
  std::vector<amber_chunk> chunks;
  std::vector<amber_fd> fds;
  std::vector<amber_timer> timers;
  std::vector<amber_extent> extents;
  std::string strings;
  bool hasExt = false;      // a PROCEXT section (format 1.5) with ext
  amber_process_ext ext{};
};

struct MkSpec {
  std::vector<MkRegion> regions;
  std::vector<MkChunk> chunks; // sorted by addr
  std::vector<MkThread> threads;
  std::vector<MkFd> fds;
  std::vector<amber_timer> timers;
  std::vector<MkExtent> extents; // sorted by (fd, offset)
  std::vector<std::pair<std::string, std::string>> plugins; // name -> bytes
  std::vector<std::string> argv;
  std::string cwd, exe;
  std::string kernel = "6.1.0-test", libc = "2.36", hostname = "testhost";
  int32_t vpid = 1, parent_vpid = 0, real_pid = 4242;
  uint32_t generation = 1;
  std::array<uint8_t, 16> generationId{{0xa7, 0x1b, 0x3c, 0x4d, 0x5e, 0x6f, 0x70, 0x81,
                                         0x92, 0xa3, 0xb4, 0xc5, 0xd6, 0xe7, 0xf8, 0x09}};
  int64_t time_ns = 1700000000123456789LL;
  uint16_t major = AMBER_FORMAT_MAJOR, minor = AMBER_FORMAT_MINOR;
  std::function<void(MkTables&)> tamper;
};

// A small but complete process: heap, a file mapping, a stack, vdso, two threads, fds, a timer.
MkSpec sampleSpec();

// Build the image bytes.
std::vector<uint8_t> mkimage(const MkSpec& spec);

// Recompute header_xxh, meta_xxh and the trailer's image_xxh of a (possibly garbage) image in
// place, as a writer would have. Never reads out of bounds. Used by the fuzz target so mutated
// structure is checked by the structural validation, not merely rejected by a checksum.
void reseal(std::vector<uint8_t>& img);

// Offset of the first chunk's data (for tests that flip a data byte).
uint64_t firstChunkOffset(const std::vector<uint8_t>& img);

bool writeFile(const std::string& path, const std::vector<uint8_t>& bytes);

} // namespace amber::test
