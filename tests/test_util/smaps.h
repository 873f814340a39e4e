// What the OS says one mapped file costs this process: the Rss of every mapping of `file` in
// /proc/self/smaps (memory-truth tests compare it with the ledger).
//   EXPECT_EQ(test::resident_bytes_of("/abs/path/model.onnx"), expected);
#pragma once

#include <cctype>
#include <cstdint>
#include <fstream>
#include <string>

namespace seer::test {

// `file` as the kernel names it (absolute, canonical).
inline uint64_t resident_bytes_of(const std::string& file) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool in_file = false;
  uint64_t kib = 0;
  while (std::getline(smaps, line)) {
    if (!line.empty() && std::isxdigit(static_cast<unsigned char>(line[0])) && line.find('-') != std::string::npos &&
        line.find(':') > line.find(' ')) {
      in_file = line.size() >= file.size() && line.compare(line.size() - file.size(), file.size(), file) == 0;
    } else if (in_file && line.rfind("Rss:", 0) == 0) {
      kib += std::stoull(line.substr(4));
    }
  }
  return kib * 1024;
}

}  // namespace seer::test
