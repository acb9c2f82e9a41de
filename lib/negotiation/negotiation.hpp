#pragma once
// The weighted lists of HTTP content negotiation (RFC 9110 12.4-12.5): Accept, Accept-Language. A header is
// comma-separated elements, each a value with ';'-separated parameters, one of which may be the weight q.
// Headers come from anyone: only their first kScanBytes are read, and none of it is copied.
#include <cstddef>
#include <string_view>

namespace kuzet::negotiation {

// The bytes of a header that are read: a browser sends a few dozen to a few hundred; the rest of a longer
// header is not looked at, and the element the cap cuts through is dropped, not half-read.
inline constexpr size_t kScanBytes = 1024;

// RFC 9110's qvalue in thousandths: "0", "0.5", "1", "1.000"; -1 when malformed ("2", "0.1234", ".5", "").
int parse_qvalue(std::string_view text);

// One element of a weighted list.
struct Weighted {
  std::string_view value;  // before the first ';', without blanks ("ru-RU", "text/html"), as written
  int q = 1000;            // thousandths: 1000 without a q parameter, 0 refuses
  size_t position = 0;     // the element's place in the header, from 1 (skipped elements count)
};

// The elements of a weighted header, in order, from its first kScanBytes. An element with an empty value or
// a malformed q is skipped; other parameters than q are not interpreted. Views point into the header.
class WeightedList {
 public:
  explicit WeightedList(std::string_view header);
  // The next element into `out`; false at the end.
  bool next(Weighted& out);

 private:
  std::string_view rest_;
  size_t position_ = 0;
};

}  // namespace kuzet::negotiation
