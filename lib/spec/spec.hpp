#pragma once
// Test specs (tests-spec/*.yaml): what to measure, plus knowledge the verdicts use.
#include <stdexcept>
#include <string>
#include <vector>

namespace kuzet::spec {

struct Target {
  std::string url;
  std::string category;  // Kuzet's name (egov, news, control, ...; spec/categories.hpp) or any other string
  std::string name;      // optional human label
  std::string throughput_url;  // optional larger object on the same host for throughput
};

struct InterceptionRoot {
  std::string name;
  std::string sha256;       // of the DER certificate, lower-case hex
  std::string spki_sha256;  // optional, base64
};

struct BlockpageFingerprint {
  std::string name;
  std::string body_contains;    // substring of the body prefix
  std::string title_contains;   // substring of <title>
  std::string header_name;      // header that must be present ...
  std::string header_contains;  // ... and contain this (optional)
  std::string address;          // a known blockpage server address (DNS hijack target)
};

struct Spec {
  std::string source;  // file path
  std::string name;
  std::vector<Target> targets;
  std::vector<InterceptionRoot> interception_roots;
  std::vector<BlockpageFingerprint> blockpages;
};

// A broken spec: the message names the file, the line and the problem ("kz.yaml:12: ...");
// an unreadable file: "FILE: cannot read: reason".
class SpecError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

Spec load_spec_file(const std::string& path);  // throws SpecError; "*.csv": a Citizen Lab test list (citizenlab.hpp)
Spec parse_spec(const std::string& yaml_text, const std::string& source_name);  // throws SpecError

// Merges specs of one run: targets deduplicated by URL (first wins), blockpages concatenated,
// interception roots deduplicated by sha256 (first wins).
Spec merge_specs(const std::vector<Spec>& specs);

// Kuzet's category names (tests-spec/README.md), defined in categories.cpp; any other category is accepted too.
const std::vector<std::string>& known_categories();
bool is_known_category(const std::string& category);
// Identity of a target URL for deduplication: scheme://host:port/path?query, host lower-cased.
std::string url_key(const std::string& url);

}  // namespace kuzet::spec
