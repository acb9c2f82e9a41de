#pragma once
// Runs a collector Server in-process on 127.0.0.1, port 0, for loopback tests.
#include <doctest/doctest.h>
#include <httplib.h>

#include <functional>
#include <memory>
#include <thread>

#include "collector/network/asn_db.hpp"
#include "collector/server.hpp"
#include "collector/store/store.hpp"
#include "tests/collector/support/helpers.hpp"
#include "tests/collector/support/test_db.hpp"

namespace kuzet::collector::testing {

struct RunningCollector {
  // Adds what a test serves beyond the collector's own routes (the log's, the timelines'), as
  // kuzet-collector serve does, before the server binds.
  using AddRoutes = std::function<void(Server&, Store&)>;

  TempDir dir;
  TestDb db{dir.file("collector.db")};  // SQLite, or a fresh PostgreSQL schema (KUZET_TEST_DB)
  std::unique_ptr<Store> store;
  std::unique_ptr<network::AsnDatabase> asn;
  std::unique_ptr<Server> server;
  std::thread thread;
  uint16_t port = 0;

  explicit RunningCollector(ServeOptions options = {}, std::unique_ptr<network::AsnDatabase> asn_db = nullptr,
                            const AddRoutes& add_routes = nullptr) {
    options.listen_host = "127.0.0.1";
    options.port = 0;
    options.db_path = db.location();
    store = open_store(options.db_path);
    asn = asn_db ? std::move(asn_db) : std::make_unique<network::EmptyAsnDatabase>();
    server = std::make_unique<Server>(*store, *asn, options);
    if (add_routes) add_routes(*server, *store);
    port = server->bind();
    thread = std::thread([this] { server->run(); });
    server->wait_until_running();
  }
  ~RunningCollector() {
    server->stop();
    thread.join();
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(60, 0);
    c.set_write_timeout(60, 0);
    c.set_connection_timeout(10, 0);
    return c;
  }
};

// A fresh key, registered with the collector behind `c` (the test stops if registration fails).
inline core::KeyPair registered_key(httplib::Client& c) {
  auto key = core::generate_ed25519();
  auto r = c.Post("/api/v1/probes/register", register_body(key), "application/json");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  return key;
}

}  // namespace kuzet::collector::testing
