// Writes synthetic images for tests of the addon / CLI (`amber inspect`) without the agent.
//
//   mkimage OUT [--minimal] [--major N] [--flip-chunk I] [--flip-meta] [--truncate BYTES]
//
// --flip-chunk I flips one bit in the middle of chunk I (metadata stays valid, so only
// verifyImage notices) and prints that chunk's file offset on stdout.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "mkimage.h"

using namespace amber::test;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s OUT [--minimal] [--major N] [--flip-chunk I] [--flip-meta] [--truncate BYTES]\n", argv[0]);
    return 2;
  }
  std::string out = argv[1];
  MkSpec s = sampleSpec();
  long flipChunk = -1, truncateTo = -1;
  bool flipMeta = false;
  for (int i = 2; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> long {
      if (i + 1 >= argc) { std::fprintf(stderr, "%s needs a value\n", a.c_str()); std::exit(2); }
      return std::strtol(argv[++i], nullptr, 0);
    };
    if (a == "--minimal") {
      s = MkSpec{};
      s.threads = {{1, AMBER_THR_MAIN, 0, 0, 0}};
    } else if (a == "--major") s.major = static_cast<uint16_t>(next());
    else if (a == "--flip-chunk") flipChunk = next();
    else if (a == "--flip-meta") flipMeta = true;
    else if (a == "--truncate") truncateTo = next();
    else { std::fprintf(stderr, "unknown option %s\n", a.c_str()); return 2; }
  }
  auto img = mkimage(s);
  amber_header h;
  std::memcpy(&h, img.data(), sizeof h);
  if (flipChunk >= 0) {
    // Chunks are laid out in table order from data_off (see mkimage.cc).
    if (static_cast<size_t>(flipChunk) >= s.chunks.size()) { std::fprintf(stderr, "no such chunk\n"); return 2; }
    uint64_t off = h.data_off;
    for (long i = 0; i < flipChunk; i++) off += s.chunks[i].bytes.size();
    img[off + s.chunks[flipChunk].bytes.size() / 2] ^= 0x01;
    std::printf("%llu\n", static_cast<unsigned long long>(off));
  }
  if (flipMeta) img[h.meta_off + 20] ^= 0x01;
  if (truncateTo >= 0 && static_cast<size_t>(truncateTo) < img.size()) img.resize(truncateTo);
  if (!writeFile(out, img)) { std::perror(out.c_str()); return 1; }
  return 0;
}
