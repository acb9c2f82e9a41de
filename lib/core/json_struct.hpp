#pragma once
// KUZET_JSON_DEF(T, fields...): out-of-line to_json/from_json for a plain struct, for .cpp files only
// (nlohmann's DEFINE macros make them inline, invisible to other files). Missing keys take the struct's
// defaults, so older or partial documents still load. #undef KUZET_JSON_DEF after the definitions.
#include <nlohmann/json.hpp>

#define KUZET_JSON_DEF(T, ...)                                                               \
  void to_json(nlohmann::json& j, const T& v) {                                              \
    NLOHMANN_JSON_EXPAND(NLOHMANN_JSON_PASTE(KUZET_JSON_TO, __VA_ARGS__))                    \
  }                                                                                          \
  void from_json(const nlohmann::json& j, T& v) {                                            \
    const T d{};                                                                             \
    NLOHMANN_JSON_EXPAND(NLOHMANN_JSON_PASTE(KUZET_JSON_FROM, __VA_ARGS__))                  \
  }
#define KUZET_JSON_TO(field) j[#field] = v.field;
#define KUZET_JSON_FROM(field) v.field = j.value(#field, d.field);
