#include "image/reader.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <numeric>

namespace amber {

namespace {

// Metadata larger than this is not something our writer produces (1M chunks of table is 48 MiB);
// refusing it keeps a corrupt-but-checksummed header from making us allocate the disk.
constexpr uint64_t kMaxMeta = 1ull << 30;
// verifyChunks reads up to this much per pread, and merges chunks separated by small gaps.
constexpr uint64_t kBatch = 8ull << 20;
constexpr uint64_t kMaxGap = 64ull << 10;

std::string errnoName(int e) {
  const char* n = strerrorname_np(e);
  if (n) return n;
  // (built with append rather than "E" + to_string(): GCC 12 -O2 warns -Wrestrict on that.)
  std::string r("E");
  r.append(std::to_string(e));
  return r;
}

ReadError ioError(const std::string& path, int e, const char* op, uint64_t off, bool hasOff) {
  std::string msg = path + ": " + op + ": " + strerror(e);
  if (hasOff) msg += " at offset " + std::to_string(off);
  return ReadError(errnoName(e), e, path, off, hasOff, msg);
}

class FileSource final : public Source {
 public:
  FileSource(std::string path, int fd, uint64_t size) : path_(std::move(path)), fd_(fd), size_(size) {}
  ~FileSource() override { ::close(fd_); }
  uint64_t size() const override { return size_; }
  size_t readAt(uint64_t off, void* buf, size_t len) const override {
    size_t done = 0;
    while (done < len) {
      ssize_t n = ::pread(fd_, static_cast<char*>(buf) + done, len - done,
                          static_cast<off_t>(off + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        throw ioError(path_, errno, "read", off + done, true);
      }
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    return done;
  }
  void adviseSequential(uint64_t off, uint64_t len) const override {
    // Advisory only: failure changes nothing but speed.
    (void)::posix_fadvise(fd_, static_cast<off_t>(off), static_cast<off_t>(len),
                          POSIX_FADV_SEQUENTIAL);
  }

 private:
  std::string path_;
  int fd_;
  uint64_t size_;
};

class MemorySource final : public Source {
 public:
  MemorySource(const void* data, size_t len)
      : bytes_(static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + len) {}
  uint64_t size() const override { return bytes_.size(); }
  size_t readAt(uint64_t off, void* buf, size_t len) const override {
    if (off >= bytes_.size()) return 0;
    size_t n = std::min<uint64_t>(len, bytes_.size() - off);
    if (n == 0) return 0; // buf may be null for an empty read
    std::memcpy(buf, bytes_.data() + off, n);
    return n;
  }

 private:
  std::vector<uint8_t> bytes_;
};

} // namespace

ReadError::ReadError(std::string code_, int err_, std::string path_, uint64_t offset_,
                     bool hasOffset_, const std::string& message)
    : std::runtime_error(message), code(std::move(code_)), err(err_), path(std::move(path_)),
      offset(offset_), hasOffset(hasOffset_) {}

const char* amberCodeName(int c) {
  switch (c) {
    case AMBER_E_NOTIMAGE: return "ENOTIMAGE";
    case AMBER_E_TRUNCATED: return "ETRUNCATED";
    case AMBER_E_VERSION: return "EVERSION";
    case AMBER_E_CORRUPT: return "EBADIMAGE";
    case AMBER_E_CHECKSUM: return "ECHECKSUM";
    default: return "EBADIMAGE";
  }
}

Image::Image(std::string path, std::unique_ptr<Source> src)
    : path_(std::move(path)), src_(std::move(src)) {}

void Image::fail(const amber_err& e, const std::string& detail) const {
  std::string msg = path_ + ": " + e.what + " at offset " + std::to_string(e.offset);
  if (!detail.empty()) msg += " (" + detail + ")";
  throw ReadError(amberCodeName(e.code), 0, path_, e.offset, true, msg);
}

void Image::readExactly(uint64_t off, void* buf, size_t len) const {
  if (src_->readAt(off, buf, len) != len) {
    // The file shrank under us (validation already compared sizes).
    throw ReadError("ETRUNCATED", 0, path_, off, true,
                    path_ + ": unexpected end of file reading at offset " + std::to_string(off));
  }
}

std::unique_ptr<Image> Image::open(const std::string& path) {
  // Issue 12: never through a symbolic link, and a FIFO must not block the open (O_NONBLOCK);
  // only a regular file is read (checked below with fstat on what was opened).
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0 && errno == ELOOP)
    throw ReadError("ELOOP", ELOOP, path, 0, false,
                    path + ": is a symbolic link: refusing it (amber follows no link it did not make)");
  if (fd < 0) throw ioError(path, errno, "cannot open", 0, false);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    throw ioError(path, e, "cannot stat", 0, false);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw ioError(path, EISDIR, "cannot read", 0, false);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    const char* kind = S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISSOCK(st.st_mode) ? "a socket"
                       : S_ISCHR(st.st_mode) ? "a character device" : S_ISBLK(st.st_mode) ? "a block device"
                       : "not a file";
    throw ReadError("ENOTIMAGE", 0, path, 0, false, path + ": not a regular file (" + kind + "): refusing it");
  }
  std::unique_ptr<Image> img(
      new Image(path, std::make_unique<FileSource>(path, fd, static_cast<uint64_t>(st.st_size))));
  img->load();
  return img;
}

std::unique_ptr<Image> Image::fromMemory(const std::string& name, const void* data, size_t len) {
  std::unique_ptr<Image> img(new Image(name, std::make_unique<MemorySource>(data, len)));
  img->load();
  return img;
}

void Image::load() {
  size_ = src_->size();
  amber_err e{};

  // Header: read what exists of the first page, zero fill the rest (validate.h wants a page).
  page_.reset(new uint64_t[AMBER_HEADER_SIZE / 8]());
  src_->readAt(0, page_.get(), static_cast<size_t>(std::min<uint64_t>(size_, AMBER_HEADER_SIZE)));
  if (!amber_check_header(page_.get(), size_, &e)) {
    // validate.h's messages are static; add the values a user needs to act on.
    const amber_header* h = reinterpret_cast<const amber_header*>(page_.get());
    std::string detail;
    if (e.code == AMBER_E_VERSION && e.offset == offsetof(amber_header, major))
      detail = "image format " + std::to_string(h->major) + "." + std::to_string(h->minor) +
               ", this amber reads " + std::to_string(AMBER_FORMAT_MAJOR) + ".x";
    else if (e.code == AMBER_E_TRUNCATED && size_ >= AMBER_HEADER_SIZE)
      detail = "file has " + std::to_string(size_) + " bytes, header says " +
               std::to_string(h->file_size);
    fail(e, detail);
  }
  hdr_ = reinterpret_cast<const amber_header*>(page_.get());

  if (hdr_->meta_size > kMaxMeta)
    fail({AMBER_E_CORRUPT, "metadata unreasonably large", offsetof(amber_header, meta_size)});
  meta_.assign(hdr_->meta_size / 8, 0);
  readExactly(hdr_->meta_off, meta_.data(), hdr_->meta_size);
  if (!amber_parse_meta(hdr_, meta_.data(), hdr_->meta_size, &view_, &e)) fail(e);

  uint64_t trailer[AMBER_TRAILER_SIZE / 8];
  readExactly(hdr_->file_size - AMBER_TRAILER_SIZE, trailer, sizeof trailer);
  if (!amber_check_trailer(hdr_, trailer, &view_, &e)) fail(e);
  std::memcpy(&trailer_, trailer, sizeof trailer_);
}

std::string_view Image::str(amber_str s) const {
  const char* p = nullptr;
  uint32_t len = 0;
  if (!amber_str_at(&view_, s, &p, &len)) return {};
  return {p, len};
}

Image::Verified Image::verifyChunks() const {
  Verified out;
  const amber_view& v = view_;
  // The bytes of deleted files and memfds (format 1.4), each extent against its checksum.
  std::vector<uint8_t> ebuf;
  for (uint32_t k = 0; k < v.nextents; k++) {
    const amber_extent& x = v.extents[k];
    ebuf.resize(x.len);
    readExactly(x.file_off, ebuf.data(), ebuf.size());
    amber_err e{};
    if (!amber_check_extent(&x, ebuf.data(), &e)) fail(e);
    out.bytes += x.len;
  }
  if (v.nchunks == 0) return out;

  // File order, so the disk sees one sequential pass whatever order the table is in.
  std::vector<uint32_t> order(v.nchunks);
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return v.chunks[a].file_off < v.chunks[b].file_off;
  });
  src_->adviseSequential(hdr_->data_off, hdr_->data_size);

  std::vector<uint8_t> buf;
  size_t i = 0;
  while (i < order.size()) {
    // Gather a batch [start, end) of chunks close to each other.
    const uint64_t start = v.chunks[order[i]].file_off;
    uint64_t end = start + v.chunks[order[i]].stored_len;
    size_t j = i + 1;
    while (j < order.size()) {
      const amber_chunk& c = v.chunks[order[j]];
      const uint64_t cend = std::max(end, c.file_off + c.stored_len);
      if (c.file_off > end + kMaxGap || cend - start > kBatch) break;
      end = cend;
      j++;
    }
    buf.resize(end - start);
    readExactly(start, buf.data(), buf.size());
    for (size_t k = i; k < j; k++) {
      const amber_chunk& c = v.chunks[order[k]];
      amber_err e{};
      if (!amber_check_chunk(&c, buf.data() + (c.file_off - start), &e)) fail(e);
      out.chunks++;
      out.bytes += c.stored_len;
    }
    i = j;
  }
  return out;
}

} // namespace amber
