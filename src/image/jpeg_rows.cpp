#include "image/jpeg_rows.h"

#include <atomic>
#include <csetjmp>
#include <cstdio>
#include <memory>
#include <vector>

// jpeglib.h needs size_t and FILE declared first.
#include <jpeglib.h>

namespace seer {
namespace {

std::atomic<bool> g_enabled{true};
std::atomic<uint64_t> g_restarts{0};

struct ErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
};

[[noreturn]] void on_error(j_common_ptr cinfo) {
  std::longjmp(reinterpret_cast<ErrorManager*>(cinfo->err)->jump, 1);
}
void on_message(j_common_ptr) {}  // never print; warnings are counted in num_warnings

struct State {
  jpeg_decompress_struct cinfo{};
  ErrorManager err{};
  FILE* file = nullptr;
  bool created = false;
  bool delivered = false;  // a row reached on_row
  std::vector<uint8_t> row;
};

// Everything between setjmp and the last libjpeg call lives in `s` (no C++ objects with
// destructors are created in this frame after setjmp, so longjmp skips nothing).
JpegRowsResult run(State& s, std::span<const uint8_t> bytes, int shrink, int expect_w,
                   int expect_h, const std::function<void(int, const uint8_t*)>& on_row) {
  s.cinfo.err = jpeg_std_error(&s.err.pub);
  s.err.pub.error_exit = on_error;
  s.err.pub.output_message = on_message;
  if (setjmp(s.err.jump) != 0) {
    return s.delivered ? JpegRowsResult::kRestart : JpegRowsResult::kNotEligible;
  }
  jpeg_create_decompress(&s.cinfo);
  s.created = true;
  if (s.file) {
    jpeg_stdio_src(&s.cinfo, s.file);
  } else {
    jpeg_mem_src(&s.cinfo, bytes.data(), static_cast<unsigned long>(bytes.size()));
  }
  jpeg_read_header(&s.cinfo, TRUE);
  const J_COLOR_SPACE cs = s.cinfo.jpeg_color_space;
  const int nc = s.cinfo.num_components;
  const bool gray = cs == JCS_GRAYSCALE && nc == 1;
  if (!gray && !((cs == JCS_YCbCr || cs == JCS_RGB) && nc == 3)) {
    return JpegRowsResult::kNotEligible;
  }
  if (s.err.pub.num_warnings != 0) return JpegRowsResult::kNotEligible;
  s.cinfo.out_color_space = JCS_RGB;  // gray → R = G = B, as libvips + Pillow's convert give
  if (shrink != 1) {
    s.cinfo.scale_num = 1;
    s.cinfo.scale_denom = static_cast<unsigned>(shrink);
  }
  jpeg_calc_output_dimensions(&s.cinfo);
  if (static_cast<int>(s.cinfo.output_width) != expect_w ||
      static_cast<int>(s.cinfo.output_height) != expect_h || s.cinfo.output_components != 3) {
    return JpegRowsResult::kNotEligible;
  }
  jpeg_start_decompress(&s.cinfo);
  s.row.resize(static_cast<size_t>(expect_w) * 3);
  JSAMPROW rows[1] = {s.row.data()};
  while (s.cinfo.output_scanline < s.cinfo.output_height) {
    const int y = static_cast<int>(s.cinfo.output_scanline);
    if (jpeg_read_scanlines(&s.cinfo, rows, 1) != 1) return JpegRowsResult::kRestart;
    if (s.err.pub.num_warnings != 0) {
      return s.delivered ? JpegRowsResult::kRestart : JpegRowsResult::kNotEligible;
    }
    s.delivered = true;
    on_row(y, s.row.data());
  }
  // Like libvips, the tail after the last scan is not read (jpeg_finish_decompress skipped).
  return JpegRowsResult::kDone;
}

}  // namespace

JpegRowsResult read_jpeg_rows(std::span<const uint8_t> bytes, const std::string* path, int shrink,
                              int expect_width, int expect_height,
                              const std::function<void(int y, const uint8_t* rgb)>& on_row) {
  State s;
  if (path) {
    s.file = std::fopen(path->c_str(), "rb");
    if (!s.file) return JpegRowsResult::kNotEligible;
  }
  const JpegRowsResult r = run(s, bytes, shrink, expect_width, expect_height, on_row);
  if (s.created) jpeg_destroy_decompress(&s.cinfo);
  if (s.file) std::fclose(s.file);
  if (r == JpegRowsResult::kRestart) g_restarts.fetch_add(1, std::memory_order_relaxed);
  return r;
}

void set_direct_jpeg_rows(bool enabled) { g_enabled.store(enabled); }
bool direct_jpeg_rows_enabled() { return g_enabled.load(std::memory_order_relaxed); }
uint64_t direct_jpeg_restart_count() { return g_restarts.load(); }

}  // namespace seer
