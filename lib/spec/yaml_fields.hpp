#pragma once
// Strict reading of hand-written YAML files (test specs, the probe config): every problem is reported
// as a YamlProblem carrying the 1-based line, so each loader can say "FILE:LINE: problem".
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kuzet::spec {

class YamlProblem : public std::runtime_error {
 public:
  YamlProblem(int line, const std::string& problem) : std::runtime_error(problem), line_(line) {}
  int line() const { return line_; }

 private:
  int line_;
};

// Refuse absurd inputs before yaml-cpp builds a node tree for them.
inline constexpr size_t kMaxYamlBytes = 4 * 1024 * 1024;

// 1-based line of a node; 1 when yaml-cpp has no position for it.
int line_of(const YAML::Node& node);
int line_of(const YAML::Mark& mark);

// Parses one YAML document. Syntax errors (any YAML::Exception) become YamlProblem.
YAML::Node load_yaml_document(const std::string& text);

// The node must be a mapping whose keys are distinct plain strings from `allowed`.
// `what` names the mapping in messages ("target", "schedule").
void check_mapping(const YAML::Node& node, std::initializer_list<std::string_view> allowed, std::string_view what);

// Scalar field access. `map` must already have passed check_mapping.
std::optional<std::string> optional_string(const YAML::Node& map, const char* key);
std::string required_string(const YAML::Node& map, const char* key, std::string_view what);
// Non-negative integer (plain digits; no sign, no float).
std::optional<uint64_t> optional_unsigned(const YAML::Node& map, const char* key);
// A sequence (or absent); throws when the value is something else.
YAML::Node optional_sequence(const YAML::Node& map, const char* key);

// Line of the value of `key` in `map` (of the map itself when the key is absent).
int line_of_value(const YAML::Node& map, const char* key);

}  // namespace kuzet::spec
