// Standalone driver for fuzz_reader.cc, so the fuzz target runs under g++ + ASan/UBSan without
// clang's libFuzzer. It is a plain random mutator seeded with valid images from mkimage: not
// coverage guided, but the reseal mode makes most mutations reach structural validation.
//
//   fuzz_driver [-seconds=N] [-seed=S] [-write-corpus=DIR] [FILE...]
// (--seconds N / --seed S / --seconds=N are accepted too.)
//
// FILEs (e.g. a saved crash or a libFuzzer corpus) are run first, as they are. On a sanitizer
// abort the current input is written to ./fuzz-crash.bin (reproduce: fuzz_driver fuzz-crash.bin).
// The death callback exists only in the sanitizer runtime; without sanitizers there is no
// report to attach the input to anyway.
#if defined(__SANITIZE_ADDRESS__)
#define AMBER_HAVE_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AMBER_HAVE_SANITIZER 1
#endif
#endif
#ifdef AMBER_HAVE_SANITIZER
#include <sanitizer/common_interface_defs.h>
#endif

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "mkimage.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern uint64_t g_fuzzOutcomes[7];

namespace {

std::vector<uint8_t> g_current;

void dumpCurrent() {
  if (FILE* f = std::fopen("fuzz-crash.bin", "wb")) {
    if (!g_current.empty()) std::fwrite(g_current.data(), 1, g_current.size(), f);
    std::fclose(f);
    std::fprintf(stderr, "fuzz_driver: input written to fuzz-crash.bin (%zu bytes)\n", g_current.size());
  }
}

void run(const std::vector<uint8_t>& input) {
  g_current = input;
  LLVMFuzzerTestOneInput(g_current.data(), g_current.size());
}

// Valid images that are small enough to mutate quickly (the sample's 1 MiB chunk shrunk).
std::vector<std::vector<uint8_t>> seeds() {
  using namespace amber::test;
  std::vector<std::vector<uint8_t>> out;
  MkSpec s = sampleSpec();
  s.chunks[1].bytes.resize(2 * AMBER_PAGE_SIZE);
  out.push_back(mkimage(s));
  MkSpec m;
  m.threads = {{7, AMBER_THR_MAIN, 0, 0, 0}};
  m.regions = {{0x10000, 0x12000, 3, 0, "", 0}};
  m.chunks = {{0x10000, std::vector<uint8_t>(AMBER_PAGE_SIZE, 0xab), 0}};
  out.push_back(mkimage(m));
  // Format 1.4: a deleted file's bytes (FILEDATA, two extents around a hole).
  MkSpec d = sampleSpec();
  d.chunks[1].bytes.resize(2 * AMBER_PAGE_SIZE);
  d.fds[1].subkind = AMBER_FILE_DELETED;
  d.fds[1].size = 3 * AMBER_PAGE_SIZE;
  d.extents = {{1, 0, std::vector<uint8_t>(100, 0x5a)}, {1, 2 * AMBER_PAGE_SIZE, std::vector<uint8_t>(AMBER_PAGE_SIZE, 0xa5)}};
  out.push_back(mkimage(d));
  return out;
}

const uint64_t kInteresting[] = {0,          1,          7,          8,         0xff,
                                 0x1000,     0xfff,      0x7fffffff, 0x80000000, 0xffffffff,
                                 1ull << 32, 1ull << 40, ~0ull,      ~0ull - 63, 1u << 20};

void mutate(std::vector<uint8_t>& b, std::mt19937_64& rng, const std::vector<uint8_t>& other) {
  auto pick = [&](uint64_t n) { return n ? rng() % n : 0; };
  const int rounds = 1 + static_cast<int>(pick(4));
  for (int r = 0; r < rounds; r++) {
    // Bias offsets toward the header and metadata, where the parsing is.
    const size_t limit = b.size() < 2 ? 1 : (pick(4) ? std::min<size_t>(b.size() - 1, 16384) : b.size() - 1);
    const size_t at = 1 + pick(limit);
    switch (pick(7)) {
      case 0: // bit flip
        if (at < b.size()) b[at] ^= static_cast<uint8_t>(1u << pick(8));
        break;
      case 1: // random byte
        if (at < b.size()) b[at] = static_cast<uint8_t>(rng());
        break;
      case 2: { // interesting little-endian word of 4 or 8 bytes, 4-aligned
        const size_t w = pick(2) ? 8 : 4;
        const size_t a = at & ~size_t{3};
        const uint64_t val = kInteresting[pick(std::size(kInteresting))] + (pick(3) == 0 ? pick(5) - 2 : 0);
        if (a >= 1 && a + w <= b.size()) std::memcpy(b.data() + a, &val, w);
        break;
      }
      case 3: // truncate
        b.resize(1 + pick(b.size()));
        break;
      case 4: // extend
        b.resize(b.size() + pick(9000), static_cast<uint8_t>(pick(2) ? 0 : rng()));
        break;
      case 5: { // copy a block from elsewhere (e.g. duplicate a record)
        const size_t len = 1 + pick(256);
        const size_t from = 1 + pick(b.size());
        if (from + len <= b.size() && at + len <= b.size()) std::memmove(b.data() + at, b.data() + from, len);
        break;
      }
      case 6: { // splice from another seed
        const size_t len = 1 + pick(512);
        if (at + len <= b.size() && at + len <= other.size()) std::memcpy(b.data() + at, other.data() + at, len);
        break;
      }
    }
  }
  b[0] = static_cast<uint8_t>(pick(8) ? 1 : 0); // mostly resealed (see fuzz_reader.cc)
}

} // namespace

int main(int argc, char** argv) {
  double seconds = 10;
  uint64_t seed = std::random_device{}();
  std::string corpusOut;
  std::vector<std::string> files;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a.rfind("--", 0) == 0) a = a.substr(1); // --seconds=N as -seconds=N
    if ((a == "-seconds" || a == "-seed" || a == "-write-corpus") && i + 1 < argc) a += "=" + std::string(argv[++i]);
    if (a.rfind("-seconds=", 0) == 0) seconds = std::stod(a.substr(9));
    else if (a.rfind("-seed=", 0) == 0) seed = std::stoull(a.substr(6));
    else if (a.rfind("-write-corpus=", 0) == 0) corpusOut = a.substr(14);
    else files.push_back(a);
  }
#ifdef AMBER_HAVE_SANITIZER
  __sanitizer_set_death_callback(dumpCurrent);
#else
  (void)dumpCurrent;
#endif

  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    run(bytes);
  }

  std::vector<std::vector<uint8_t>> pool;
  for (auto& img : seeds()) {
    for (uint8_t mode : {uint8_t{0}, uint8_t{1}}) {
      std::vector<uint8_t> in{mode};
      in.insert(in.end(), img.begin(), img.end());
      pool.push_back(in);
    }
  }
  if (!corpusOut.empty()) {
    for (size_t i = 0; i < pool.size(); i++) {
      std::vector<uint8_t> b = pool[i];
      amber::test::writeFile(corpusOut + "/seed-" + std::to_string(i), b);
    }
  }
  for (const auto& p : pool) run(p); // valid seeds must pass without incident

  std::mt19937_64 rng(seed);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  uint64_t n = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    for (int k = 0; k < 64; k++, n++) {
      std::vector<uint8_t> b = pool[rng() % pool.size()];
      mutate(b, rng, pool[rng() % pool.size()]);
      run(b);
    }
  }
  std::printf("fuzz_driver: %llu inputs in %.0f s, seed %llu, no failures\n",
              static_cast<unsigned long long>(n), seconds, static_cast<unsigned long long>(seed));
  const char* names[] = {"accepted", "ENOTIMAGE", "ETRUNCATED", "EVERSION", "EBADIMAGE", "ECHECKSUM", "other"};
  std::printf("fuzz_driver: outcomes:");
  for (int i = 0; i < 7; i++) std::printf(" %s=%llu", names[i], static_cast<unsigned long long>(g_fuzzOutcomes[i]));
  std::printf("\n");
  return 0;
}
