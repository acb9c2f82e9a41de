#include "spec/spec.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/crypto/crypto.hpp"
#include "core/read_capped.hpp"
#include "measure/http/url.hpp"
#include "spec/categories.hpp"
#include "spec/citizenlab.hpp"
#include "spec/yaml_fields.hpp"
#include "ascii/ascii.hpp"

namespace kuzet::spec {

namespace {

std::string category_list() {
  std::string out;
  for (const auto& c : known_categories()) {
    if (!out.empty()) out += ", ";
    out += c;
  }
  return out;
}

// A checked http(s) URL; `key` names the field in the message.
void check_url(const YAML::Node& map, const char* key, const std::string& url) {
  std::string why;
  if (!measure::http::parse_url(url, &why))
    throw YamlProblem(line_of_value(map, key),
                      "'" + std::string(key) + "' is not an absolute http(s) URL: '" + url + "' (" + why + ")");
}

bool is_hex(const std::string& s) {
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

Target parse_target(const YAML::Node& node) {
  check_mapping(node, {"url", "category", "name", "throughput_url"}, "target");
  Target t;
  t.url = required_string(node, "url", "target");
  check_url(node, "url", t.url);
  if (!node["category"].IsDefined())
    throw YamlProblem(line_of(node), "target '" + t.url + "' is missing 'category' (expected one of: " +
                                         category_list() + ")");
  t.category = normalize_category(required_string(node, "category", "target"));
  if (const auto bad = category_problem(t.category); !bad.empty())
    throw YamlProblem(line_of_value(node, "category"), bad + " (Kuzet's names: " + category_list() + ")");
  t.name = optional_string(node, "name").value_or("");
  t.throughput_url = optional_string(node, "throughput_url").value_or("");
  if (!t.throughput_url.empty()) check_url(node, "throughput_url", t.throughput_url);
  return t;
}

InterceptionRoot parse_root(const YAML::Node& node) {
  check_mapping(node, {"name", "sha256", "spki_sha256"}, "interception root");
  InterceptionRoot r;
  r.name = required_string(node, "name", "interception root");
  std::string digest = required_string(node, "sha256", "interception root");
  std::string hex;
  for (char c : digest)
    if (c != ':') hex += c;  // accept the colon form that `openssl x509 -fingerprint` prints
  if (hex.size() != 64 || !is_hex(hex))
    throw YamlProblem(line_of_value(node, "sha256"),
                      "'sha256' must be 64 hex characters (SHA-256 of the DER certificate), got '" + digest + "'");
  r.sha256 = ascii::lower(hex);
  r.spki_sha256 = optional_string(node, "spki_sha256").value_or("");
  if (!r.spki_sha256.empty()) {
    auto raw = core::base64_decode(r.spki_sha256);
    if (!raw || raw->size() != 32)
      throw YamlProblem(line_of_value(node, "spki_sha256"),
                        "'spki_sha256' must be the base64 of a SHA-256 digest (44 characters), got '" +
                            r.spki_sha256 + "'");
  }
  return r;
}

BlockpageFingerprint parse_blockpage(const YAML::Node& node) {
  check_mapping(node, {"name", "body_contains", "title_contains", "header_name", "header_contains", "address"},
                "blockpage");
  BlockpageFingerprint b;
  b.name = required_string(node, "name", "blockpage");
  b.body_contains = optional_string(node, "body_contains").value_or("");
  b.title_contains = optional_string(node, "title_contains").value_or("");
  b.header_name = optional_string(node, "header_name").value_or("");
  b.header_contains = optional_string(node, "header_contains").value_or("");
  b.address = optional_string(node, "address").value_or("");
  if (b.body_contains.empty() && b.title_contains.empty() && b.header_name.empty() && b.address.empty())
    throw YamlProblem(line_of(node), "blockpage '" + b.name +
                                         "' needs at least one matcher (body_contains, title_contains, "
                                         "header_name, address)");
  if (!b.header_contains.empty() && b.header_name.empty())
    throw YamlProblem(line_of_value(node, "header_contains"), "'header_contains' needs 'header_name'");
  if (!b.address.empty() && !measure::http::is_ip_literal(b.address))
    throw YamlProblem(line_of_value(node, "address"), "'address' must be an IP address, got '" + b.address + "'");
  return b;
}

Spec parse_document(const std::string& text, const std::string& source) {
  const YAML::Node root = load_yaml_document(text);
  if (!root.IsDefined() || root.IsNull()) throw YamlProblem(1, "empty spec (expected a 'targets' list)");
  check_mapping(root, {"name", "targets", "interception_roots", "blockpages"}, "spec");

  Spec spec;
  spec.source = source;
  spec.name = optional_string(root, "name").value_or("");

  if (!root["targets"].IsDefined()) throw YamlProblem(line_of(root), "missing 'targets' list");
  const YAML::Node targets = optional_sequence(root, "targets");
  if (targets.size() == 0) throw YamlProblem(line_of_value(root, "targets"), "empty target list");
  std::map<std::string, int> first_line_of_url;
  for (const auto& node : targets) {
    Target t = parse_target(node);
    auto [it, inserted] = first_line_of_url.emplace(url_key(t.url), line_of(node));
    if (!inserted)
      throw YamlProblem(line_of_value(node, "url"),
                        "duplicate url '" + t.url + "' (first at line " + std::to_string(it->second) + ")");
    spec.targets.push_back(std::move(t));
  }

  std::map<std::string, int> first_line_of_root;
  for (const auto& node : optional_sequence(root, "interception_roots")) {
    InterceptionRoot r = parse_root(node);
    auto [it, inserted] = first_line_of_root.emplace(r.sha256, line_of(node));
    if (!inserted)
      throw YamlProblem(line_of_value(node, "sha256"),
                        "duplicate interception root sha256 (first at line " + std::to_string(it->second) + ")");
    spec.interception_roots.push_back(std::move(r));
  }

  for (const auto& node : optional_sequence(root, "blockpages")) spec.blockpages.push_back(parse_blockpage(node));
  return spec;
}

constexpr size_t kMaxSpecFileBytes = 8 * 1024 * 1024;  // a bigger spec file is refused unread

bool is_csv_path(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  return ascii::equals_ignoring_case(ext, ".csv");
}

}  // namespace

std::string url_key(const std::string& url) {
  auto parsed = measure::http::parse_url(url);
  if (!parsed) return url;
  return parsed->scheme + "://" + parsed->host + ":" + std::to_string(parsed->port) + parsed->path;
}

Spec parse_spec(const std::string& yaml_text, const std::string& source_name) {
  try {
    return parse_document(yaml_text, source_name);
  } catch (const YamlProblem& p) {
    throw SpecError(source_name + ":" + std::to_string(p.line()) + ": " + p.what());
  } catch (const YAML::Exception& e) {
    // Our checks should leave nothing for yaml-cpp to object to; if it still does, it is a broken spec.
    throw SpecError(source_name + ":" + std::to_string(line_of(e.mark)) + ": " + e.msg);
  }
}

Spec load_spec_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw SpecError(path + ": cannot read: is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SpecError(path + ": cannot read: " + std::strerror(errno));
  // Read one byte more than any parser accepts: a bigger file is refused without being held in memory.
  std::string text;
  if (!core::read_capped(in, kMaxSpecFileBytes, text)) throw SpecError(path + ": cannot read: " + std::strerror(errno));
  if (text.size() > kMaxSpecFileBytes)
    throw SpecError(path + ": file larger than " + std::to_string(kMaxSpecFileBytes) + " bytes");
  if (is_csv_path(path)) return parse_citizenlab_csv(text, path);
  return parse_spec(text, path);
}

Spec merge_specs(const std::vector<Spec>& specs) {
  Spec merged;
  std::set<std::string> urls;
  std::set<std::string> roots;
  for (const auto& spec : specs) {
    if (!spec.source.empty()) merged.source += (merged.source.empty() ? "" : ",") + spec.source;
    if (!spec.name.empty()) merged.name += (merged.name.empty() ? "" : " + ") + spec.name;
    for (const auto& t : spec.targets)
      if (urls.insert(url_key(t.url)).second) merged.targets.push_back(t);
    for (const auto& r : spec.interception_roots)
      if (roots.insert(r.sha256).second) merged.interception_roots.push_back(r);
    merged.blockpages.insert(merged.blockpages.end(), spec.blockpages.begin(), spec.blockpages.end());
  }
  return merged;
}

}  // namespace kuzet::spec
