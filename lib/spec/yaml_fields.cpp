#include "spec/yaml_fields.hpp"

#include <algorithm>
#include <set>

namespace kuzet::spec {

namespace {

std::string join(std::initializer_list<std::string_view> words) {
  std::string out;
  for (auto w : words) {
    if (!out.empty()) out += ", ";
    out += w;
  }
  return out;
}

// The key node of `key` in `map`, or an invalid node. Used only for positions.
std::optional<YAML::Node> key_node(const YAML::Node& map, const char* key) {
  for (const auto& pair : map)
    if (pair.first.IsScalar() && pair.first.Scalar() == key) return pair.first;
  return std::nullopt;
}

}  // namespace

int line_of(const YAML::Mark& mark) { return mark.is_null() || mark.line < 0 ? 1 : mark.line + 1; }

int line_of(const YAML::Node& node) {
  if (!node.IsDefined()) return 1;
  return line_of(node.Mark());
}

int line_of_value(const YAML::Node& map, const char* key) {
  auto k = key_node(map, key);
  if (!k) return line_of(map);
  const YAML::Node value = map[key];
  // An empty value ("url:") has no useful position of its own: point at the key.
  if (!value.IsDefined() || value.IsNull() || value.Mark().is_null()) return line_of(*k);
  return line_of(value);
}

YAML::Node load_yaml_document(const std::string& text) {
  if (text.size() > kMaxYamlBytes)
    throw YamlProblem(1, "file too large (" + std::to_string(text.size()) + " bytes, limit " +
                             std::to_string(kMaxYamlBytes) + ")");
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    // yaml-cpp reports "unexpected end" one line past the last one; point at the last line instead.
    int lines = static_cast<int>(std::count(text.begin(), text.end(), '\n'));
    if (text.empty() || text.back() != '\n') ++lines;
    // e.msg is the bare problem; e.what() would repeat the position in yaml-cpp's own format.
    throw YamlProblem(std::max(1, std::min(line_of(e.mark), lines)), "YAML syntax error: " + e.msg);
  }
}

void check_mapping(const YAML::Node& node, std::initializer_list<std::string_view> allowed, std::string_view what) {
  if (!node.IsMap()) throw YamlProblem(line_of(node), std::string(what) + " must be a mapping of key: value");
  std::set<std::string> seen;
  for (const auto& pair : node) {
    const YAML::Node& key = pair.first;
    if (!key.IsScalar()) throw YamlProblem(line_of(key), std::string(what) + " has a key that is not a plain string");
    const std::string& name = key.Scalar();
    bool known = false;
    for (auto a : allowed) known = known || a == name;
    if (!known)
      throw YamlProblem(line_of(key), "unknown key '" + name + "' in " + std::string(what) + " (expected one of: " +
                                          join(allowed) + ")");
    if (!seen.insert(name).second)
      throw YamlProblem(line_of(key), "duplicate key '" + name + "' in " + std::string(what));
  }
}

std::optional<std::string> optional_string(const YAML::Node& map, const char* key) {
  const YAML::Node value = map[key];
  if (!value.IsDefined()) return std::nullopt;
  if (value.IsNull()) throw YamlProblem(line_of_value(map, key), "'" + std::string(key) + "' has no value");
  if (!value.IsScalar()) throw YamlProblem(line_of_value(map, key), "'" + std::string(key) + "' must be a string");
  return value.Scalar();
}

std::string required_string(const YAML::Node& map, const char* key, std::string_view what) {
  auto value = optional_string(map, key);
  if (!value) throw YamlProblem(line_of(map), std::string(what) + " is missing '" + key + "'");
  if (value->empty()) throw YamlProblem(line_of_value(map, key), "'" + std::string(key) + "' must not be empty");
  return *value;
}

std::optional<uint64_t> optional_unsigned(const YAML::Node& map, const char* key) {
  auto text = optional_string(map, key);
  if (!text) return std::nullopt;
  const std::string problem = "'" + std::string(key) + "' must be a non-negative integer, got '" + *text + "'";
  if (text->empty() || text->size() > 19) throw YamlProblem(line_of_value(map, key), problem);
  uint64_t value = 0;
  for (char c : *text) {
    if (c < '0' || c > '9') throw YamlProblem(line_of_value(map, key), problem);
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

YAML::Node optional_sequence(const YAML::Node& map, const char* key) {
  const YAML::Node value = map[key];
  if (!value.IsDefined() || value.IsSequence()) return value;
  throw YamlProblem(line_of_value(map, key), "'" + std::string(key) + "' must be a list");
}

}  // namespace kuzet::spec
