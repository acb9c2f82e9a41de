#include "collector/log/routes.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <charconv>
#include <optional>

#include "tlog/tiles.hpp"

namespace kuzet::collector::log {

namespace {

constexpr const char* kJson = "application/json";
constexpr const char* kText = "text/plain; charset=utf-8";
constexpr const char* kBytes = "application/octet-stream";

void send_error(httplib::Response& res, int status, std::string_view error, const std::string& detail) {
  res.status = status;
  res.set_content(nlohmann::json{{"error", error}, {"detail", detail}}.dump(), kJson);
}

// A tree size or index from a query: decimal digits only, no sign, no leading zeros, fits in 63 bits.
std::optional<uint64_t> parse_size(const std::string& text) {
  if (text.empty() || text.size() > 19 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  return v;
}

nlohmann::json hashes_json(const std::vector<tlog::Hash>& hashes) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& h : hashes) out.push_back(tlog::hash_base64(h));
  return out;
}

// Errors become the API's JSON shape; storage failures are 500s.
template <typename F>
httplib::Server::Handler guarded(F fn) {
  return [fn](const httplib::Request& req, httplib::Response& res) {
    try {
      fn(req, res);
    } catch (const std::exception& e) {
      send_error(res, 500, "internal", e.what());
    }
  };
}

}  // namespace

void register_log_routes(httplib::Server& server, Store& store, Checkpointer& checkpointer) {
  server.Get("/log/checkpoint", guarded([&checkpointer](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_content(checkpointer.latest().note, kText);
  }));

  server.Get("/log/key", guarded([&checkpointer](const httplib::Request&, httplib::Response& res) {
    res.set_content(tlog::verifier_key_text(checkpointer.verifier()) + "\n", kText);
  }));

  server.Get(R"(/log/(tile/[0-9a-z./]{1,120}))", guarded([&store](const httplib::Request& req, httplib::Response& res) {
    std::string error;
    const auto tile = tlog::parse_tile_path(req.matches[1].str(), &error);
    if (!tile) return send_error(res, 400, "malformed", error);
    // Everything committed is immutable; a partial tile of any width up to what exists is a valid prefix.
    const unsigned available = tlog::tile_width_in_tree(*tile, store.log_head().size);
    if (tile->width > available)
      return send_error(res, 404, "not_found", "the log does not hold " + tlog::tile_path(*tile) + " yet");
    std::string body;
    if (tile->entries) {
      const uint64_t first = tlog::bundle_first_entry(*tile);
      body = tlog::encode_entry_bundle(store.log_entries(first, first + tile->width));
    } else {
      body = tlog::encode_hash_tile(store.log_hashes(tlog::tile_subtrees(*tile)));
    }
    if (tile->width == tlog::kTileWidth) res.set_header("Cache-Control", "public, max-age=31536000, immutable");
    res.set_content(body, kBytes);
  }));

  server.Get("/log/consistency", guarded([&store](const httplib::Request& req, httplib::Response& res) {
    if (!req.has_param("from") || !req.has_param("to"))
      return send_error(res, 400, "malformed", "from and to (tree sizes) are required");
    const auto from = parse_size(req.get_param_value("from"));
    const auto to = parse_size(req.get_param_value("to"));
    if (!from || !to) return send_error(res, 400, "malformed", "from and to must be decimal tree sizes");
    if (*from > *to) return send_error(res, 400, "malformed", "from must not exceed to");
    const uint64_t size = store.log_head().size;
    if (*to > size) return send_error(res, 400, "malformed", "to exceeds the log size " + std::to_string(size));
    StoreHashes hashes(store);
    res.set_content(nlohmann::json{{"proof", hashes_json(tlog::prove_consistency(*from, *to, hashes))}}.dump(), kJson);
  }));

  server.Get(R"(/api/v1/measurements/([A-Za-z0-9_.:\-]{1,128})/proof)",
             guarded([&store, &checkpointer](const httplib::Request& req, httplib::Response& res) {
    const std::string uid = req.matches[1];
    const auto index = store.log_index(uid);
    if (!index) return send_error(res, 404, "not_found", "no measurement " + uid + " in the log");
    const SignedCheckpoint latest = checkpointer.latest();
    if (*index >= latest.checkpoint.size) {
      const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(checkpointer.interval()).count() + 1;
      res.set_header("Retry-After", std::to_string(seconds));
      return send_error(res, 503, "not_yet_checkpointed",
                        "the measurement is logged but no signed checkpoint covers it yet");
    }
    StoreHashes hashes(store);
    const auto proof = tlog::prove_inclusion(*index, latest.checkpoint.size, hashes);
    const auto entry = store.log_entries(*index, *index + 1);
    res.set_content(nlohmann::json{{"index", *index},
                                   {"tree_size", latest.checkpoint.size},
                                   {"inclusion", hashes_json(proof)},
                                   {"checkpoint", latest.note},
                                   {"entry", entry.at(0)}}
                        .dump(),
                    kJson);
  }));
}

}  // namespace kuzet::collector::log
