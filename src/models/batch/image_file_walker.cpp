#include "models/batch/image_file_walker.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <string_view>

namespace seer {
namespace {

constexpr std::array<std::string_view, 13> kImageExtensions = {
    "jpg", "jpeg", "jpe", "png", "webp", "gif", "bmp", "tif", "tiff", "heic", "heif", "avif", "jxl"};

int64_t mtime_ns_of(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
}

Status stat_error(const std::filesystem::path& p, int e) {
  if (e == ENOENT) return Status::not_found("{}: no such file or folder", p.string());
  return Status::internal("{}: {}", p.string(), std::strerror(e));
}

}  // namespace

bool has_image_extension(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  if (ext.size() < 2) return false;
  ext.erase(0, 1);
  for (char& c : ext) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return std::find(kImageExtensions.begin(), kImageExtensions.end(), ext) != kImageExtensions.end();
}

ImageFileWalker::ImageFileWalker(std::vector<std::filesystem::path> roots, WalkOptions options)
    : roots_(std::move(roots)), options_(options) {}

bool ImageFileWalker::push_dir(const std::filesystem::path& dir, Status* error) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    *error = stat_error(dir, errno);
    return false;
  }
  Frame f{dir, {}, 0};
  while (true) {
    errno = 0;
    struct dirent* e = ::readdir(d);
    if (e == nullptr) {
      if (errno != 0) {
        *error = stat_error(dir, errno);
        ::closedir(d);
        return false;
      }
      break;
    }
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    if (!options_.include_hidden && name.front() == '.') continue;
    // Only names that can matter are kept: image files, and anything that may be a folder.
    bool maybe_dir = e->d_type == DT_DIR || e->d_type == DT_LNK || e->d_type == DT_UNKNOWN;
    if (!(options_.recursive && maybe_dir) && !has_image_extension(std::filesystem::path(name))) {
      continue;
    }
    f.names.emplace_back(name);
  }
  ::closedir(d);
  std::sort(f.names.begin(), f.names.end());
  stack_.push_back(std::move(f));
  return true;
}

std::optional<WalkedFile> ImageFileWalker::next() {
  while (true) {
    if (stack_.empty()) {
      if (next_root_ >= roots_.size()) return std::nullopt;
      const std::filesystem::path root = roots_[next_root_++];
      struct stat st;
      if (::stat(root.c_str(), &st) != 0) return WalkedFile{root, 0, 0, stat_error(root, errno)};
      if (S_ISDIR(st.st_mode)) {
        if (!seen_dirs_.insert({st.st_dev, st.st_ino}).second) continue;
        Status err;
        if (!push_dir(root, &err)) return WalkedFile{root, 0, 0, err};
        continue;
      }
      if (!seen_files_.insert({st.st_dev, st.st_ino}).second) continue;
      if (!S_ISREG(st.st_mode)) {
        return WalkedFile{root, 0, 0, Status::invalid_argument("{}: not a regular file", root.string())};
      }
      return WalkedFile{root, static_cast<uint64_t>(st.st_size), mtime_ns_of(st), Status()};
    }
    Frame& top = stack_.back();
    if (top.next >= top.names.size()) {
      stack_.pop_back();
      continue;
    }
    std::filesystem::path p = top.dir / top.names[top.next++];
    struct stat st;
    if (::stat(p.c_str(), &st) != 0) {
      // A dangling symlink or a file removed meanwhile: an error only if it looked like an image.
      if (has_image_extension(p)) return WalkedFile{p, 0, 0, stat_error(p, errno)};
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      if (!options_.recursive || !seen_dirs_.insert({st.st_dev, st.st_ino}).second) continue;
      Status err;
      if (!push_dir(p, &err)) return WalkedFile{p, 0, 0, err};
      continue;  // `top` may dangle now; the loop re-reads stack_.back()
    }
    if (!S_ISREG(st.st_mode) || !has_image_extension(p)) continue;
    if (!seen_files_.insert({st.st_dev, st.st_ino}).second) continue;
    return WalkedFile{p, static_cast<uint64_t>(st.st_size), mtime_ns_of(st), Status()};
  }
}

}  // namespace seer
