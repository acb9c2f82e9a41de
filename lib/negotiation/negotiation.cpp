#include "negotiation/negotiation.hpp"

#include "ascii/ascii.hpp"

namespace kuzet::negotiation {

namespace {

// The weight of one element's parameters ("q=0.8"; others ignored): 1000 without a q, -1 when q is malformed.
int element_weight(std::string_view params) {
  int weight = 1000;
  while (!params.empty()) {
    const size_t semicolon = params.find(';');
    const std::string_view param = ascii::trim(params.substr(0, semicolon), ascii::kBlanks);
    params = semicolon == std::string_view::npos ? std::string_view() : params.substr(semicolon + 1);
    const size_t equals = param.find('=');
    if (equals == std::string_view::npos) continue;
    if (!ascii::equals_ignoring_case(ascii::trim(param.substr(0, equals), ascii::kBlanks), "q")) continue;
    weight = parse_qvalue(ascii::trim(param.substr(equals + 1), ascii::kBlanks));
    if (weight < 0) return -1;
  }
  return weight;
}

// The header's first kScanBytes, without the element the cap cuts through.
std::string_view scanned_part(std::string_view header) {
  if (header.size() <= kScanBytes) return header;
  const bool cut_at_comma = header[kScanBytes] == ',';
  header = header.substr(0, kScanBytes);
  if (cut_at_comma) return header;
  const size_t last_comma = header.rfind(',');
  return header.substr(0, last_comma == std::string_view::npos ? 0 : last_comma);
}

}  // namespace

int parse_qvalue(std::string_view text) {
  if (text.empty() || (text[0] != '0' && text[0] != '1')) return -1;
  int thousandths = text[0] == '1' ? 1000 : 0;
  if (text.size() == 1) return thousandths;
  if (text[1] != '.' || text.size() > 5) return -1;
  int scale = 100;
  for (char c : text.substr(2)) {
    if (c < '0' || c > '9') return -1;
    thousandths += (c - '0') * scale;
    scale /= 10;
  }
  return thousandths > 1000 ? -1 : thousandths;
}

WeightedList::WeightedList(std::string_view header) : rest_(scanned_part(header)) {}

bool WeightedList::next(Weighted& out) {
  while (!rest_.empty()) {
    ++position_;
    const size_t comma = rest_.find(',');
    const std::string_view element = rest_.substr(0, comma);
    rest_ = comma == std::string_view::npos ? std::string_view() : rest_.substr(comma + 1);
    const size_t semicolon = element.find(';');
    const std::string_view value = ascii::trim(element.substr(0, semicolon), ascii::kBlanks);
    const int q = element_weight(semicolon == std::string_view::npos ? "" : element.substr(semicolon + 1));
    if (value.empty() || q < 0) continue;
    out = {value, q, position_};
    return true;
  }
  return false;
}

}  // namespace kuzet::negotiation
