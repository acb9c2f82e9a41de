#pragma once
// GET /api/v1/measurements: the stored envelopes matching strict filters, paged, as JSON or CSV (docs/api.md).
#include "collector/store.hpp"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace kuzet::collector::query {

// Answers the request from the store: 200 with a page, or 400 naming the parameter it cannot apply.
void list_measurements(Store& store, const httplib::Request& req, httplib::Response& res);

}  // namespace kuzet::collector::query
