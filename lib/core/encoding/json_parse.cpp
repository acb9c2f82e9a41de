#include "core/encoding/json_parse.hpp"

#include <exception>
#include <vector>

namespace kuzet::core {
namespace {

using json = nlohmann::json;

// Builds the DOM itself (rather than nlohmann's callback parser, whose clean-up walks the parent on every
// closed object: quadratic on hostile input) and stops at the first limit crossed.
class BoundedSax : public nlohmann::json_sax<json> {
 public:
  BoundedSax(json& root, const JsonLimits& limits) : root_(root), limits_(limits) {}

  std::string error;

  bool null() override { return add(json(nullptr)); }
  bool boolean(bool value) override { return add(json(value)); }
  bool number_integer(number_integer_t value) override { return add(json(value)); }
  bool number_unsigned(number_unsigned_t value) override { return add(json(value)); }
  bool number_float(number_float_t value, const string_t&) override { return add(json(value)); }
  bool string(string_t& value) override { return add(json(std::move(value))); }
  bool binary(binary_t&) override { return fail("binary values are not JSON"); }

  bool start_object(std::size_t) override { return open(json::object()); }
  bool start_array(std::size_t) override { return open(json::array()); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }

  bool key(string_t& name) override {
    json& object = *stack_.back();
    if (object.contains(name)) return fail("duplicate key \"" + name.substr(0, 64) + "\"");
    key_ = std::move(name);
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    return fail(e.what());
  }

 private:
  bool fail(std::string why) {
    if (error.empty()) error = std::move(why);
    return false;
  }

  // Places a value where the document is at; returns where it now lives.
  json* place(json&& value) {
    if (stack_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    json& parent = *stack_.back();
    if (parent.is_array()) {
      parent.get_ref<json::array_t&>().push_back(std::move(value));
      return &parent.get_ref<json::array_t&>().back();
    }
    json& slot = parent.get_ref<json::object_t&>()[std::move(key_)];
    slot = std::move(value);
    return &slot;
  }

  bool count() {
    if (++values_ > limits_.max_values)
      return fail("more than " + std::to_string(limits_.max_values) + " values");
    return true;
  }

  bool add(json&& value) {
    if (!count()) return false;
    place(std::move(value));
    return true;
  }

  bool open(json&& container) {
    if (!count()) return false;
    if (stack_.size() >= limits_.max_depth)
      return fail("nested deeper than " + std::to_string(limits_.max_depth) + " levels");
    stack_.push_back(place(std::move(container)));
    return true;
  }

  bool close() {
    stack_.pop_back();
    return true;
  }

  json& root_;
  const JsonLimits& limits_;
  std::vector<json*> stack_;  // open containers; a child never moves while it is open (no sibling is added)
  std::string key_;
  size_t values_ = 0;
};

}  // namespace

ParsedJson parse_json(std::string_view text, const JsonLimits& limits) {
  ParsedJson out;
  if (text.size() > limits.max_bytes) {
    out.error = "larger than " + std::to_string(limits.max_bytes) + " bytes";
    return out;
  }
  // nlohmann's lexer takes a NUL byte for the end of the input, so `{"a":1}<NUL>anything` would parse with
  // unsigned bytes riding along; no JSON text holds a raw NUL (not even inside a string).
  if (text.find('\0') != std::string_view::npos) {
    out.error = "NUL byte at byte " + std::to_string(text.find('\0'));
    return out;
  }
  try {
    BoundedSax sax(out.value, limits);
    const bool ok = json::sax_parse(text.begin(), text.end(), &sax);
    if (!ok || !sax.error.empty()) out.error = sax.error.empty() ? "not JSON" : sax.error;
  } catch (const std::exception& e) {  // bad_alloc, or a parser exception not routed to parse_error
    out.error = e.what();
  }
  if (!out.ok()) out.value = nullptr;
  return out;
}

}  // namespace kuzet::core
