#include "models/tagger/csv_reader.h"

namespace seer {

CsvReader::CsvReader(std::string_view text) : text_(text) {
  if (text_.starts_with("\xEF\xBB\xBF")) pos_ = 3;
}

StatusOr<bool> CsvReader::next(std::vector<std::string>* fields) {
  fields->clear();
  // Skip empty lines (LF or CRLF) so that a trailing newline or blank separator is not a record.
  while (pos_ < text_.size()) {
    if (text_[pos_] == '\n') {
      ++pos_;
      ++line_;
    } else if (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') {
      pos_ += 2;
      ++line_;
    } else {
      break;
    }
  }
  if (pos_ >= text_.size()) return false;
  record_line_ = line_;

  std::string field;
  while (true) {
    field.clear();
    if (pos_ < text_.size() && text_[pos_] == '"') {
      // Quoted field: runs to the next quote that is not doubled.
      ++pos_;
      while (true) {
        if (pos_ >= text_.size()) {
          return Status::invalid_argument("line {}: unterminated quoted field", record_line_);
        }
        char c = text_[pos_++];
        if (c == '"') {
          if (pos_ < text_.size() && text_[pos_] == '"') {
            field.push_back('"');
            ++pos_;
          } else {
            break;
          }
        } else {
          if (c == '\n') ++line_;
          field.push_back(c);
        }
      }
      // After the closing quote: a separator or the end of the record, nothing else.
      bool at_end = pos_ >= text_.size() || text_[pos_] == '\n' ||
                    (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') ||
                    (text_[pos_] == '\r' && pos_ + 1 == text_.size());
      if (!at_end && text_[pos_] != ',') {
        return Status::invalid_argument("line {}: unexpected character '{}' after a closing quote",
                                        line_, text_[pos_]);
      }
    } else {
      while (pos_ < text_.size()) {
        char c = text_[pos_];
        if (c == ',' || c == '\n') break;
        if (c == '\r' && (pos_ + 1 == text_.size() || text_[pos_ + 1] == '\n')) break;
        field.push_back(c);
        ++pos_;
      }
    }
    fields->push_back(field);
    if (pos_ >= text_.size()) return true;
    char c = text_[pos_];
    if (c == ',') {
      ++pos_;
      continue;
    }
    // End of record: LF, CRLF or a final CR.
    if (c == '\r') ++pos_;
    if (pos_ < text_.size() && text_[pos_] == '\n') {
      ++pos_;
      ++line_;
    }
    return true;
  }
}

}  // namespace seer
