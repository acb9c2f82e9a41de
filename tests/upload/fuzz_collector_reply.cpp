// Fuzzes the probe's reading of a hostile collector's replies, through the real client (probe/collector_client.cpp
// over libcurl) and the control-result parsing of probe/collector_link.cpp. A loopback server in this process
// answers every request with the input: first byte -> HTTP status, the rest -> the JSON body. Each input is
// the answer to whoami, key registration, an upload of two envelopes and a control request; whatever it is,
// the probe believes only replies of the protocol's shape (docs/protocol.md).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#include "core/crypto.hpp"
#include "probe/collector_client.hpp"
#include "probe/collector_link.hpp"

namespace {

class ReplyServer {
 public:
  ReplyServer() {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener_, 16) != 0 || ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0)
      std::abort();
    port_ = ntohs(address.sin_port);
    std::thread([this] { serve(); }).detach();  // lives as long as the process
  }
  int port() const { return port_; }
  void set_reply(std::string reply) {
    std::lock_guard lock(mutex_);
    reply_ = std::move(reply);
  }

 private:
  void serve() {
    for (;;) {
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      read_request(fd);
      std::string reply;
      {
        std::lock_guard lock(mutex_);
        reply = reply_;
      }
      for (size_t done = 0; done < reply.size();) {
        const ssize_t n = ::send(fd, reply.data() + done, reply.size() - done, MSG_NOSIGNAL);
        if (n <= 0) break;
        done += static_cast<size_t>(n);
      }
      ::shutdown(fd, SHUT_WR);
      ::close(fd);
    }
  }
  // Reads the head and the Content-Length bytes of body: closing with unread bytes would reset the connection.
  static void read_request(int fd) {
    std::string request;
    char buffer[65536];
    size_t head_end = std::string::npos, body_length = 0;
    for (;;) {
      if (head_end != std::string::npos && request.size() >= head_end + 4 + body_length) return;
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) return;
      request.append(buffer, static_cast<size_t>(n));
      if (head_end == std::string::npos && (head_end = request.find("\r\n\r\n")) != std::string::npos) {
        for (const char* name : {"Content-Length: ", "content-length: "})
          if (auto at = request.find(name); at != std::string::npos && at < head_end)
            body_length = std::strtoul(request.c_str() + at + std::char_traits<char>::length(name), nullptr, 10);
      }
    }
  }
  int listener_ = -1;
  int port_ = 0;
  std::mutex mutex_;
  std::string reply_;
};

constexpr int kStatuses[] = {200, 207, 400, 401, 413, 429, 500, 503};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kuzet;
  static ReplyServer server;
  static const auto key = core::ed25519_from_seed(std::string(32, 'k'));
  if (size == 0) return 0;
  const int status = kStatuses[data[0] % std::size(kStatuses)];
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  server.set_reply("HTTP/1.1 " + std::to_string(status) + " Fuzz\r\nContent-Type: application/json\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);

  probe::CollectorClientOptions options;
  options.timeout_ms = 5000;
  const probe::CollectorClient client("http://127.0.0.1:" + std::to_string(server.port()), options);

  const auto who = client.whoami();
  if (who.ok && (status != 200 || (!who.cc.empty() && who.cc.size() != 2) || who.as_name.size() > 512)) __builtin_trap();

  const auto reg = client.register_key(key);
  if (reg.ok && (status != 200 || reg.key_id != core::key_id(key.public_key) ||
                 (reg.status != "registered" && reg.status != "known")))
    __builtin_trap();

  const std::vector<nlohmann::json> envelopes{{{"measurement", {{"measurement_uid", "a"}}}},
                                              {{"measurement", {{"measurement_uid", "b"}}}}};
  const auto upload = client.upload(envelopes);
  if (upload.items.size() != 2) __builtin_trap();
  for (const auto& item : upload.items) {
    if (item.status != "stored" && item.status != "duplicate" && item.status != "rejected" && item.status != "failed")
      __builtin_trap();
    if (item.status == "failed" && upload.failure.empty()) __builtin_trap();  // never dropped without a reason
  }
  if (upload.items[0].status != "failed" && upload.items[0].measurement_uid != "a") __builtin_trap();

  const nlohmann::json request{{"deadline_ms", 1000}, {"targets", {{{"url", "https://a.example/"}}, {{"url", "https://b.example/"}}}}};
  const auto control = client.control(request, key);
  if (control.ok) {
    if (!control.response.is_object()) __builtin_trap();
    if (auto results = probe::control_results_from(control.response, 2); results && results->size() != 2)
      __builtin_trap();
  }
  return 0;
}
