// Unit tests for the image codec (validate.h), the reader and the test writer. No framework:
// each case is a function; output is TAP; exit status is non-zero if anything failed.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "image/reader.h"
#include "image/sockrec.h"
#include "mkimage.h"

using namespace amber;
using namespace amber::test;

namespace {

int g_failed = 0, g_checks = 0;
std::string g_case;

#define CHECK(cond)                                                                        \
  do {                                                                                     \
    g_checks++;                                                                            \
    if (!(cond)) {                                                                         \
      g_failed++;                                                                          \
      std::printf("  # %s:%d: CHECK(%s) failed in %s\n", __FILE__, __LINE__, #cond,        \
                  g_case.c_str());                                                         \
      return;                                                                              \
    }                                                                                      \
  } while (0)

// Runs the whole in-memory validation path exactly like a reader: header, meta, trailer, chunks.
// Returns the first error (code AMBER_E_OK if none).
amber_err validateAll(const std::vector<uint8_t>& img) {
  amber_err e{AMBER_E_OK, "", 0};
  std::vector<uint64_t> page(AMBER_HEADER_SIZE / 8, 0);
  if (!img.empty()) std::memcpy(page.data(), img.data(), std::min<size_t>(img.size(), AMBER_HEADER_SIZE));
  if (!amber_check_header(page.data(), img.size(), &e)) return e;
  const amber_header* h = reinterpret_cast<const amber_header*>(page.data());
  std::vector<uint64_t> meta(h->meta_size / 8);
  std::memcpy(meta.data(), img.data() + h->meta_off, h->meta_size);
  amber_view v{};
  if (!amber_parse_meta(h, meta.data(), h->meta_size, &v, &e)) return e;
  if (!amber_check_trailer(h, img.data() + h->file_size - AMBER_TRAILER_SIZE, &v, &e)) return e;
  for (uint32_t i = 0; i < v.nchunks; i++)
    if (!amber_check_chunk(&v.chunks[i], img.data() + v.chunks[i].file_off, &e)) return e;
  e = {AMBER_E_OK, "", 0};
  return e;
}

std::string tmpPath(const char* name) {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/amber-test-" + std::to_string(getpid()) + "-" + name;
}

template <class T> T readAt(const std::vector<uint8_t>& img, uint64_t off) {
  T t;
  std::memcpy(&t, img.data() + off, sizeof t);
  return t;
}

// ---- cases ------------------------------------------------------------------------------------

void validSampleParses() {
  auto img = mkimage(sampleSpec());
  amber_err e = validateAll(img);
  if (e.code) std::printf("  # %s at %llu\n", e.what, (unsigned long long)e.offset);
  CHECK(e.code == AMBER_E_OK);

  auto im = Image::fromMemory("mem.img", img.data(), img.size());
  const amber_view& v = im->view();
  CHECK(v.nthreads == 2);
  CHECK(v.nregions == 6);
  CHECK(v.nchunks == 5);
  CHECK(v.nfds == 7);
  CHECK(v.ntimers == 1);
  CHECK(v.nplugins == 1);
  CHECK(im->str(v.proc->cwd) == "/tmp/work");
  CHECK(im->str(v.regions[2].path) == "[heap]");
  CHECK(v.regions[2].nchunks == 2 && v.regions[2].first_chunk == 1);
  const char* name;
  uint32_t nameLen;
  const void* bytes;
  uint64_t len;
  CHECK(amber_plugin_at(&v, 0, &name, &nameLen, &bytes, &len));
  CHECK(std::string(name, nameLen) == "fd" && len == 11 && std::memcmp(bytes, "saved-state", 11) == 0);
  CHECK(!amber_plugin_at(&v, 1, &name, &nameLen, &bytes, &len));
  auto ver = im->verifyChunks();
  CHECK(ver.chunks == 5);
  CHECK(ver.bytes == v.hdr->pages_stored * AMBER_PAGE_SIZE);
}

void minimalImageParses() {
  MkSpec s;
  s.threads = {{1, AMBER_THR_MAIN, 0, 0, 0}};
  auto img = mkimage(s);
  CHECK(validateAll(img).code == AMBER_E_OK);
}

void writerAndReaderHeaderHashAgree() {
  // amber_header_xxh (writer: struct + zeros) == amber_header_page_xxh (reader: the page).
  auto img = mkimage(sampleSpec());
  amber_header h = readAt<amber_header>(img, 0);
  CHECK(amber_header_xxh(&h) == h.header_xxh);
  CHECK(amber_header_page_xxh(img.data()) == h.header_xxh);
  // and neither depends on the field's own value
  h.header_xxh = 12345;
  CHECK(amber_header_xxh(&h) == readAt<amber_header>(img, 0).header_xxh);
}

void everyHeaderByteFlipDetected() {
  auto img = mkimage(sampleSpec());
  for (size_t i = 0; i < AMBER_HEADER_SIZE; i++) {
    for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xff}}) {
      img[i] ^= mask; // in place: copying the 1 MiB image 12k times dominates the run time
      amber_err e = validateAll(img);
      img[i] ^= mask;
      if (e.code == AMBER_E_OK) std::printf("  # header flip at %zu mask %#x undetected\n", i, mask);
      CHECK(e.code != AMBER_E_OK);
      // Outside magic and major the header checksum is what catches it.
      if (i >= 12) CHECK(e.code == AMBER_E_CHECKSUM);
    }
  }
}

void everyMetaByteFlipDetected() {
  auto img = mkimage(sampleSpec());
  amber_header h = readAt<amber_header>(img, 0);
  for (uint64_t i = h.meta_off; i < h.meta_off + h.meta_size; i++) {
    img[i] ^= 0x01;
    amber_err e = validateAll(img);
    img[i] ^= 0x01;
    CHECK(e.code == AMBER_E_CHECKSUM);
    CHECK(e.offset == h.meta_off);
  }
}

void everyTrailerByteFlipDetected() {
  auto img = mkimage(sampleSpec());
  for (size_t i = img.size() - AMBER_TRAILER_SIZE; i < img.size() - 32; i++) {
    auto bad = img;
    bad[i] ^= 0x10;
    CHECK(validateAll(bad).code != AMBER_E_OK);
  }
}

void truncationDetected() {
  auto img = mkimage(sampleSpec());
  std::vector<size_t> lens;
  for (size_t n = 0; n < 64; n++) lens.push_back(n);
  for (size_t n = 64; n < img.size(); n = n * 5 / 4 + 1) lens.push_back(n);
  for (size_t n = img.size() - 200; n < img.size(); n++) lens.push_back(n);
  lens.push_back(AMBER_HEADER_SIZE);
  lens.push_back(AMBER_HEADER_SIZE - 1);
  for (size_t n : lens) {
    std::vector<uint8_t> cut(img.begin(), img.begin() + n);
    amber_err e = validateAll(cut);
    if (n < 8) {
      CHECK(e.code == AMBER_E_NOTIMAGE);
    } else {
      if (e.code != AMBER_E_TRUNCATED)
        std::printf("  # len %zu: code %d %s\n", n, e.code, e.what);
      CHECK(e.code == AMBER_E_TRUNCATED);
    }
    // through the reader too
    bool threw = false;
    try {
      Image::fromMemory("cut.img", cut.data(), cut.size());
    } catch (const ReadError& re) {
      threw = true;
      CHECK(re.code == (n < 8 ? "ENOTIMAGE" : "ETRUNCATED"));
    }
    CHECK(threw);
  }
}

void missingTrailerIsTruncated() {
  auto img = mkimage(sampleSpec());
  std::memset(img.data() + img.size() - AMBER_TRAILER_SIZE, 0, AMBER_TRAILER_SIZE);
  amber_err e = validateAll(img);
  CHECK(e.code == AMBER_E_TRUNCATED);
  CHECK(e.offset == img.size() - AMBER_TRAILER_SIZE);
}

void badMagicIsNotImage() {
  auto img = mkimage(sampleSpec());
  img[0] = 'X';
  CHECK(validateAll(img).code == AMBER_E_NOTIMAGE);
  std::vector<uint8_t> text(10000, 'a');
  CHECK(validateAll(text).code == AMBER_E_NOTIMAGE);
}

void badMajorIsVersion() {
  for (uint16_t major : {uint16_t{0}, uint16_t{2}, uint16_t{99}}) {
    MkSpec s = sampleSpec();
    s.major = major; // correctly checksummed, just another version
    auto img = mkimage(s);
    amber_err e = validateAll(img);
    CHECK(e.code == AMBER_E_VERSION);
    CHECK(e.offset == offsetof(amber_header, major));
  }
  // a raw patch (checksum now wrong) is still reported as a version problem: major first
  auto img = mkimage(sampleSpec());
  img[offsetof(amber_header, major)] = 2;
  CHECK(validateAll(img).code == AMBER_E_VERSION);
}

void newerMinorAccepted() {
  MkSpec s = sampleSpec();
  s.minor = AMBER_FORMAT_MINOR + 1;
  CHECK(validateAll(mkimage(s)).code == AMBER_E_OK);
}

void otherArchAndPageSizeAreVersion() {
  MkSpec s = sampleSpec();
  s.tamper = [](MkTables& t) { t.hdr.arch = 2; };
  CHECK(validateAll(mkimage(s)).code == AMBER_E_VERSION);
  s.tamper = [](MkTables& t) { t.hdr.page_size = 65536; };
  CHECK(validateAll(mkimage(s)).code == AMBER_E_VERSION);
  s.tamper = [](MkTables& t) { t.chunks[0].codec = 7; };
  CHECK(validateAll(mkimage(s)).code == AMBER_E_VERSION);
}

void chunkFlipDetected() {
  auto img = mkimage(sampleSpec());
  amber_header h = readAt<amber_header>(img, 0);
  // Flip one bit in the second chunk (the 1 MiB heap chunk), somewhere in its middle.
  std::vector<uint64_t> meta(h.meta_size / 8);
  std::memcpy(meta.data(), img.data() + h.meta_off, h.meta_size);
  amber_view v{};
  amber_err e{};
  CHECK(amber_parse_meta(&h, meta.data(), h.meta_size, &v, &e));
  const amber_chunk c = v.chunks[1];
  auto bad = img;
  bad[c.file_off + 12345] ^= 0x04;

  CHECK(amber_check_chunk(&c, img.data() + c.file_off, &e));
  CHECK(!amber_check_chunk(&c, bad.data() + c.file_off, &e));
  CHECK(e.code == AMBER_E_CHECKSUM && e.offset == c.file_off);

  // Metadata-only open still succeeds: chunk bytes are not read until verifyChunks.
  const std::string path = tmpPath("p1.img");
  CHECK(writeFile(path, bad));
  auto im = Image::open(path);
  bool threw = false;
  try {
    im->verifyChunks();
  } catch (const ReadError& re) {
    threw = true;
    CHECK(re.code == "ECHECKSUM");
    CHECK(re.hasOffset && re.offset == c.file_off);
    const std::string want = path + ": chunk checksum mismatch at offset " + std::to_string(c.file_off);
    if (want != re.what()) std::printf("  # message: %s\n", re.what());
    CHECK(want == re.what());
  }
  ::unlink(path.c_str());
  CHECK(threw);
}

void everyChunkFlipDetectedByReader() {
  MkSpec s = sampleSpec();
  auto img = mkimage(s);
  auto good = Image::fromMemory("x.img", img.data(), img.size());
  for (uint32_t i = 0; i < good->view().nchunks; i++) {
    const amber_chunk& c = good->view().chunks[i];
    auto bad = img;
    bad[c.file_off + c.len - 1] ^= 0x80; // last byte of the chunk
    auto im = Image::fromMemory("x.img", bad.data(), bad.size());
    bool threw = false;
    try {
      im->verifyChunks();
    } catch (const ReadError& re) {
      threw = re.code == "ECHECKSUM" && re.offset == c.file_off;
    }
    CHECK(threw);
  }
}

void fileErrors() {
  try {
    Image::open("/nonexistent/dir/p9.img");
    CHECK(false);
  } catch (const ReadError& re) {
    CHECK(re.code == "ENOENT");
    CHECK(re.err == ENOENT);
    CHECK(std::string(re.what()).find("/nonexistent/dir/p9.img") == 0);
  }
  try {
    Image::open("/tmp");
    CHECK(false);
  } catch (const ReadError& re) {
    CHECK(re.code == "EISDIR");
  }
  const std::string path = tmpPath("empty.img");
  CHECK(writeFile(path, {}));
  try {
    Image::open(path);
    CHECK(false);
  } catch (const ReadError& re) {
    CHECK(re.code == "ENOTIMAGE");
  }
  ::unlink(path.c_str());

  // Issue 12: a symbolic link is never followed; a FIFO is refused at once (the open must not
  // block waiting for a writer).
  const std::string real = tmpPath("real.img");
  const std::string link = tmpPath("link.img");
  const std::string fifo = tmpPath("fifo.img");
  auto img = mkimage(sampleSpec());
  CHECK(writeFile(real, img));
  ::unlink(link.c_str());
  CHECK(::symlink(real.c_str(), link.c_str()) == 0);
  try {
    Image::open(link);
    CHECK(false);
  } catch (const ReadError& re) {
    CHECK(re.code == "ELOOP");
    CHECK(std::string(re.what()).find(link + ": is a symbolic link") == 0);
  }
  ::unlink(fifo.c_str());
  CHECK(::mkfifo(fifo.c_str(), 0600) == 0);
  try {
    Image::open(fifo);
    CHECK(false);
  } catch (const ReadError& re) {
    CHECK(re.code == "ENOTIMAGE");
    CHECK(std::string(re.what()).find("not a regular file (a FIFO)") != std::string::npos);
  }
  CHECK(Image::open(real)->header().vpid == 1);
  ::unlink(link.c_str());
  ::unlink(fifo.c_str());
  ::unlink(real.c_str());
}

// Format 1.4: the header carries the generation id and the program's checksum, both covered by
// the header checksum; the reader exposes the trailer's image checksum (what manifests record).
void generationBinding() {
  MkSpec s = sampleSpec();
  auto img = mkimage(s);
  auto im = Image::fromMemory("mem.img", img.data(), img.size());
  const amber_header& h = im->header();
  CHECK(h.minor == AMBER_FORMAT_MINOR && AMBER_FORMAT_MINOR >= 4);
  CHECK(std::memcmp(h.generation_id, s.generationId.data(), 16) == 0);
  std::string argv;
  for (const auto& a : s.argv) argv += a + '\0';
  CHECK(h.program_xxh == amber_program_xxh(s.exe.data(), (uint32_t)s.exe.size(), argv.data(), (uint32_t)argv.size()));
  CHECK(h.program_xxh != 0);
  const amber_trailer tr = readAt<amber_trailer>(img, img.size() - AMBER_TRAILER_SIZE);
  CHECK(im->trailer().image_xxh == tr.image_xxh);
  // another generation id: another header checksum, so another image_xxh
  MkSpec o = s;
  o.generationId[0] ^= 1;
  auto img2 = mkimage(o);
  CHECK(readAt<amber_trailer>(img2, img2.size() - AMBER_TRAILER_SIZE).image_xxh != tr.image_xxh);
  // a flipped id byte is a header checksum error
  img[offsetof(amber_header, generation_id) + 3] ^= 0x40;
  CHECK(validateAll(img).code == AMBER_E_CHECKSUM);
  // a 1.3 image has neither field, and is read as before
  MkSpec old = sampleSpec();
  old.minor = 3;
  old.generationId = {};
  auto img3 = mkimage(old);
  CHECK(validateAll(img3).code == AMBER_E_OK);
  CHECK(Image::fromMemory("old.img", img3.data(), img3.size())->header().program_xxh == 0);
}

// Structural corruption with correct checksums (a writer bug): each must be EBADIMAGE/CORRUPT.
void structuralCorruptionDetected() {
  struct Case {
    const char* name;
    std::function<void(MkTables&)> f;
  };
  const uint64_t P = AMBER_PAGE_SIZE;
  std::vector<Case> cases = {
      {"chunk addr unaligned", [](MkTables& t) { t.chunks[0].addr += 8; }},
      {"chunk len not page multiple", [](MkTables& t) { t.chunks[0].len -= 1; t.chunks[0].stored_len -= 1; }},
      {"chunk len zero", [](MkTables& t) { t.chunks[0].len = 0; t.chunks[0].stored_len = 0; }},
      {"chunk too long", [P](MkTables& t) { t.chunks[1].len += P; t.chunks[1].stored_len += P; }},
      {"chunk file_off unaligned", [](MkTables& t) { t.chunks[2].file_off += 16; }},
      {"chunk data before data area", [](MkTables& t) { t.chunks[0].file_off = 0; }},
      {"chunk data past data area", [](MkTables& t) { t.chunks[4].file_off += 4096 * 8; }},
      {"chunks overlap", [P](MkTables& t) { t.chunks[2].addr -= P; }},
      {"chunks unsorted", [](MkTables& t) { std::swap(t.chunks[0], t.chunks[1]); }},
      {"chunk region bad", [](MkTables& t) { t.chunks[0].region = 999; }},
      {"chunk outside region", [](MkTables& t) { t.chunks[0].region = 0; }},
      {"chunk stored_len differs", [](MkTables& t) { t.chunks[0].stored_len = 8192; }},
      {"region range bad", [](MkTables& t) { t.regions[2].nchunks = 9; }},
      {"region unaligned", [](MkTables& t) { t.regions[0].end -= 1; }},
      {"region empty", [](MkTables& t) { t.regions[0].end = t.regions[0].start; }},
      {"regions overlap", [P](MkTables& t) { t.regions[1].start = t.regions[0].end - P; }},
      {"region prot", [](MkTables& t) { t.regions[0].prot = 0x10; }},
      {"region flags", [](MkTables& t) { t.regions[0].flags |= 1u << 20; }},
      {"region path range", [](MkTables& t) { t.regions[0].path.off = 1u << 30; }},
      {"region path overflow", [](MkTables& t) { t.regions[0].path = {0xffffffffu, 2}; }},
      {"vdso with chunks", [](MkTables& t) { t.regions[4].flags |= AMBER_REG_VDSO; }},
      {"no main thread", [](MkTables& t) { t.threads[0].flags = 0; }},
      {"two main threads", [](MkTables& t) { t.threads[1].flags = AMBER_THR_MAIN; }},
      {"duplicate tid", [](MkTables& t) { t.threads[1].tid = t.threads[0].tid; }},
      {"bad tid", [](MkTables& t) { t.threads[1].tid = -3; }},
      {"too many threads", [](MkTables& t) {
         amber_thread x = t.threads[1];
         for (int i = 0; i < 1100; i++) { x.tid = 10000 + i; t.threads.push_back(x); }
       }},
      {"no threads", [](MkTables& t) { t.threads.clear(); }},
      {"cmdline range", [](MkTables& t) { t.proc.cmdline.len = 100000; }},
      {"auxv odd", [](MkTables& t) { t.proc.auxv_words = 3; }},
      {"fd kind", [](MkTables& t) { t.fds[0].kind = 77; }},
      {"fd negative", [](MkTables& t) { t.fds[0].fd = -1; }},
      {"fd path range", [](MkTables& t) { t.fds[1].path.len = 1u << 31; }},
      {"timer signo", [](MkTables& t) { t.timers[0].signo = 65; }},
      {"pages_stored", [](MkTables& t) { t.hdr.pages_stored += 1; }},
      {"meta_off inside header", [](MkTables& t) { t.hdr.meta_off = 64; }},
      {"data overlaps meta", [](MkTables& t) { t.hdr.data_off = 4096; }},
      {"data past end", [](MkTables& t) { t.hdr.data_size += 1 << 20; }},
      {"hostname unterminated", [](MkTables& t) { std::memset(t.hdr.hostname, 'h', sizeof t.hdr.hostname); }},
      {"program_xxh differs", [](MkTables& t) { t.hdr.program_xxh ^= 1; }},
      {"exe is not the header's program", [](MkTables& t) { t.proc.exe.len -= 1; }},
  };
  for (const auto& c : cases) {
    MkSpec s = sampleSpec();
    s.tamper = c.f;
    auto img = mkimage(s);
    amber_err e = validateAll(img);
    if (e.code != AMBER_E_CORRUPT)
      std::printf("  # case '%s': got code %d (%s)\n", c.name, e.code, e.what);
    CHECK(e.code == AMBER_E_CORRUPT);
    try {
      Image::fromMemory("bad.img", img.data(), img.size());
      CHECK(false);
    } catch (const ReadError& re) {
      CHECK(re.code == "EBADIMAGE");
    }
  }
}

// Format 1.4 FILEDATA: the bytes of a deleted file / memfd (fd 1 of the sample), two extents
// around a hole, parsed, checked by the reader, and every structural rule enforced.
MkSpec fileDataSpec() {
  MkSpec s = sampleSpec();
  s.fds[1].subkind = AMBER_FILE_DELETED;
  s.fds[1].path = "/tmp/work/gone.dat (deleted)";
  s.fds[1].size = 3 * 65536;
  std::vector<uint8_t> a(5000), b(65536);
  for (size_t i = 0; i < a.size(); i++) a[i] = (uint8_t)(i * 13);
  for (size_t i = 0; i < b.size(); i++) b[i] = (uint8_t)(i * 7 + 1);
  s.extents = {{1, 0, a}, {1, 2 * 65536, b}};
  return s;
}

void fileDataParsesAndVerifies() {
  auto img = mkimage(fileDataSpec());
  amber_err e = validateAll(img);
  if (e.code) std::printf("  # %s at %llu\n", e.what, (unsigned long long)e.offset);
  CHECK(e.code == AMBER_E_OK);
  auto im = Image::fromMemory("fd.img", img.data(), img.size());
  const amber_view& v = im->view();
  CHECK(v.nextents == 2);
  CHECK(v.extents[0].fd == 1 && v.extents[0].len == 5000 && v.extents[1].offset == 2 * 65536);
  CHECK(v.extents[0].file_off % AMBER_PAGE_SIZE == 0 && v.extents[1].file_off % AMBER_PAGE_SIZE == 0);
  CHECK(amber_check_extent(&v.extents[0], img.data() + v.extents[0].file_off, &e));
  Image::Verified ok = im->verifyChunks();
  CHECK(ok.bytes >= 5000 + 65536);
  // A flipped byte of file data: the reader names the extent's offset.
  std::vector<uint8_t> bad = img;
  bad[v.extents[1].file_off + 100] ^= 0x40;
  auto im2 = Image::fromMemory("fd.img", bad.data(), bad.size());
  try {
    im2->verifyChunks();
    CHECK(false);
  } catch (const ReadError& re) {
    CHECK(re.code == "ECHECKSUM");
    CHECK(re.offset == v.extents[1].file_off);
  }
}

// The process's credentials (proc/creds.cc): an amber_creds and its groups in STRINGS, named by
// PROCEXT's creds; the validator checks the length agrees with ngroups and dumpable is 0..2.
void credentialsRecord() {
  auto withCreds = [](std::function<void(amber_creds&, amber_str&, uint32_t&)> damage) {
    MkSpec s = sampleSpec();
    s.tamper = [damage](MkTables& t) {
      amber_creds c{};
      for (int k = 0; k < 4; k++) c.uid[k] = c.gid[k] = 65534;
      c.cap_bounding = 0x1ffffffffffull;
      c.ngroups = 2;
      uint32_t groups[2] = {4, 27};
      amber_str at{static_cast<uint32_t>(t.strings.size()), static_cast<uint32_t>(sizeof c + sizeof groups)};
      uint32_t extra = 0;
      damage(c, at, extra);
      t.strings.append(reinterpret_cast<const char*>(&c), sizeof c);
      t.strings.append(reinterpret_cast<const char*>(groups), sizeof groups);
      t.strings.append(extra, '\0');
      t.hasExt = true;
      t.ext.creds = at;
    };
    return mkimage(s);
  };
  auto img = withCreds([](amber_creds&, amber_str&, uint32_t&) {});
  amber_err e = validateAll(img);
  if (e.code) std::printf("  # %s at %llu\n", e.what, (unsigned long long)e.offset);
  CHECK(e.code == AMBER_E_OK);
  auto im = Image::fromMemory("creds.img", img.data(), img.size());
  const amber_view& v = im->view();
  const char* d = nullptr;
  uint32_t len = 0;
  CHECK(amber_str_at(&v, v.pext->creds, &d, &len) && len == sizeof(amber_creds) + 8);
  amber_creds c{};
  if (d) std::memcpy(&c, d, sizeof c);
  CHECK(c.uid[2] == 65534 && c.ngroups == 2);
  struct Bad {
    const char* name;
    std::function<void(amber_creds&, amber_str&, uint32_t&)> f;
  };
  const Bad bad[] = {
      {"more groups than bytes", [](amber_creds& c, amber_str&, uint32_t&) { c.ngroups = 3; }},
      {"fewer groups than bytes", [](amber_creds&, amber_str& s, uint32_t& x) { s.len += 4; x = 4; }},
      {"shorter than the record", [](amber_creds&, amber_str& s, uint32_t&) { s.len = sizeof(amber_creds) - 8; }},
      {"dumpable 3", [](amber_creds& c, amber_str&, uint32_t&) { c.dumpable = 3; }},
      {"past the strings", [](amber_creds&, amber_str& s, uint32_t&) { s.off = 1u << 30; }},
  };
  for (const Bad& b : bad) {
    amber_err be = validateAll(withCreds(b.f));
    if (be.code != AMBER_E_CORRUPT) std::printf("  # %s: code %d\n", b.name, (int)be.code);
    CHECK(be.code == AMBER_E_CORRUPT);
  }
}

// Linux AIO requests in flight (format 1.8, mem/aio.cc): amber_aio_req[] in STRINGS, named by
// PROCEXT's aio_reqs, whole records inside the strings (the restorer checks what they name).
void aioReqList() {
  auto withReqs = [](uint32_t n, std::function<void(amber_str&)> damage) {
    MkSpec s = sampleSpec();
    s.tamper = [n, damage](MkTables& t) {
      while (t.strings.size() % 8) t.strings += '\0';
      amber_str at{static_cast<uint32_t>(t.strings.size()), static_cast<uint32_t>(n * sizeof(amber_aio_req))};
      for (uint32_t i = 0; i < n; i++) {
        amber_aio_req q{};
        q.ctx = 0x7f0000000000ull;
        q.iocb = 0x10000 + 64 * i;
        q.cb[16] = 5;  // IOCB_CMD_POLL
        t.strings.append(reinterpret_cast<const char*>(&q), sizeof q);
      }
      damage(at);
      t.hasExt = true;
      t.ext.aio_reqs = at;
    };
    return mkimage(s);
  };
  auto img = withReqs(2, [](amber_str&) {});
  amber_err e = validateAll(img);
  if (e.code) std::printf("  # %s at %llu\n", e.what, (unsigned long long)e.offset);
  CHECK(e.code == AMBER_E_OK);
  auto im = Image::fromMemory("aio.img", img.data(), img.size());
  const amber_view& v = im->view();
  const char* d = nullptr;
  uint32_t len = 0;
  CHECK(amber_str_at(&v, v.pext->aio_reqs, &d, &len) && len == 2 * sizeof(amber_aio_req));
  amber_aio_req q{};
  if (d) std::memcpy(&q, d + sizeof q, sizeof q);
  CHECK(q.ctx == 0x7f0000000000ull && q.iocb == 0x10040 && q.cb[16] == 5);
  const std::pair<const char*, std::function<void(amber_str&)>> bad[] = {
      {"list not whole records", [](amber_str& s) { s.len -= 8; }},
      {"list past the strings", [](amber_str& s) { s.off = 1u << 30; }},
  };
  for (const auto& b : bad) {
    amber_err be = validateAll(withReqs(2, b.second));
    if (be.code != AMBER_E_CORRUPT) std::printf("  # AIO request list, %s: accepted\n", b.first);
    CHECK(be.code == AMBER_E_CORRUPT);
  }
}

// fanotify instances (format 1.9, fd/fanotify.cc): an AMBER_ANON_FANOTIFY descriptor's data is
// amber_fanotify_mark records, each followed by its path padded to 8; the validator walks them
// (the restorer relies on it): a partial record, an unknown type, a path past the data or an empty
// one are refused.
void fanotifyMarks() {
  auto withMarks = [](std::function<void(std::string&, amber_fd&)> damage) {
    MkSpec s = sampleSpec();
    s.tamper = [damage](MkTables& t) {
      while (t.strings.size() % 8) t.strings += '\0';
      std::string d;
      const char* paths[] = {"/tmp/watched", "/"};
      uint32_t types[] = {AMBER_FAN_INODE, AMBER_FAN_FILESYSTEM};
      for (int i = 0; i < 2; i++) {
        amber_fanotify_mark m{};
        m.type = types[i];
        m.mask = 0x48000302;
        m.path_len = static_cast<uint32_t>(std::strlen(paths[i]));
        d.append(reinterpret_cast<const char*>(&m), sizeof m);
        d += paths[i];
        while (d.size() % 8) d += '\0';
      }
      amber_fd f{};
      f.fd = 77;
      f.kind = AMBER_FD_ANON;
      f.subkind = AMBER_ANON_FANOTIFY;
      f.extra = 0x200 | (0x8000ull << 32);
      damage(d, f);
      f.data = {static_cast<uint32_t>(t.strings.size()), static_cast<uint32_t>(d.size())};
      t.strings += d;
      t.fds.push_back(f);
    };
    return mkimage(s);
  };
  auto img = withMarks([](std::string&, amber_fd&) {});
  amber_err e = validateAll(img);
  if (e.code) std::printf("  # %s at %llu\n", e.what, (unsigned long long)e.offset);
  CHECK(e.code == AMBER_E_OK);
  auto im = Image::fromMemory("fan.img", img.data(), img.size());
  const amber_view& v = im->view();
  const amber_fd& f = v.fds[v.nfds - 1];
  const char* d = nullptr;
  uint32_t len = 0;
  CHECK(f.subkind == AMBER_ANON_FANOTIFY && amber_str_at(&v, f.data, &d, &len) && len == 2 * sizeof(amber_fanotify_mark) + 16 + 8);
  amber_fanotify_mark m{};
  if (d) std::memcpy(&m, d, sizeof m);
  CHECK(m.type == AMBER_FAN_INODE && m.path_len == 12 && d && !std::memcmp(d + sizeof m, "/tmp/watched", 12));
  const std::pair<const char*, std::function<void(std::string&, amber_fd&)>> bad[] = {
      {"a partial record", [](std::string& d, amber_fd&) { d.resize(sizeof(amber_fanotify_mark) + 16 + 24); }},
      {"an unknown type", [](std::string& d, amber_fd&) { d[0] = 9; }},
      {"a path past the data", [](std::string& d, amber_fd&) { d[offsetof(amber_fanotify_mark, path_len)] = 120; }},
      {"an empty path", [](std::string& d, amber_fd&) { std::memset(&d[offsetof(amber_fanotify_mark, path_len)], 0, 4); }},
  };
  for (const auto& b : bad) {
    amber_err be = validateAll(withMarks(b.second));
    if (be.code != AMBER_E_CORRUPT) std::printf("  # fanotify marks, %s: accepted\n", b.first);
    CHECK(be.code == AMBER_E_CORRUPT);
  }
}

// Threads with a working directory of their own (thread/thread.cc): amber_thread_fs[] in STRINGS,
// named by PROCEXT's thread_fs; each names a thread (never the checkpoint thread) once, in a group,
// with an absolute path and a umask.
void threadFsRecord() {
  auto withFs = [](std::function<void(MkTables&, amber_thread_fs&, amber_str&)> damage) {
    MkSpec s = sampleSpec();
    s.tamper = [damage](MkTables& t) {
      const std::string cwd = "/tmp/work/sub";
      amber_thread_fs f{};
      f.thread = 0;  // the main thread (the sample's thread 1 is the checkpoint thread)
      f.group = 1;
      f.umask = 077;
      f.cwd = {static_cast<uint32_t>(t.strings.size()), static_cast<uint32_t>(cwd.size())};
      t.strings += cwd;
      while (t.strings.size() % 8) t.strings += '\0';
      amber_str at{static_cast<uint32_t>(t.strings.size()), static_cast<uint32_t>(sizeof f)};
      damage(t, f, at);
      t.strings.append(reinterpret_cast<const char*>(&f), sizeof f);
      t.hasExt = true;
      t.ext.thread_fs = at;
    };
    return mkimage(s);
  };
  auto img = withFs([](MkTables&, amber_thread_fs&, amber_str&) {});
  amber_err e = validateAll(img);
  if (e.code) std::printf("  # %s at %llu\n", e.what, (unsigned long long)e.offset);
  CHECK(e.code == AMBER_E_OK);
  auto im = Image::fromMemory("threadfs.img", img.data(), img.size());
  const amber_view& v = im->view();
  const char* d = nullptr;
  uint32_t len = 0;
  CHECK(amber_str_at(&v, v.pext->thread_fs, &d, &len) && len == sizeof(amber_thread_fs));
  amber_thread_fs f{};
  if (d) std::memcpy(&f, d, sizeof f);
  CHECK(f.thread == 0 && f.group == 1 && f.umask == 077 && f.cwd.len == 13);
  struct Bad {
    const char* name;
    std::function<void(MkTables&, amber_thread_fs&, amber_str&)> f;
  };
  const Bad bad[] = {
      {"no such thread", [](MkTables&, amber_thread_fs& f, amber_str&) { f.thread = 2; }},
      {"the checkpoint thread", [](MkTables&, amber_thread_fs& f, amber_str&) { f.thread = 1; }},
      {"group 0", [](MkTables&, amber_thread_fs& f, amber_str&) { f.group = 0; }},
      {"umask over 0777", [](MkTables&, amber_thread_fs& f, amber_str&) { f.umask = 01000; }},
      {"relative cwd", [](MkTables&, amber_thread_fs& f, amber_str&) { f.cwd.off += 1; f.cwd.len -= 1; }},
      {"empty cwd", [](MkTables&, amber_thread_fs& f, amber_str&) { f.cwd.len = 0; }},
      {"cwd past the strings", [](MkTables&, amber_thread_fs& f, amber_str&) { f.cwd.off = 1u << 30; }},
      {"list not whole records", [](MkTables&, amber_thread_fs&, amber_str& s) { s.len -= 4; }},
      {"list past the strings", [](MkTables&, amber_thread_fs&, amber_str& s) { s.off = 1u << 30; }},
      {"a thread listed twice", [](MkTables& t, amber_thread_fs& f, amber_str& s) {
         t.strings.append(reinterpret_cast<const char*>(&f), sizeof f);  // (then the same again)
         s.len = 2 * sizeof f;
       }},
  };
  for (const Bad& b : bad) {
    amber_err be = validateAll(withFs(b.f));
    if (be.code != AMBER_E_CORRUPT) std::printf("  # %s: code %d\n", b.name, (int)be.code);
    CHECK(be.code == AMBER_E_CORRUPT);
  }
}

// A process whose main thread had ended (AMBER_PROC_MAIN_EXITED): its thread table has no main
// thread, and must not have one.
void mainExitedImage() {
  auto with = [](uint32_t procFlags, bool keepMain) {
    MkSpec s = sampleSpec();
    s.tamper = [procFlags, keepMain](MkTables& t) {
      t.proc.proc_flags |= procFlags;
      if (!keepMain) t.threads[0].flags &= ~(uint32_t)AMBER_THR_MAIN;
    };
    return mkimage(s);
  };
  amber_err e = validateAll(with(AMBER_PROC_MAIN_EXITED, false));
  if (e.code) std::printf("  # %s at %llu\n", e.what, (unsigned long long)e.offset);
  CHECK(e.code == AMBER_E_OK);
  CHECK(validateAll(with(AMBER_PROC_MAIN_EXITED, true)).code == AMBER_E_CORRUPT);
  CHECK(validateAll(with(0, false)).code == AMBER_E_CORRUPT);
}

void fileDataCorruptionDetected() {
  struct Case {
    const char* name;
    std::function<void(MkTables&)> f;
  };
  std::vector<Case> cases = {
      {"extent names no descriptor", [](MkTables& t) { t.extents[0].fd = 99; }},
      {"extent past the file's size", [](MkTables& t) { t.extents[1].offset = 3 * 65536 - 10; }},
      {"extent empty", [](MkTables& t) { t.extents[0].len = 0; }},
      {"extent too long", [](MkTables& t) { t.extents[1].len = AMBER_CHUNK_MAX + 1; }},
      {"extent data unaligned", [](MkTables& t) { t.extents[0].file_off += 8; }},
      {"extent data before data area", [](MkTables& t) { t.extents[0].file_off = 0; }},
      {"extent data past data area", [](MkTables& t) { t.extents[1].file_off += 1 << 20; }},
      {"extents overlap", [](MkTables& t) { t.extents[1].offset = 4096; }},
      {"extents unsorted", [](MkTables& t) { std::swap(t.extents[0], t.extents[1]); }},
      {"FILEDATA in a 1.3 image", [](MkTables& t) { t.hdr.minor = 3; }},
  };
  for (const auto& c : cases) {
    MkSpec s = fileDataSpec();
    s.tamper = c.f;
    auto img = mkimage(s);
    amber_err e = validateAll(img);
    if (e.code != AMBER_E_CORRUPT) std::printf("  # case '%s': got code %d (%s)\n", c.name, e.code, e.what);
    CHECK(e.code == AMBER_E_CORRUPT);
  }
}

void sectionWalkCorruption() {
  // Patch the metadata directly (then reseal) to break the section framing itself.
  auto base = mkimage(sampleSpec());
  amber_header h = readAt<amber_header>(base, 0);
  struct Patch {
    const char* name;
    std::function<void(uint8_t* meta)> f;
  };
  std::vector<Patch> patches = {
      {"section size huge", [](uint8_t* m) { uint64_t x = 1ull << 40; std::memcpy(m + 8, &x, 8); }},
      {"section size odd", [](uint8_t* m) { uint64_t x = sizeof(amber_process) + 1; std::memcpy(m + 8, &x, 8); }},
      {"section type zero", [](uint8_t* m) { uint32_t x = 0; std::memcpy(m, &x, 4); }},
      {"section type unknown", [](uint8_t* m) { uint32_t x = 42; std::memcpy(m, &x, 4); }},
      {"process count 2", [](uint8_t* m) { uint32_t x = 2; std::memcpy(m + 4, &x, 4); }},
      {"duplicate section", [](uint8_t* m) {
         // turn THREADS (second section) into a second PROCESS of the wrong size
         uint32_t x = AMBER_SEC_PROCESS;
         std::memcpy(m + 16 + sizeof(amber_process), &x, 4);
       }},
  };
  for (const auto& p : patches) {
    auto img = base;
    p.f(img.data() + h.meta_off);
    reseal(img);
    amber_err e = validateAll(img);
    if (e.code != AMBER_E_CORRUPT) std::printf("  # patch '%s': code %d (%s)\n", p.name, e.code, e.what);
    CHECK(e.code == AMBER_E_CORRUPT);
  }
  // unknown section in a newer-minor image is skipped
  MkSpec s = sampleSpec();
  s.minor = AMBER_FORMAT_MINOR + 1;
  auto img = mkimage(s);
  h = readAt<amber_header>(img, 0);
  // The plugin section is last: retype it as an unknown type 42.
  uint8_t* m = img.data() + h.meta_off;
  for (uint64_t pos = 0; pos < h.meta_size;) {
    amber_section sec;
    std::memcpy(&sec, m + pos, sizeof sec);
    if (sec.type == AMBER_SEC_PLUGIN) {
      sec.type = 42;
      std::memcpy(m + pos, &sec, sizeof sec);
    }
    pos += sizeof sec + sec.size;
  }
  reseal(img);
  CHECK(validateAll(img).code == AMBER_E_OK);
}

void resealIsIdentityOnValid() {
  auto img = mkimage(sampleSpec());
  auto again = img;
  reseal(again);
  CHECK(again == img);
}

void trailerMismatches() {
  MkSpec s = sampleSpec();
  auto img = mkimage(s);
  const size_t t = img.size() - AMBER_TRAILER_SIZE;
  auto bad = img;
  bad[t + offsetof(amber_trailer, nchunks)] ^= 1;
  CHECK(validateAll(bad).code == AMBER_E_CORRUPT);
  bad = img;
  bad[t + offsetof(amber_trailer, image_xxh)] ^= 1;
  amber_err e = validateAll(bad);
  CHECK(e.code == AMBER_E_CHECKSUM && e.offset == t + offsetof(amber_trailer, image_xxh));
  // a chunk checksum changed in the table (and metadata resealed) is caught by image_xxh:
  // the trailer binds the chunk table to what the writer wrote
  s.tamper = [](MkTables& tb) { tb.chunks[0].xxh ^= 1; };
  auto img2 = mkimage(s);
  // mkimage wrote a trailer for the tampered table; restore the original trailer
  std::memcpy(img2.data() + t, img.data() + t, AMBER_TRAILER_SIZE);
  CHECK(validateAll(img2).code == AMBER_E_CHECKSUM);
}

void largerFileAccepted() {
  // A file longer than header.file_size (e.g. preallocated) is accepted; the trailer is found
  // at header.file_size - 64.
  auto img = mkimage(sampleSpec());
  img.resize(img.size() + 10000, 0);
  CHECK(validateAll(img).code == AMBER_E_OK);
}

// Socket records (format 1.4, image/sockrec.h): what the writer lays out parses back.
void socketRecordsParse() {
  auto img = mkimage(sampleSpec());
  auto im = Image::fromMemory("mem.img", img.data(), img.size());
  const amber_view& v = im->view();
  int seen = 0;
  for (uint32_t i = 0; i < v.nfds; i++) {
    const amber_fd& f = v.fds[i];
    if (f.kind != AMBER_FD_SOCKET) continue;
    std::string_view d = im->str(f.data);
    amber_sockview sv;
    CHECK(amber_sock_parse(d.data(), (uint32_t)d.size(), &sv));
    CHECK(sv.has_x && sv.x.nopts == 1 && amber_sock_opt(&sv, 0).name == 8);
    const char* cur = sv.msgs;
    amber_sockmsg_view m;
    CHECK(amber_sock_next_msg(&sv, &cur, &m));
    CHECK(m.m.nfds == 1 && amber_sock_msg_fd(&m, 0) == 6 && (v.fds[6].fd_flags & AMBER_FD_HIDDEN));
    if (sv.si.type == 1) {
      CHECK(m.data == nullptr && sv.si.inflight_len == 11 && std::string(sv.queued, 5) == "hello");
      CHECK(!amber_sock_next_msg(&sv, &cur, &m));
    } else {
      CHECK(m.m.addr_len == 7 && m.m.len == 5 && std::string(m.data, 5) == "first");
      CHECK(amber_sock_next_msg(&sv, &cur, &m) && m.m.len == 0 && m.m.nfds == 0);
      CHECK(!amber_sock_next_msg(&sv, &cur, &m));
    }
    seen++;
  }
  CHECK(seen == 2);
}

// A socket record cut anywhere, or lying about its sizes, is refused and never read past its end.
void socketRecordBounds() {
  for (int stream = 0; stream < 2; stream++) {
    std::string rec = sockRecord(stream != 0, 3);
    for (size_t n = 0; n <= rec.size(); n++) {
      std::vector<char> cut(rec.begin(), rec.begin() + (long)n);  // exactly n bytes: ASan sees overreads
      amber_sockview sv;
      int ok = amber_sock_parse(n ? cut.data() : nullptr, (uint32_t)n, &sv);
      if (n < sizeof(amber_sockinfo)) CHECK(!ok);
      if (ok && sv.has_x) {
        const char* cur = sv.msgs;
        amber_sockmsg_view m;
        while (amber_sock_next_msg(&sv, &cur, &m))
          for (uint32_t k = 0; k < m.m.nfds; k++) (void)amber_sock_msg_fd(&m, k);
      }
      // A 1.2 record (sockinfo and queued bytes only) parses without its extension.
      if (n == sizeof(amber_sockinfo) + (stream ? 11 : 0)) CHECK(ok && !sv.has_x);
      if (n == rec.size()) CHECK(ok && sv.has_x);
    }
    // Sizes that lie: an address longer than any sockaddr, stream runs longer than the queue.
    std::string bad = rec;
    size_t xat = sizeof(amber_sockinfo) + (stream ? 11 : 0);
    size_t mat = xat + sizeof(amber_sockx) + sizeof(amber_sockopt);
    amber_sockmsg m;
    std::memcpy(&m, &bad[mat], sizeof m);
    if (stream) m.len = 12;
    else m.addr_len = 200;
    std::memcpy(&bad[mat], &m, sizeof m);
    amber_sockview sv;
    CHECK(!amber_sock_parse(bad.data(), (uint32_t)bad.size(), &sv));
  }
}

// A pty master's data (format 1.x, AMBER_PTY_INPUT): the record, output, input entries.
void ptyRecordBounds() {
  amber_ptyinfo pi{};
  pi.flags = AMBER_PTY_TERMIOS | AMBER_PTY_INPUT;
  pi.out_len = 3;
  std::string rec(reinterpret_cast<const char*>(&pi), sizeof pi);
  rec += "out";
  auto entry = [](uint32_t type, const std::string& b) {
    uint32_t h = (uint32_t)b.size() | type << 13;
    return std::string(1, (char)(h & 0xff)) + std::string(1, (char)(h >> 8)) + b;
  };
  rec += entry(AMBER_PTYIN_LINE, "ping\n") + entry(AMBER_PTYIN_LINE, "") + entry(AMBER_PTYIN_PARTIAL, "par");
  amber_ptyinfo got;
  uint32_t at = 0, len = 0;
  CHECK(amber_pty_parse(rec.data(), (uint32_t)rec.size(), &got, &at, &len));
  CHECK(got.out_len == 3 && at == sizeof pi + 3 && len == rec.size() - at);
  // Cut anywhere: only where an entry ends (or before the input, without its flag) parses.
  for (size_t n = 0; n < rec.size(); n++) {
    std::vector<char> cut(rec.begin(), rec.begin() + (long)n);  // exactly n bytes: ASan sees overreads
    bool ok = amber_pty_parse(n ? cut.data() : nullptr, (uint32_t)n, &got, &at, &len);
    size_t in0 = sizeof pi + 3;
    bool boundary = n == in0 || n == in0 + 7 || n == in0 + 9;
    CHECK(ok == boundary);
  }
  // Without AMBER_PTY_INPUT what follows the output is not looked at (a 1.3 record).
  std::string old = rec;
  pi.flags = AMBER_PTY_TERMIOS;
  std::memcpy(&old[0], &pi, sizeof pi);
  CHECK(amber_pty_parse(old.data(), (uint32_t)old.size(), &got, &at, &len) && len == 0);
  // Lies: an output longer than the data, an entry longer than the most, an unknown type.
  std::string bad = rec;
  pi.flags = AMBER_PTY_TERMIOS | AMBER_PTY_INPUT;
  pi.out_len = (uint32_t)rec.size();
  std::memcpy(&bad[0], &pi, sizeof pi);
  CHECK(!amber_pty_parse(bad.data(), (uint32_t)bad.size(), &got, &at, &len));
  std::string big = rec.substr(0, sizeof pi + 3) + entry(AMBER_PTYIN_RAW, std::string(AMBER_PTYIN_MAX + 1, 'x'));
  CHECK(!amber_pty_parse(big.data(), (uint32_t)big.size(), &got, &at, &len));
  std::string type = rec.substr(0, sizeof pi + 3) + entry(5, "x");
  CHECK(!amber_pty_parse(type.data(), (uint32_t)type.size(), &got, &at, &len));
}

struct Case {
  const char* name;
  void (*fn)();
};

} // namespace

int main() {
  const Case cases[] = {
      {"valid sample image parses", validSampleParses},
      {"minimal image parses", minimalImageParses},
      {"writer and reader header hashes agree", writerAndReaderHeaderHashAgree},
      {"every header byte flip detected", everyHeaderByteFlipDetected},
      {"every metadata byte flip detected", everyMetaByteFlipDetected},
      {"trailer byte flips detected", everyTrailerByteFlipDetected},
      {"truncation at many lengths detected", truncationDetected},
      {"missing trailer is ETRUNCATED", missingTrailerIsTruncated},
      {"bad magic is ENOTIMAGE", badMagicIsNotImage},
      {"bad major is EVERSION", badMajorIsVersion},
      {"newer minor accepted", newerMinorAccepted},
      {"other arch / page size / codec is EVERSION", otherArchAndPageSizeAreVersion},
      {"chunk bit flip detected with offset", chunkFlipDetected},
      {"every chunk flip detected by verifyChunks", everyChunkFlipDetectedByReader},
      {"file errors carry errno names", fileErrors},
      {"structural corruption detected", structuralCorruptionDetected},
      {"section framing corruption detected", sectionWalkCorruption},
      {"reseal is identity on a valid image", resealIsIdentityOnValid},
      {"trailer mismatches", trailerMismatches},
      {"longer file accepted", largerFileAccepted},
      {"generation id and program in the header (1.4)", generationBinding},
      {"file data (1.4) parses and is verified", fileDataParsesAndVerifies},
      {"file data corruption detected", fileDataCorruptionDetected},
      {"credentials record (PROCEXT creds) parses and is checked", credentialsRecord},
      {"threads' own working directories (PROCEXT thread_fs) parse and are checked", threadFsRecord},
      {"AIO requests in flight (PROCEXT aio_reqs, 1.8) parse and are checked", aioReqList},
      {"fanotify marks (AMBER_ANON_FANOTIFY data, 1.9) parse and are checked", fanotifyMarks},
      {"a process whose main thread ended has none (AMBER_PROC_MAIN_EXITED)", mainExitedImage},
      {"socket records parse", socketRecordsParse},
      {"socket records are bounds-checked", socketRecordBounds},
      {"pty records (input entries) are bounds-checked", ptyRecordBounds},
  };
  const int n = sizeof cases / sizeof cases[0];
  std::setvbuf(stdout, nullptr, _IOLBF, 0); // keep output ordered with sanitizer reports
  std::printf("TAP version 13\n1..%d\n", n);
  int failedCases = 0;
  for (int i = 0; i < n; i++) {
    g_case = cases[i].name;
    const int before = g_failed;
    try {
      cases[i].fn();
    } catch (const std::exception& ex) {
      g_failed++;
      std::printf("  # unexpected exception: %s\n", ex.what());
    }
    const bool ok = g_failed == before;
    if (!ok) failedCases++;
    std::printf("%s %d - %s\n", ok ? "ok" : "not ok", i + 1, cases[i].name);
  }
  std::printf("# %d passed, %d failed (%d checks)\n", n - failedCases, failedCases, g_checks);
  return failedCases == 0 ? 0 : 1;
}
