#include "models/batch/sidecar_writer.h"

#include <fcntl.h>
#include <stdio.h>  // renameat2, RENAME_NOREPLACE (glibc >= 2.28, _GNU_SOURCE)
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace seer {
namespace {

std::atomic<uint64_t> g_temp_counter{0};

// The comparison form of a caption item (see the header).
std::string normalize_tag(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\' && i + 1 < s.size() && (s[i + 1] == '(' || s[i + 1] == ')')) continue;
    if (c == '_') c = ' ';
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    out.push_back(c);
  }
  return out;
}

// Whether `hay` (a normalized caption) holds `tag` (normalized) as a whole item: bounded by the
// start or a comma on the left and by the end or a comma on the right, blanks aside. Matching in
// the text rather than splitting it keeps names that contain commas ("name,with,commas") whole.
bool holds_item(std::string_view hay, std::string_view tag) {
  if (tag.empty()) return true;
  for (size_t at = hay.find(tag); at != std::string_view::npos; at = hay.find(tag, at + 1)) {
    size_t l = at;
    while (l > 0 && hay[l - 1] == ' ') --l;
    size_t r = at + tag.size();
    while (r < hay.size() && hay[r] == ' ') ++r;
    bool left_ok = l == 0 || hay[l - 1] == ',';
    bool right_ok = r == hay.size() || hay[r] == ',';
    if (left_ok && right_ok) return true;
  }
  return false;
}

Status errno_status(std::string_view what, const std::filesystem::path& p, int e) {
  if (e == ENOENT) return Status::not_found("{} {}: {}", what, p.string(), std::strerror(e));
  return Status::internal("{} {}: {}", what, p.string(), std::strerror(e));
}

StatusOr<std::string> read_all(const std::filesystem::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_status("open", p, errno);
  std::string out;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return errno_status("read", p, e);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

std::string join_tags(std::span<const std::string> tags) {
  std::string out;
  for (const auto& t : tags) {
    if (!out.empty()) out.append(", ");
    out.append(t);
  }
  return out;
}

}  // namespace

std::string_view to_string(SidecarMode m) {
  switch (m) {
    case SidecarMode::kSkipExisting: return "skip-existing";
    case SidecarMode::kOverwrite: return "overwrite";
    case SidecarMode::kAppend: return "append";
  }
  return "?";
}

std::string_view to_string(SidecarOutcome o) {
  switch (o) {
    case SidecarOutcome::kWritten: return "written";
    case SidecarOutcome::kAppended: return "appended";
    case SidecarOutcome::kUnchanged: return "unchanged";
    case SidecarOutcome::kSkipped: return "skipped";
  }
  return "?";
}

std::filesystem::path sidecar_path(const std::filesystem::path& image,
                                   std::string_view extension) {
  std::filesystem::path p = image;
  p.replace_extension(std::filesystem::path(std::string(extension)));
  return p;
}

std::string merge_caption(std::string_view existing, std::span<const std::string> tags) {
  while (!existing.empty() && std::isspace(static_cast<unsigned char>(existing.back()))) {
    existing.remove_suffix(1);
  }
  std::string out(existing);
  std::string seen = normalize_tag(existing);
  for (const auto& t : tags) {
    std::string n = normalize_tag(t);
    if (n.empty() || holds_item(seen, n)) continue;
    if (!out.empty()) out.append(", ");
    out.append(t);
    if (!seen.empty()) seen.append(",");
    seen.append(n);
  }
  return out;
}

StatusOr<bool> write_file_atomic(const std::filesystem::path& path, std::string_view content,
                                 bool fsync, bool no_replace) {
  std::filesystem::path tmp = path.parent_path() /
                              fmt::format(".{}.seer-tmp.{}.{}", path.filename().string(),
                                          ::getpid(), g_temp_counter.fetch_add(1));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) return errno_status("create", tmp, errno);
  auto fail = [&](std::string_view what, int e) -> Status {
    ::close(fd);
    ::unlink(tmp.c_str());
    return errno_status(what, tmp, e);
  };
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write", errno);
    }
    done += static_cast<size_t>(n);
  }
  if (fsync && ::fsync(fd) != 0) return fail("fsync", errno);
  if (::close(fd) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return errno_status("close", tmp, e);
  }
  if (no_replace) {
    if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0) {
      return true;
    }
    int e = errno;
    if (e == EEXIST) {
      ::unlink(tmp.c_str());
      return false;
    }
    if (e != EINVAL && e != ENOSYS) {  // else: the filesystem lacks the flag; check, then rename
      ::unlink(tmp.c_str());
      return errno_status("rename to", path, e);
    }
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) {
      ::unlink(tmp.c_str());
      return false;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return errno_status("rename to", path, e);
  }
  return true;
}

StatusOr<SidecarOutcome> write_sidecar(const std::filesystem::path& image,
                                       std::span<const std::string> tags,
                                       const SidecarOptions& options) {
  const std::filesystem::path path = sidecar_path(image, options.extension);
  std::string content;
  SidecarOutcome outcome = SidecarOutcome::kWritten;
  if (options.mode == SidecarMode::kAppend) {
    auto existing = read_all(path);
    if (existing.ok()) {
      content = merge_caption(*existing, tags);
      std::string_view old = *existing;
      while (!old.empty() && std::isspace(static_cast<unsigned char>(old.back()))) {
        old.remove_suffix(1);
      }
      if (content == old) return SidecarOutcome::kUnchanged;
      outcome = SidecarOutcome::kAppended;
    } else if (existing.status().code() != StatusCode::kNotFound) {
      return existing.status();
    }
  }
  if (outcome == SidecarOutcome::kWritten) content = join_tags(tags);
  content.push_back('\n');
  SEER_ASSIGN_OR_RETURN(
      bool wrote, write_file_atomic(path, content, options.fsync,
                                    /*no_replace=*/options.mode == SidecarMode::kSkipExisting));
  return wrote ? outcome : SidecarOutcome::kSkipped;
}

}  // namespace seer
