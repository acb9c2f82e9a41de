#pragma once
// What a volunteer sees (progress, the results table) and the JSON Lines results file.
#include <ostream>
#include <string>
#include <vector>

#include "probe/record.hpp"
#include "probe/runner.hpp"

namespace kuzet::probe::ui {

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

// What the first failing step of a target saw: a failure string (core/vocabulary/failure.hpp, e.g.
// "dns.timeout"), or "-" when every step succeeded. The progress lines and the table's SEEN column both say
// this, so a target reads the same in both; the verdict (core/vocabulary/verdict.hpp) comes only after the
// control measurements, in the table.
std::string seen_failure(const MeasurementRecord& record);

// One progress line ("[ 3/40] example.org   seen dns.timeout   4.0s"), or "" for a phase without one.
std::string progress_line(const Progress& progress);
// Progress lines on stderr as targets finish.
void print_progress(const Progress& progress);
// The end-of-run table: target, category, verdict, method, seen, time.
void print_table(std::ostream& out, const RunResult& result);

}  // namespace kuzet::probe::ui
