#pragma once
// The collector's HTTP API (docs/protocol.md) over cpp-httplib.
#include <functional>
#include <memory>
#include <string>

#include "collector/network/asn_db.hpp"
#include "collector/ingest/ingest.hpp"
#include "collector/metrics.hpp"
#include "collector/options.hpp"
#include "collector/query/list_measurements.hpp"
#include "collector/store/store.hpp"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace kuzet::collector {

class Server {
 public:
  // Throws std::runtime_error on startup errors (bad --ca-bundle).
  Server(Store& store, const network::AsnDatabase& asn, const ServeOptions& options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds options.listen_host:options.port (0 = any free port); returns the port. Throws on failure.
  uint16_t bind();
  // Serves until stop(). Call after bind().
  void run();
  void stop();
  // Blocks until the listener accepts connections (for tests that run() on another thread).
  void wait_until_running();

  Metrics& metrics();
  // The underlying cpp-httplib server, for other units to add their routes before run()
  // (e.g. timeline::register_timeline_routes).
  httplib::Server& http_server();
  // A further format= of GET /api/v1/measurements (e.g. ooni::jsonl_list_format()); before run().
  void add_list_format(query::LineFormat format);
  // The page in words of one measurement, for a browser asking GET /api/v1/measurements/{uid} with
  // Accept: text/html (collector/pages, which depends on this unit, so it is handed in); before run().
  // Called with the stored envelope; true when it answered (a browser), false to answer JSON.
  using MeasurementPage = std::function<bool(const httplib::Request&, const std::string& uid,
                                             const std::string& envelope, httplib::Response&)>;
  void set_measurement_page(MeasurementPage page);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kuzet::collector
