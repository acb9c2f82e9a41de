// PLACEHOLDER until the HTTP step lands (issue 2).
#include "measure/http.hpp"
#include "core/failure.hpp"
namespace kuzet::measure {
HttpObservation http_get(const std::string& url, const std::string&, const HttpOptions&, const HostResolver&) {
  HttpObservation h; h.url = url; h.failure = core::failure::http_error; return h;
}
std::string extract_title(const std::string&) { return {}; }
}  // namespace kuzet::measure
