// A fresh directory under the system temp dir, removed with everything in it on destruction.
//   TempDir dir("seer-index");  // /tmp/seer-index-XXXXXX
//   write_file(dir.path() / "a.txt", "...");
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace seer::test {

class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "seer-test") {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace seer::test
