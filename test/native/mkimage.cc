#include "mkimage.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace amber::test {

namespace {

amber_str addString(std::string& strings, const std::string& s) {
  amber_str r{static_cast<uint32_t>(strings.size()), static_cast<uint32_t>(s.size())};
  strings += s;
  return r;
}

void putSection(std::vector<uint8_t>& meta, uint32_t type, uint32_t count, const void* payload,
                size_t len) {
  amber_section s{type, count, (len + 7) & ~size_t{7}};
  const auto* sp = reinterpret_cast<const uint8_t*>(&s);
  meta.insert(meta.end(), sp, sp + sizeof s);
  const auto* pp = static_cast<const uint8_t*>(payload);
  if (len) meta.insert(meta.end(), pp, pp + len);
  meta.resize(meta.size() + (s.size - len), 0);
}

template <class T> void putTable(std::vector<uint8_t>& meta, uint32_t type, const std::vector<T>& v) {
  putSection(meta, type, static_cast<uint32_t>(v.size()), v.data(), v.size() * sizeof(T));
}

void copyCStr(char* dst, size_t cap, const std::string& s) {
  std::memset(dst, 0, cap);
  std::memcpy(dst, s.data(), std::min(s.size(), cap - 1));
}

std::vector<uint8_t> pattern(size_t pages, uint8_t seed) {
  std::vector<uint8_t> b(pages * AMBER_PAGE_SIZE);
  for (size_t i = 0; i < b.size(); i++) b[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 12));
  return b;
}

} // namespace

std::string sockRecord(bool stream, uint32_t fdIndex) {
  std::string out;
  auto put = [&](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); };
  amber_sockinfo si{};
  si.family = stream ? 2 : 1;
  si.type = stream ? 1 : 2;
  si.protocol = stream ? 6 : 0;
  const char* queued = "hello world";
  si.inflight_len = stream ? 11 : 0;
  si.local_len = stream ? 16 : 2;
  si.local[0] = (uint8_t)si.family;
  put(&si, sizeof si);
  if (stream) put(queued, 11);
  amber_sockx x{};
  x.magic = AMBER_SOCKX_MAGIC;
  x.state = stream ? 1 : 7;
  x.flags = AMBER_SOCKX_BOUND;
  x.nopts = 1;
  x.nmsgs = stream ? 1 : 2;
  x.peek_off = -1;
  size_t xat = out.size();
  put(&x, sizeof x);
  amber_sockopt o{};
  o.level = 1;
  o.name = 8;  // SO_RCVBUF
  o.len = 4;
  int32_t v = 300000;
  std::memcpy(o.val, &v, 4);
  put(&o, sizeof o);
  amber_sockmsg m{};
  if (stream) {
    m.len = 5;
    m.nfds = 1;
    put(&m, sizeof m);
    put(&fdIndex, 4);
  } else {
    const char name[] = {1, 0, 0, 'p', 'e', 'e', 'r'};
    m.len = 5;
    m.addr_len = sizeof name;
    m.nfds = 1;
    put(&m, sizeof m);
    put(name, sizeof name);
    put("first", 5);
    put(&fdIndex, 4);
    amber_sockmsg e{};
    put(&e, sizeof e);
  }
  x.size = (uint32_t)(out.size() - xat);
  std::memcpy(&out[xat], &x, sizeof x);
  return out;
}

MkSpec sampleSpec() {
  MkSpec s;
  s.argv = {"./counter", "--every", "1"};
  s.cwd = "/tmp/work";
  s.exe = "/tmp/work/counter";
  const uint64_t P = AMBER_PAGE_SIZE;
  s.regions = {
      {0x400000, 0x400000 + 4 * P, 5, AMBER_REG_FILE, "/tmp/work/counter", 0},
      {0x600000, 0x600000 + 2 * P, 3, AMBER_REG_FILE, "/tmp/work/counter", 0x2000},
      {0x01000000, 0x01000000 + 300 * P, 3, AMBER_REG_HEAP, "[heap]", 0},
      {0x7f0000000000, 0x7f0000000000 + 8 * P, 3, AMBER_REG_SHARED | AMBER_REG_ALLDATA, "", 0},
      {0x7ffd00000000, 0x7ffd00000000 + 33 * P, 3, AMBER_REG_STACK, "[stack]", 0},
      {0x7ffd00100000, 0x7ffd00100000 + 2 * P, 5, AMBER_REG_VDSO, "[vdso]", 0},
  };
  // data page of the file mapping, a heap split into a full chunk plus a tail, shared memory,
  // stack top
  s.chunks.push_back({0x600000, pattern(1, 1), 1});
  s.chunks.push_back({0x01000000, pattern(AMBER_CHUNK_MAX / P, 2), 2});
  s.chunks.push_back({0x01000000 + AMBER_CHUNK_MAX, pattern(3, 3), 2});
  s.chunks.push_back({0x7f0000000000, pattern(8, 4), 3});
  s.chunks.push_back({0x7ffd00000000 + 30 * P, pattern(3, 5), 4});
  s.threads = {{4242, AMBER_THR_MAIN, 0x7f00000a0740, 0x7f00000a0e00, 32},
               {4243, AMBER_THR_CKPT, 0x7f00001a0740, 0, 0}};
  s.fds = {{0, AMBER_FD_CHR, 2, 0, "/dev/pts/0"},
           {1, AMBER_FD_FILE, 01101, 12345, "/tmp/work/out.txt"},
           {3, AMBER_FD_PIPE, 0, 0, "pipe:[1234]"},
           {9, AMBER_FD_AGENT, 2, 0, "socket:[99]"}};
  // Sockets (format 1.4): a datagram socket and a TCP connection whose queues carry the pipe in
  // flight (record 6, hidden: in no table).
  MkFd dg{5, AMBER_FD_SOCKET, 2, 0, "socket:[500]"};
  dg.data = sockRecord(false, 6);
  dg.inode = 500;
  MkFd tc{7, AMBER_FD_SOCKET, 2, 0, "socket:[700]"};
  tc.data = sockRecord(true, 6);
  tc.subkind = AMBER_SOCK_CONNECTED;
  tc.inode = 700;
  MkFd hid{AMBER_FD_HIDDEN_BASE, AMBER_FD_PIPE, 0, 0, "pipe:[1235]"};
  hid.fd_flags = AMBER_FD_HIDDEN;
  hid.inode = 1235;
  s.fds.push_back(dg);
  s.fds.push_back(tc);
  s.fds.push_back(hid);
  amber_timer t{};
  t.id = 0;
  t.clockid = 1;
  t.signo = 14;
  t.notify = 0;
  s.timers = {t};
  s.plugins = {{"fd", "saved-state"}};
  return s;
}

std::vector<uint8_t> mkimage(const MkSpec& spec) {
  MkTables t;
  std::memset(&t.hdr, 0, sizeof t.hdr);
  std::memset(&t.proc, 0, sizeof t.proc);

  std::string argvJoined;
  for (const auto& a : spec.argv) argvJoined += a + '\0';
  t.proc.cmdline = addString(t.strings, argvJoined);
  t.proc.cwd = addString(t.strings, spec.cwd);
  t.proc.exe = addString(t.strings, spec.exe);
  t.proc.auxv_words = 2;
  t.proc.suspend_signal = 35;

  for (const auto& th : spec.threads) {
    amber_thread r;
    std::memset(&r, 0, sizeof r);
    r.tid = th.tid;
    r.vtid = th.tid;
    r.flags = th.flags;
    r.fs_base = th.fs_base;
    r.rseq_addr = th.rseq_addr;
    r.rseq_len = th.rseq_len;
    t.threads.push_back(r);
  }

  for (const auto& rg : spec.regions) {
    amber_region r;
    std::memset(&r, 0, sizeof r);
    r.start = rg.start;
    r.end = rg.end;
    r.prot = rg.prot;
    r.flags = rg.flags;
    r.file_off = rg.file_off;
    r.path = addString(t.strings, rg.path);
    t.regions.push_back(r);
  }

  std::vector<std::pair<amber_str, const std::string*>> plugins;
  for (const auto& [name, bytes] : spec.plugins) plugins.push_back({addString(t.strings, name), &bytes});

  for (const auto& f : spec.fds) {
    amber_fd r;
    std::memset(&r, 0, sizeof r);
    r.fd = f.fd;
    r.kind = f.kind;
    r.flags = f.flags;
    r.pos = f.pos;
    r.path = addString(t.strings, f.path);
    if (!f.data.empty()) r.data = addString(t.strings, f.data);
    r.subkind = f.subkind;
    r.fd_flags = f.fd_flags;
    r.inode = f.inode;
    r.size = f.size;
    t.fds.push_back(r);
  }
  t.timers = spec.timers;
  for (const auto& x : spec.extents) {
    amber_extent e;
    std::memset(&e, 0, sizeof e);
    e.fd = x.fd;
    e.offset = x.offset;
    e.len = x.bytes.size();
    e.xxh = amber_chunk_xxh(x.bytes.data(), x.bytes.size());
    t.extents.push_back(e);
  }

  // Chunk table: file offsets are assigned after the metadata size is known; the region's chunk
  // range is derived from chunk.region (chunks sorted by address => contiguous per region).
  uint64_t pagesStored = 0, pagesTotal = 0;
  for (uint32_t i = 0; i < spec.chunks.size(); i++) {
    const auto& c = spec.chunks[i];
    amber_chunk r;
    std::memset(&r, 0, sizeof r);
    r.addr = c.addr;
    r.len = c.bytes.size();
    r.stored_len = c.bytes.size();
    r.codec = AMBER_CODEC_RAW;
    r.region = c.region;
    r.xxh = amber_chunk_xxh(c.bytes.data(), c.bytes.size());
    t.chunks.push_back(r);
    if (c.region < t.regions.size()) {
      amber_region& rg = t.regions[c.region];
      if (rg.nchunks == 0) rg.first_chunk = i;
      rg.nchunks++;
    }
    pagesStored += c.bytes.size() / AMBER_PAGE_SIZE;
  }
  for (const auto& rg : spec.regions) pagesTotal += (rg.end - rg.start) / AMBER_PAGE_SIZE;

  amber_header& h = t.hdr;
  std::memcpy(h.magic, AMBER_IMAGE_MAGIC, 8);
  h.major = spec.major;
  h.minor = spec.minor;
  h.header_size = AMBER_HEADER_SIZE;
  h.arch = AMBER_ARCH_X86_64;
  h.page_size = AMBER_PAGE_SIZE;
  h.xcr0 = 7;
  h.xsave_size = 832;
  copyCStr(h.kernel_release, sizeof h.kernel_release, spec.kernel);
  copyCStr(h.libc_version, sizeof h.libc_version, spec.libc);
  copyCStr(h.hostname, sizeof h.hostname, spec.hostname);
  h.vpid = spec.vpid;
  h.parent_vpid = spec.parent_vpid;
  h.real_pid = spec.real_pid;
  h.generation = spec.generation;
  std::memcpy(h.generation_id, spec.generationId.data(), sizeof h.generation_id);
  if (spec.minor >= 4) h.program_xxh = amber_program_xxh(spec.exe.data(), static_cast<uint32_t>(spec.exe.size()),
                                                         argvJoined.data(), static_cast<uint32_t>(argvJoined.size()));
  h.time_ns = spec.time_ns;
  h.pages_total = pagesTotal;
  h.pages_stored = pagesStored;

  // Lay out with a provisional metadata size (the size does not depend on file offsets).
  auto buildMeta = [&]() {
    std::vector<uint8_t> meta;
    putSection(meta, AMBER_SEC_PROCESS, 1, &t.proc, sizeof t.proc);
    putTable(meta, AMBER_SEC_THREADS, t.threads);
    putTable(meta, AMBER_SEC_REGIONS, t.regions);
    putTable(meta, AMBER_SEC_CHUNKS, t.chunks);
    putTable(meta, AMBER_SEC_FDS, t.fds);
    putTable(meta, AMBER_SEC_TIMERS, t.timers);
    putSection(meta, AMBER_SEC_STRINGS, static_cast<uint32_t>(t.strings.size()), t.strings.data(),
               t.strings.size());
    if (!t.extents.empty()) putTable(meta, AMBER_SEC_FILEDATA, t.extents);
    if (t.hasExt) putSection(meta, AMBER_SEC_PROCEXT, 1, &t.ext, sizeof t.ext);
    for (const auto& [name, bytes] : plugins) {
      std::vector<uint8_t> payload(sizeof(amber_str) + bytes->size());
      std::memcpy(payload.data(), &name, sizeof name);
      std::memcpy(payload.data() + sizeof name, bytes->data(), bytes->size());
      putSection(meta, AMBER_SEC_PLUGIN, static_cast<uint32_t>(bytes->size()), payload.data(),
                 payload.size());
    }
    return meta;
  };

  const uint64_t metaSize = buildMeta().size();
  h.meta_off = AMBER_HEADER_SIZE;
  h.meta_size = metaSize;
  h.data_off = (h.meta_off + metaSize + AMBER_PAGE_SIZE - 1) & ~uint64_t{AMBER_PAGE_SIZE - 1};
  uint64_t off = h.data_off;
  for (auto& c : t.chunks) {
    c.file_off = off;
    off += c.stored_len;
  }
  for (auto& e : t.extents) {  // after the chunks, each page aligned (as the agent lays them out)
    e.file_off = off;
    off += (e.len + AMBER_PAGE_SIZE - 1) & ~uint64_t{AMBER_PAGE_SIZE - 1};
  }
  h.data_size = off - h.data_off;
  h.file_size = off + AMBER_TRAILER_SIZE;

  if (spec.tamper) spec.tamper(t);

  const std::vector<uint8_t> meta = buildMeta();
  h.meta_size = meta.size();
  h.meta_xxh = amber_meta_xxh(meta.data(), meta.size());
  h.header_xxh = amber_header_xxh(&h);

  std::vector<uint8_t> img(h.file_size > 0 && h.file_size < (1ull << 32) ? h.file_size
                                                                         : off + AMBER_TRAILER_SIZE);
  // Chunks, then metadata, then the header: a tampered table may point anywhere, and the header
  // and metadata must still be what the test asked for.
  for (size_t i = 0; i < spec.chunks.size() && i < t.chunks.size(); i++) {
    const auto& b = spec.chunks[i].bytes;
    if (t.chunks[i].file_off >= h.data_off && t.chunks[i].file_off + b.size() <= img.size())
      std::memcpy(img.data() + t.chunks[i].file_off, b.data(), b.size());
  }
  for (size_t i = 0; i < spec.extents.size() && i < t.extents.size(); i++) {
    const auto& b = spec.extents[i].bytes;
    if (t.extents[i].file_off >= h.data_off && t.extents[i].file_off + b.size() <= img.size())
      std::memcpy(img.data() + t.extents[i].file_off, b.data(), b.size());
  }
  if (h.meta_off + meta.size() <= img.size()) std::memcpy(img.data() + h.meta_off, meta.data(), meta.size());
  std::memset(img.data(), 0, AMBER_HEADER_SIZE); // a tampered meta_off may point into it
  std::memcpy(img.data(), &h, sizeof h);

  amber_image_hasher ih;
  amber_image_xxh_begin(&ih, h.header_xxh, h.meta_xxh);
  for (const auto& c : t.chunks) amber_image_xxh_add(&ih, c.xxh);
  amber_trailer tr;
  amber_trailer_init(&tr, h.file_size, amber_image_xxh_end(&ih), t.chunks.size());
  std::memcpy(img.data() + img.size() - AMBER_TRAILER_SIZE, &tr, sizeof tr);
  return img;
}

void reseal(std::vector<uint8_t>& img) {
  if (img.size() < AMBER_HEADER_SIZE) return;
  amber_header h;
  std::memcpy(&h, img.data(), sizeof h);
  const uint64_t size = img.size();
  bool metaOk = h.meta_off <= size && h.meta_size <= size - h.meta_off;
  std::vector<uint64_t> chunkXxh;
  if (metaOk) {
    const uint8_t* m = img.data() + h.meta_off;
    h.meta_xxh = amber_meta_xxh(m, h.meta_size);
    // find the chunk table, the process record and the strings (same walk as the validator, but
    // tolerant): the checksums and the header's program_xxh (format 1.4) are what a writer sets
    const uint8_t* proc = nullptr;
    const uint8_t* strings = nullptr;
    uint64_t stringsLen = 0;
    bool chunksSeen = false;
    for (uint64_t pos = 0; pos + sizeof(amber_section) <= h.meta_size;) {
      amber_section s;
      std::memcpy(&s, m + pos, sizeof s);
      const uint64_t payload = pos + sizeof s;
      if (s.size > h.meta_size - payload) break;
      if (s.type == AMBER_SEC_CHUNKS && !chunksSeen) {
        chunksSeen = true;
        for (uint64_t i = 0; i < s.count && (i + 1) * sizeof(amber_chunk) <= s.size; i++) {
          amber_chunk c;
          std::memcpy(&c, m + payload + i * sizeof c, sizeof c);
          chunkXxh.push_back(c.xxh);
        }
      } else if (s.type == AMBER_SEC_PROCESS && !proc && s.size >= sizeof(amber_process)) {
        proc = m + payload;
      } else if (s.type == AMBER_SEC_STRINGS && !strings) {
        strings = m + payload;
        stringsLen = s.count <= s.size ? s.count : s.size;
      }
      pos = payload + s.size;
    }
    if (proc && h.minor >= 4) {
      amber_process pr;
      std::memcpy(&pr, proc, sizeof pr);
      auto ok = [&](amber_str x) { return uint64_t{x.off} + x.len <= stringsLen; };
      if (ok(pr.exe) && ok(pr.cmdline)) {
        const char* base = strings ? reinterpret_cast<const char*>(strings) : "";
        h.program_xxh = amber_program_xxh(base + (strings ? pr.exe.off : 0), pr.exe.len,
                                          base + (strings ? pr.cmdline.off : 0), pr.cmdline.len);
      }
    }
  }
  h.header_xxh = 0;
  std::memcpy(img.data(), &h, sizeof h);
  h.header_xxh = amber_header_page_xxh(img.data());
  std::memcpy(img.data(), &h, sizeof h);
  if (h.file_size >= AMBER_TRAILER_SIZE && h.file_size <= size) {
    amber_image_hasher ih;
    amber_image_xxh_begin(&ih, h.header_xxh, h.meta_xxh);
    for (uint64_t x : chunkXxh) amber_image_xxh_add(&ih, x);
    amber_trailer tr;
    std::memcpy(&tr, img.data() + h.file_size - AMBER_TRAILER_SIZE, sizeof tr);
    tr.image_xxh = amber_image_xxh_end(&ih);
    std::memcpy(img.data() + h.file_size - AMBER_TRAILER_SIZE, &tr, sizeof tr);
  }
}

uint64_t firstChunkOffset(const std::vector<uint8_t>& img) {
  amber_header h;
  std::memcpy(&h, img.data(), sizeof h);
  return h.data_off;
}

bool writeFile(const std::string& path, const std::vector<uint8_t>& bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  bool ok = bytes.empty() || std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  return std::fclose(f) == 0 && ok;
}

} // namespace amber::test
