#pragma once
// Human-readable pages behind the API's permalinks (docs/api.md): an incident or a measurement in words, in
// English, Russian or Kazakh (i18n/pages), for a browser; the same URL answers JSON to everyone else.
// Pure functions of the answer's JSON and the facts gathered for it. Every string that came from a probe, a
// database or a URL is HTML-escaped (core::html_escape).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "collector/store/store.hpp"

namespace kuzet::collector::pages {

// True when the Accept header ranks text/html above application/json (a browser); curl's */* and API
// clients get JSON. Each type takes the q of the most specific ranges naming it (text/html, then text/*,
// then */*); q=0 refuses, a range with a malformed q is skipped; at equal q the type named by its own range
// wins over one a wildcard covers, and JSON wins a full tie. The header is untrusted: only its first
// negotiation::kScanBytes are read (the range the cap cuts through is dropped), and none of it is copied.
bool wants_html(std::string_view accept);

// en, ru or kk: `lang` when it is one of them (from ?lang=), else the one Accept-Language ranks highest
// (i18n::language_from_accept), else en. nullopt when `lang` is given and is none of them (a 400 for the caller).
std::optional<std::string> pick_language(const std::string* lang, std::string_view accept_language);

// An incident as incident_to_json (collector/timeline/api/api.hpp) writes it.
std::string incident_page(const nlohmann::json& incident, const std::string& lang);

// What the page of a measurement says beyond its envelope.
struct MeasurementFacts {
  std::string uid;
  std::string envelope;  // as stored (untrusted content: a probe wrote it)
  enum class Signature { valid, unknown_key, invalid, imported } signature = Signature::invalid;
  std::string key_id;                    // of the envelope's public key ("" when it has none)
  std::optional<uint64_t> log_index;     // its entry in the transparency log
  uint64_t checkpoint_size = 0;          // the latest signed checkpoint's tree size
};

// Checks the envelope's signature and whether its key is registered, and finds its log entry (I/O).
MeasurementFacts measurement_facts(Store& store, const std::string& uid, const std::string& envelope,
                                   uint64_t checkpoint_size);

std::string measurement_page(const MeasurementFacts& facts, const std::string& lang);

}  // namespace kuzet::collector::pages
