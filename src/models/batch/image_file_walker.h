// Finds the images to tag: files and folders given on the command line, optionally recursive.
//
//   ImageFileWalker walker({"~/photos", "extra.png"}, {.recursive = true});
//   while (auto f = walker.next()) {
//     if (!f->error.ok()) { report(f->path, f->error); continue; }
//     enqueue(f->path, f->size, f->mtime_ns);
//   }
//
// Order is deterministic: roots in the order given; inside a folder, entries by byte-wise name,
// depth-first (a folder's contents come where its name sorts). The walk is streamed: it holds
// one sorted name list per open folder level, not a list of all files.
// Folder entries are kept when their extension is a known image one (case-insensitive: jpg
// jpeg jpe png webp gif bmp tif tiff heic heif avif jxl); a file named explicitly as a root is
// always kept (the decoder reports it if it is not an image). Names starting with '.' are skipped
// in folders (thumbnail caches, seer's own temp files) unless include_hidden.
// Symlinks are followed, each target once: folders and files are remembered by (device, inode),
// so a symlink cycle ends and an image reachable by two paths is tagged under the first path.
// That set grows with the number of files (about 50 bytes each).
// Errors (a missing root, an unreadable folder, a dangling symlink with an image name) come back
// as entries with !error.ok(), so the caller can count and report them; the walk goes on.
//
// Not thread-safe: one walker per thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/status.h"

namespace seer {

struct WalkOptions {
  bool recursive = false;
  bool include_hidden = false;
};

struct WalkedFile {
  std::filesystem::path path;  // as reached: root joined with entry names (not canonicalized)
  uint64_t size = 0;
  int64_t mtime_ns = 0;  // st_mtim of the target (symlinks followed)
  Status error;          // !ok(): path could not be read; size/mtime are 0
};

// Whether the extension of `path` is a known image one (case-insensitive).
bool has_image_extension(const std::filesystem::path& path);

class ImageFileWalker {
 public:
  ImageFileWalker(std::vector<std::filesystem::path> roots, WalkOptions options);

  // The next file, or nullopt when the walk is over.
  std::optional<WalkedFile> next();

 private:
  struct Frame {
    std::filesystem::path dir;
    std::vector<std::string> names;  // sorted
    size_t next = 0;
  };
  struct FileId {
    uint64_t dev, ino;
    bool operator==(const FileId&) const = default;
  };
  struct FileIdHash {
    size_t operator()(const FileId& id) const { return id.ino * 0x9E3779B97F4A7C15ULL ^ id.dev; }
  };

  // Opens a folder as a new frame; false (and *error set) when it cannot be read.
  bool push_dir(const std::filesystem::path& dir, Status* error);

  std::vector<std::filesystem::path> roots_;
  size_t next_root_ = 0;
  WalkOptions options_;
  std::vector<Frame> stack_;
  std::unordered_set<FileId, FileIdHash> seen_dirs_, seen_files_;
};

}  // namespace seer
