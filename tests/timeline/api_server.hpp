#pragma once
// The timeline routes over any TimelineSource on a loopback cpp-httplib server, for tests
// (tests/timeline, tests/analytics).
#include <doctest/doctest.h>
#include <httplib.h>

#include <chrono>
#include <string>
#include <thread>

#include "collector/timeline/api/api.hpp"

namespace kuzet::timeline::testing {

struct ApiServer {
  httplib::Server http;
  std::thread thread;
  int port = 0;
  ApiServer(TimelineSource& timelines, api::ApiOptions options) {
    api::register_timeline_routes(http, timelines, std::move(options));
    port = http.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    thread = std::thread([this] { http.listen_after_bind(); });
    while (!http.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ~ApiServer() {
    http.stop();
    thread.join();
  }
  httplib::Result get(const std::string& path, const httplib::Headers& headers = {}) {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(120, 0);
    return c.Get(path, headers);
  }
};

}  // namespace kuzet::timeline::testing
