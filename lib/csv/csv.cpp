#include "csv/csv.hpp"

namespace kuzet::csv {

Error::Error(int line, const std::string& problem)
    : std::runtime_error(line > 0 ? "line " + std::to_string(line) + ": " + problem : problem),
      line_(line),
      problem_(problem) {}

std::vector<Record> parse(std::string_view text, const Limits& limits) {
  if (text.size() > limits.max_bytes)
    throw Error(0, "file larger than " + std::to_string(limits.max_bytes) + " bytes");
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);

  std::vector<Record> records;
  Record record;
  std::string field;
  int line = 1;
  size_t i = 0;
  bool at_record_start = true;

  size_t total_fields = 0;
  auto end_field = [&] {
    if (record.fields.size() >= limits.max_fields)
      throw Error(record.line, "more than " + std::to_string(limits.max_fields) + " fields");
    if (++total_fields > limits.max_total_fields)
      throw Error(record.line, "more than " + std::to_string(limits.max_total_fields) + " fields in the file");
    record.fields.push_back(std::move(field));
    field.clear();
  };
  auto end_record = [&] {
    end_field();
    const bool blank = record.fields.size() == 1 && record.fields[0].empty();
    if (!blank) {
      if (records.size() >= limits.max_records)
        throw Error(record.line, "more than " + std::to_string(limits.max_records) + " records");
      records.push_back(std::move(record));
    }
    record = Record{};
    at_record_start = true;
  };
  auto append = [&](char c) {
    if (field.size() >= limits.max_field_bytes)
      throw Error(line, "field longer than " + std::to_string(limits.max_field_bytes) + " bytes");
    field += c;
  };

  while (i < text.size()) {
    if (at_record_start) {
      record.line = line;
      at_record_start = false;
    }
    const char c = text[i];
    if (c == '\0') throw Error(line, "NUL byte");
    if (c == '"' && field.empty()) {
      // A quoted field: runs to the matching quote, across line breaks.
      const int opened = line;
      ++i;
      while (true) {
        if (i >= text.size()) throw Error(opened, "quoted field never closed (no matching '\"')");
        const char q = text[i];
        if (q == '\0') throw Error(line, "NUL byte");
        if (q == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            append('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        if (q == '\n') ++line;
        append(q);
        ++i;
      }
      // After the closing quote: a separator, a line end or the end of the text.
      if (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r')
        throw Error(line, "unexpected text after a closing quote (a quote inside a field is written \"\")");
      if (i < text.size() && text[i] == ',') {
        end_field();
        ++i;
      } else if (i >= text.size()) {
        end_record();
      }  // else a line end, taken by the next turn
      continue;
    }
    if (c == '"') throw Error(line, "a quote inside an unquoted field (quote the whole field and write \"\")");
    if (c == ',') {
      end_field();
      ++i;
      continue;
    }
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      ++i;
      end_record();
      ++line;
      continue;
    }
    append(c);
    ++i;
  }
  if (!at_record_start) end_record();
  return records;
}

}  // namespace kuzet::csv
