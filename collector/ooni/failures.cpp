#include "collector/ooni/failures.hpp"

#include "core/vocabulary/failure.hpp"

namespace kuzet::ooni {

namespace f = core::failure;

std::string to_ooni_failure(std::string_view k) {
  if (k.empty()) return "";
  if (k == f::dns_nxdomain) return "dns_nxdomain_error";
  if (k == f::dns_servfail) return "dns_servfail_error";
  if (k == f::dns_refused) return "dns_refused_error";
  if (k == f::dns_no_answer) return "dns_no_answer";
  if (k == f::dns_error) return "dns_server_misbehaving";
  if (k == f::tcp_refused) return "connection_refused";
  if (k == f::tcp_unreachable) return "host_unreachable";
  if (k == f::tcp_reset || k == f::tls_reset || k == f::http_reset) return "connection_reset";
  if (k == f::tls_eof || k == f::http_eof) return "eof_error";
  if (k == f::tls_unknown_authority) return "ssl_unknown_authority";
  if (k == f::tls_hostname_mismatch) return "ssl_invalid_hostname";
  if (k == f::tls_expired || k == f::tls_invalid_certificate) return "ssl_invalid_certificate";
  if (k == f::tls_alert || k == f::tls_error) return "ssl_failed_handshake";
  if (k.ends_with(".timeout")) return "generic_timeout_error";
  if (k == f::http_too_many_redirects || k == f::http_redirect_loop) return "http_request_failed";
  return "unknown_failure " + std::string(k);
}

bool is_ooni_verify_failure(std::string_view o) {
  return o == "ssl_unknown_authority" || o == "ssl_invalid_hostname" || o == "ssl_invalid_certificate";
}

namespace {

std::string_view by_step(Step step, std::string_view dns, std::string_view tcp, std::string_view tls,
                         std::string_view http) {
  switch (step) {
    case Step::dns: return dns;
    case Step::tcp: return tcp;
    case Step::tls: return tls;
    case Step::http: return http;
  }
  return http;
}

}  // namespace

std::string from_ooni_failure(std::string_view o, Step step) {
  if (o.empty()) return "";
  if (o == "dns_nxdomain_error" || o == "dns_name_error") return std::string(f::dns_nxdomain);
  if (o == "dns_servfail_error" || o == "dns_server_failure") return std::string(f::dns_servfail);
  if (o == "dns_refused_error") return std::string(f::dns_refused);
  if (o == "dns_no_answer") return std::string(f::dns_no_answer);
  if (o.starts_with("dns_")) return std::string(f::dns_error);
  if (o == "generic_timeout_error" || o == "deferred_timeout_error" || o == "tcp_timed_out_error" ||
      o == "task_timed_out")
    return std::string(by_step(step, f::dns_timeout, f::tcp_timeout, f::tls_timeout, f::http_timeout));
  if (o == "connection_refused" || o == "connection_refused_error")
    return std::string(by_step(step, f::dns_error, f::tcp_refused, f::tls_reset, f::http_reset));
  if (o == "connection_reset" || o == "connection_aborted" || o == "network_reset" ||
      o == "connection_lost_error")
    return std::string(by_step(step, f::dns_error, f::tcp_reset, f::tls_reset, f::http_reset));
  if (o == "host_unreachable" || o == "network_unreachable" || o == "network_down")
    return std::string(by_step(step, f::dns_error, f::tcp_unreachable, f::tls_error, f::http_error));
  if (o == "eof_error" || o == "connection_done" || o == "response_never_received")
    return std::string(by_step(step, f::dns_error, f::tcp_error, f::tls_eof, f::http_eof));
  if (o == "ssl_unknown_authority") return std::string(f::tls_unknown_authority);
  if (o == "ssl_invalid_hostname") return std::string(f::tls_hostname_mismatch);
  if (o == "ssl_invalid_certificate") return std::string(f::tls_invalid_certificate);
  if (o == "ssl_failed_handshake") return std::string(f::tls_error);
  return std::string(by_step(step, f::dns_error, f::tcp_error, f::tls_error, f::http_error));
}

}  // namespace kuzet::ooni
