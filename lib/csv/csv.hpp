#pragma once
// A bounded reader of untrusted CSV text (RFC 4180): fields separated by ',', records by LF or CRLF, a
// field in double quotes may hold ',', line breaks and "" for a quote. A leading UTF-8 byte-order mark is
// skipped; blank lines are skipped. Every limit breached and every syntax error is a csv::Error that names
// the line. Bytes are not interpreted otherwise (the caller checks encodings and meanings).
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kuzet::csv {

struct Limits {
  size_t max_bytes = 8 * 1024 * 1024;  // the whole text
  size_t max_records = 100000;
  size_t max_fields = 32;              // per record
  size_t max_total_fields = 600000;    // in the whole text: bounds memory for a file of empty fields
  size_t max_field_bytes = 16 * 1024;  // per field, after unquoting
};

struct Record {
  int line = 0;  // 1-based line where the record starts
  std::vector<std::string> fields;
};

// what() is "line N: problem"; line() gives N (0 when the problem is about the whole text).
class Error : public std::runtime_error {
 public:
  Error(int line, const std::string& problem);
  int line() const { return line_; }
  const std::string& problem() const { return problem_; }

 private:
  int line_;
  std::string problem_;
};

std::vector<Record> parse(std::string_view text, const Limits& limits = {});  // throws Error

}  // namespace kuzet::csv
