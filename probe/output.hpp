#pragma once
// What a volunteer sees (progress, the results table) and the JSON Lines results file.
#include <ostream>
#include <string>
#include <vector>

#include "probe/record.hpp"
#include "probe/runner.hpp"

namespace kuzet::probe {

// Appends records as JSON Lines and fsyncs: earlier runs in the same file are never overwritten.
class OutputFile {
 public:
  OutputFile() = default;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile();
  bool open(const std::string& path, std::string* error);
  bool is_open() const { return fd_ >= 0; }
  bool append_records(const std::vector<MeasurementRecord>& records, std::string* error);

 private:
  int fd_ = -1;
};

// Progress lines on stderr as targets finish.
void print_progress(const Progress& progress);
// The end-of-run table: target, category, verdict, method, time.
void print_table(std::ostream& out, const RunResult& result);

}  // namespace kuzet::probe
