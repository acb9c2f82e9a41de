#pragma once
// Reading plain structs from JSON that came from outside.
// KUZET_JSON_DEF(T, fields...): out-of-line to_json/from_json for a plain struct, for .cpp files only
// (nlohmann's DEFINE macros make them inline, invisible to other files). Missing keys take the struct's
// defaults, so older or partial documents still load. #undef KUZET_JSON_DEF after the definitions.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace kuzet::core {

template <class T>
struct is_std_vector : std::false_type {};
template <class U, class A>
struct is_std_vector<std::vector<U, A>> : std::true_type {};

// value.get<T>(), except that an integer (or a vector of them) takes only an integer it can hold. nlohmann
// static_casts a float or a wider integer instead: 1e300 into an int is undefined behaviour, and 2^32 + 7
// into a uint32_t would become 7. Refusals throw nlohmann's own exceptions, like any other type mismatch.
template <class T>
T json_get(const nlohmann::json& value) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    if (!value.is_number_integer())
      throw nlohmann::json::type_error::create(302, std::string("type must be an integer, but is ") + value.type_name(),
                                               &value);
    if (value.is_number_unsigned()) {
      const auto n = value.get<uint64_t>();
      if (std::in_range<T>(n)) return static_cast<T>(n);
    } else {
      const auto n = value.get<int64_t>();
      if (std::in_range<T>(n)) return static_cast<T>(n);
    }
    throw nlohmann::json::out_of_range::create(406, "integer " + value.dump() + " out of range", &value);
  } else if constexpr (is_std_vector<T>::value) {
    if (!value.is_array())
      throw nlohmann::json::type_error::create(302, std::string("type must be array, but is ") + value.type_name(), &value);
    T out;
    out.reserve(value.size());
    for (const auto& element : value) out.push_back(json_get<typename T::value_type>(element));
    return out;
  } else {
    return value.template get<T>();
  }
}

// object[name] read with json_get, or fallback when the key is missing (nlohmann's value() otherwise).
template <class T>
T json_value(const nlohmann::json& object, const char* name, const T& fallback) {
  if (!object.is_object()) (void)object.at(name);  // throws type_error, as value() does
  const auto it = object.find(name);
  return it == object.end() ? fallback : json_get<T>(*it);
}

}  // namespace kuzet::core

#define KUZET_JSON_DEF(T, ...)                                                               \
  void to_json(nlohmann::json& j, const T& v) {                                              \
    NLOHMANN_JSON_EXPAND(NLOHMANN_JSON_PASTE(KUZET_JSON_TO, __VA_ARGS__))                    \
  }                                                                                          \
  void from_json(const nlohmann::json& j, T& v) {                                            \
    const T d{};                                                                             \
    NLOHMANN_JSON_EXPAND(NLOHMANN_JSON_PASTE(KUZET_JSON_FROM, __VA_ARGS__))                  \
  }
#define KUZET_JSON_TO(field) j[#field] = v.field;
#define KUZET_JSON_FROM(field) v.field = ::kuzet::core::json_value(j, #field, d.field);
