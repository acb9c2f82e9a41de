#pragma once
// GET /api/v1/measurements: the stored envelopes matching strict filters, paged, as JSON or CSV (docs/api.md),
// or in a line format another unit adds (OONI JSON Lines, collector/ooni).
#include <functional>
#include <string>
#include <vector>

#include "collector/store/store.hpp"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace kuzet::collector::query {

// A further `format=` of the listing: one line per row. The mapping lives in a unit that depends on this one
// (collector/ooni), so it is handed in rather than called. `line` throws std::exception for a row it cannot
// write; that row is left out and counted in the X-Kuzet-Skipped header.
struct LineFormat {
  std::string name;          // the format= value, e.g. "ooni-jsonl"
  std::string content_type;  // e.g. "application/x-ndjson"
  std::string filename;      // Content-Disposition's attachment name
  std::function<std::string(const ListedMeasurement&)> line;  // without the final newline
};

// A network's name by AS number (the collector's IP->ASN database) for the CSV's as_name; empty = none.
using NetworkNames = std::function<std::string(uint32_t asn)>;

// Answers the request from the store: 200 with a page, or 400 naming the parameter it cannot apply.
void list_measurements(Store& store, const httplib::Request& req, httplib::Response& res,
                       const std::vector<LineFormat>& formats = {}, const NetworkNames& network_name = {});

}  // namespace kuzet::collector::query
