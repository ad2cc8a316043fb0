// Fuzz target for the image parse path (validate.h through the Reader), libFuzzer ABI.
//
// Input: one mode byte, then image bytes.
//   mode & 1 == 0: the bytes are parsed as they are. Almost all of these die at a checksum,
//                  which checks the framing code (magic, sizes, truncation) only.
//   mode & 1 == 1: the bytes are first "resealed" (header, metadata and image checksums
//                  recomputed, as a buggy-but-honest writer would) so mutations reach the
//                  structural validation of sections and tables, which is where the bounds
//                  arithmetic lives.
// Any ReadError is an expected outcome; anything else (a crash, a sanitizer report, another
// exception, or an accepted image that breaks the validator's promises) is a bug.
//
// Build with clang -fsanitize=fuzzer,address,undefined for real fuzzing, or with g++ together
// with fuzz_driver.cc (a small random-mutation driver) — see build.sh.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "image/reader.h"
#include "image/sockrec.h"
#include "mkimage.h"

namespace {

// The validator's promises about an accepted image, re-checked independently.
void checkInvariants(const amber::Image& im) {
  const amber_view& v = im.view();
  const amber_header& h = im.header();
  if (h.file_size > im.actualSize()) std::abort();
  int mains = 0;
  for (uint32_t i = 0; i < v.nthreads; i++) mains += (v.threads[i].flags & AMBER_THR_MAIN) != 0;
  // (none when the main thread had ended: AMBER_PROC_MAIN_EXITED)
  if (mains != ((v.proc->proc_flags & AMBER_PROC_MAIN_EXITED) ? 0 : 1) || v.nthreads > AMBER_MAX_THREADS) std::abort();
  // Threads' own working directories: whole records in the strings, each naming a thread.
  if (v.pext->thread_fs.len) {
    const char* d = nullptr;
    uint32_t len = 0;
    if (!amber_str_at(&v, v.pext->thread_fs, &d, &len) || len % sizeof(amber_thread_fs)) std::abort();
    for (uint32_t k = 0; k < len / sizeof(amber_thread_fs); k++) {
      amber_thread_fs f;
      std::memcpy(&f, d + (uint64_t)k * sizeof f, sizeof f);
      if (f.thread >= v.nthreads || !f.group || !f.cwd.len || (uint64_t)f.cwd.off + f.cwd.len > v.strings_len) std::abort();
    }
  }
  // AIO requests in flight: whole records inside the strings.
  if (v.pext->aio_reqs.len) {
    const char* d = nullptr;
    uint32_t len = 0;
    if (!amber_str_at(&v, v.pext->aio_reqs, &d, &len) || len % sizeof(amber_aio_req)) std::abort();
  }
  for (uint32_t i = 0; i < v.nchunks; i++) {
    const amber_chunk& c = v.chunks[i];
    if (c.file_off < h.data_off || c.file_off + c.stored_len > h.data_off + h.data_size) std::abort();
    if (c.file_off % AMBER_PAGE_SIZE || c.len % AMBER_PAGE_SIZE || c.len > AMBER_CHUNK_MAX) std::abort();
    if (c.region >= v.nregions) std::abort();
    const amber_region& r = v.regions[c.region];
    if (c.addr < r.start || c.addr + c.len > r.end) std::abort();
  }
  // Touch every string so ASan sees any out-of-range view.
  volatile char sink = 0;
  auto touch = [&](amber_str s) {
    std::string_view sv = im.str(s);
    for (char ch : sv) sink = static_cast<char>(sink ^ ch);
  };
  // Format 1.4: an accepted image's header names the program its PROCESS record holds.
  if (h.minor >= 4) {
    std::string_view exe = im.str(v.proc->exe), cmd = im.str(v.proc->cmdline);
    if (amber_program_xxh(exe.data(), static_cast<uint32_t>(exe.size()), cmd.data(),
                          static_cast<uint32_t>(cmd.size())) != h.program_xxh)
      std::abort();
  }
  touch(v.proc->cmdline);
  touch(v.proc->cwd);
  touch(v.proc->exe);
  for (uint32_t i = 0; i < v.nregions; i++) touch(v.regions[i].path);
  for (uint32_t i = 0; i < v.nfds; i++) touch(v.fds[i].path);
  for (uint32_t i = 0; i < v.nfds; i++) touch(v.fds[i].data);
  for (uint32_t i = 0; i < v.nextents; i++)  // validated: each names a descriptor of the table
    if (v.extents[i].fd >= v.nfds) std::abort();
  // A socket's record (format 1.4): whatever the bytes, the parser stays inside them.
  for (uint32_t i = 0; i < v.nfds; i++) {
    if (v.fds[i].kind != AMBER_FD_SOCKET) continue;
    std::string_view d = im.str(v.fds[i].data);
    std::vector<char> own(d.begin(), d.end());  // exactly its bytes: ASan sees any overread
    amber_sockview sv;
    if (!amber_sock_parse(own.empty() ? nullptr : own.data(), (uint32_t)own.size(), &sv)) continue;
    for (uint32_t k = 0; k < sv.si.inflight_len; k++) sink = static_cast<char>(sink ^ sv.queued[k]);
    for (uint32_t k = 0; k < sv.x.nopts; k++) sink = static_cast<char>(sink ^ amber_sock_opt(&sv, k).val[0]);
    const char* cur = sv.msgs;
    amber_sockmsg_view m;
    while (amber_sock_next_msg(&sv, &cur, &m)) {
      for (uint32_t k = 0; k < m.m.addr_len; k++) sink = static_cast<char>(sink ^ m.addr[k]);
      if (m.data) for (uint32_t k = 0; k < m.m.len; k++) sink = static_cast<char>(sink ^ m.data[k]);
      for (uint32_t k = 0; k < m.m.nfds; k++) sink = static_cast<char>(sink ^ (char)amber_sock_msg_fd(&m, k));
    }
    for (uint32_t k = 0; k < sv.x.npending; k++) sink = static_cast<char>(sink ^ (char)amber_sock_pending(&sv, k));
  }
  // A pty master's record (amber_ptyinfo, output, input entries): the same.
  for (uint32_t i = 0; i < v.nfds; i++) {
    if (v.fds[i].kind != AMBER_FD_CHR || v.fds[i].subkind != AMBER_CHR_PTMX) continue;
    std::string_view d = im.str(v.fds[i].data);
    std::vector<char> own(d.begin(), d.end());
    amber_ptyinfo pi;
    uint32_t at, len;
    if (!amber_pty_parse(own.empty() ? nullptr : own.data(), (uint32_t)own.size(), &pi, &at, &len)) continue;
    for (uint32_t k = 0; k < len; k++) sink = static_cast<char>(sink ^ own[at + k]);
  }
  const char* name;
  uint32_t nameLen;
  const void* bytes;
  uint64_t len;
  for (uint32_t i = 0; i < v.nplugins; i++) {
    if (!amber_plugin_at(&v, i, &name, &nameLen, &bytes, &len)) std::abort();
    for (uint64_t k = 0; k < len; k++) sink = static_cast<char>(sink ^ static_cast<const char*>(bytes)[k]);
  }
}

} // namespace

// Outcome counters, read by fuzz_driver.cc to show the mutations get past the checksums:
// [0] accepted and verified, [AMBER_E_*] rejected with that code, [6] I/O-style errors.
uint64_t g_fuzzOutcomes[7];

static int outcomeIndex(const std::string& code) {
  const char* names[] = {"", "ENOTIMAGE", "ETRUNCATED", "EVERSION", "EBADIMAGE", "ECHECKSUM"};
  for (int i = 1; i < 6; i++)
    if (code == names[i]) return i;
  return 6;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  std::vector<uint8_t> img(data + 1, data + size);
  if (mode & 1) amber::test::reseal(img);
  try {
    auto im = amber::Image::fromMemory("fuzz.img", img.data(), img.size());
    checkInvariants(*im);
    im->verifyChunks();
    g_fuzzOutcomes[0]++;
  } catch (const amber::ReadError& e) {
    g_fuzzOutcomes[outcomeIndex(e.code)]++; // expected for almost every input
  }
  return 0;
}
