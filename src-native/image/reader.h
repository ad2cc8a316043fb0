// Image reader for hosted code (the addon, amber inspect, unit tests, the fuzz target).
// All structural and checksum decisions are made by image/validate.h — the same code the
// restorer runs — so "inspect says it is fine" and "restart accepts it" cannot disagree. This
// file only does I/O, ownership and error reporting.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "image/validate.h"

namespace amber {

// One failure reading an image. `code` is 'ENOTIMAGE', 'ETRUNCATED', 'EVERSION', 'EBADIMAGE',
// 'ECHECKSUM' for image problems, or an errno name ('ENOENT', 'EACCES', ...) for I/O problems,
// in which case `err` is the errno. what() is a complete message naming the file and, when
// known, the offset: "p1.img: chunk checksum mismatch at offset 1056768".
struct ReadError : std::runtime_error {
  ReadError(std::string code, int err, std::string path, uint64_t offset, bool hasOffset,
            const std::string& message);
  std::string code;
  int err;           // errno, 0 for image problems
  std::string path;
  uint64_t offset;   // meaningful when hasOffset
  bool hasOffset;
};

// 'ENOTIMAGE' ... for an AMBER_E_* code.
const char* amberCodeName(int amberCode);

// Where bytes come from: a file (pread) or memory (tests, fuzzing).
class Source {
 public:
  virtual ~Source() = default;
  virtual uint64_t size() const = 0;
  // Read up to len bytes at off; returns bytes read (short only at end of data). Throws
  // ReadError for I/O errors.
  virtual size_t readAt(uint64_t off, void* buf, size_t len) const = 0;
  virtual void adviseSequential(uint64_t /*off*/, uint64_t /*len*/) const {}
};

class Image {
 public:
  // Opens and validates header, metadata and trailer (including the whole-image checksum over
  // the chunk checksums). Chunk bytes are not read: see verifyChunks(). Throws ReadError.
  static std::unique_ptr<Image> open(const std::string& path);
  // Same, over bytes in memory (copied). `name` is used in messages.
  static std::unique_ptr<Image> fromMemory(const std::string& name, const void* data, size_t len);

  const std::string& path() const { return path_; }
  const amber_header& header() const { return *hdr_; }
  const amber_view& view() const { return view_; }
  uint64_t actualSize() const { return size_; }
  // The trailer (checked): image_xxh is what a manifest records to bind the image (format 1.4).
  const amber_trailer& trailer() const { return trailer_; }

  // A string from the STRINGS section (validated ranges, so never out of bounds).
  std::string_view str(amber_str s) const;

  struct Verified {
    uint64_t chunks = 0;
    uint64_t bytes = 0; // stored bytes checked
  };
  // Reads every chunk (in file order, in large batches) and checks its checksum. Throws
  // ReadError('ECHECKSUM') naming the first bad chunk's file offset.
  Verified verifyChunks() const;

  // Throws the ReadError for a validate.h failure.
  // `detail`, when given, is appended in parentheses (e.g. the version found).
  [[noreturn]] void fail(const amber_err& e, const std::string& detail = {}) const;

 private:
  Image(std::string path, std::unique_ptr<Source> src);
  void load();
  void readExactly(uint64_t off, void* buf, size_t len) const;

  std::string path_;
  std::unique_ptr<Source> src_;
  uint64_t size_ = 0;
  std::unique_ptr<uint64_t[]> page_;  // header page, 8-byte aligned
  const amber_header* hdr_ = nullptr;
  std::vector<uint64_t> meta_;        // metadata, 8-byte aligned
  amber_view view_{};
  amber_trailer trailer_{};
};

} // namespace amber
