// A strict RFC 4180 CSV reader for small label files (selected_tags.csv).
//
//   CsvReader reader(text);
//   std::vector<std::string> fields;
//   while (true) {
//     SEER_ASSIGN_OR_RETURN(bool got, reader.next(&fields));
//     if (!got) break;
//     use(fields, reader.record_line());
//   }
//
// Grammar: records end at LF or CRLF (a lone CR inside an unquoted field is data); a field that
// starts with `"` is quoted and may hold commas, newlines and `""` (one literal quote); after the
// closing quote only `,` or the end of the record may follow. A `"` inside an unquoted field is
// taken literally (as Python's csv and pandas do), so `don't_say_"lazy"` written unquoted still
// reads back as itself. A leading UTF-8 BOM is skipped; empty lines are skipped.
// Errors are InvalidArgument "line N: ...", N being the 1-based line where the record starts.
//
// The reader views `text` (not owned; it must outlive the reader). Not thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace seer {

class CsvReader {
 public:
  explicit CsvReader(std::string_view text);

  // Reads the next non-empty record into *fields. Returns false at the end of the text.
  StatusOr<bool> next(std::vector<std::string>* fields);

  // The 1-based line number where the record last returned by next() starts.
  size_t record_line() const { return record_line_; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  size_t line_ = 1;  // line of text_[pos_]
  size_t record_line_ = 0;
};

}  // namespace seer
