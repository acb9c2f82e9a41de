#pragma once
// ClickHouse over its HTTP interface (libcurl; no client library): where the cluster is (the --analytics
// URL), how a value is written into SQL, and its replies read as untrusted input — bounded in bytes and
// time, parsed with the project's capped JSON parser or, for the large reads, as TabSeparated (no DOM)
// (docs/deployment.md, "ClickHouse").
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace kuzet::collector::analytics::clickhouse {

struct Endpoint {
  std::string host;
  uint16_t port = 0;
  bool operator==(const Endpoint&) const = default;
};

// --analytics clickhouse://HOST:PORT/DATABASE?cluster=NAME&shard=HOST:PORT&shard=HOST:PORT
// HOST:PORT is the HTTP interface queries go to; cluster is a <remote_servers> entry of the servers'
// config naming the shards; each shard= is a shard's HTTP interface, where its local tables are made
// (listed in the cluster's order). Without shard=, the query server is the only shard.
struct ClickHouseUrl {
  Endpoint query;
  std::string database = "default";
  std::string cluster;
  std::vector<Endpoint> shards;
};

inline constexpr std::string_view kUrlScheme = "clickhouse://";
inline bool is_clickhouse_url(std::string_view text) { return text.substr(0, kUrlScheme.size()) == kUrlScheme; }
// Throws std::invalid_argument naming what is wrong.
ClickHouseUrl parse_clickhouse_url(const std::string& text);

// The URL's text again (parse_clickhouse_url(url_text(u)) gives u).
std::string url_text(const ClickHouseUrl& url);

// A ClickHouse string literal: quoted, with \ and ' escaped and control bytes written as escapes, so any
// name a probe reported stays one value.
std::string sql_string(std::string_view text);
// ClickHouse's Date (YYYY-MM-DD, UTC) of a time. A Date holds 1970-01-01 .. 2105: a time outside (a probe's broken
// clock) is kept at the edge (the tables' partitions; started_at itself is stored as is).
std::string date_of(int64_t ms);
inline constexpr int64_t kMaxDateDays = 65535;
// An identifier (database, cluster, table): letters, digits and _ only; throws std::invalid_argument else.
std::string sql_identifier(std::string_view name);

// A JSONCompact reply's rows (each an array of cells). Throws std::runtime_error on anything else: too
// big, not JSON, no "data" array of arrays, a row of another width than "meta" says.
using Rows = std::vector<nlohmann::json>;
Rows parse_reply(std::string_view body, size_t max_bytes);

// A TabSeparated reply (the large reads: tens of thousands of rows, where a JSON DOM cost more than the query):
// every cell unescaped into one buffer, read by (row, column). Cells are text; integer() reads one as a number.
class Table {
 public:
  size_t width() const { return width_; }
  size_t size() const { return width_ == 0 ? 0 : ends_.size() / width_; }
  // Throws std::runtime_error for a column past the width (a broken reply, not a programming error: the
  // width is the one asked of parse_tsv).
  std::string_view text(size_t row, size_t column) const;
  int64_t integer(size_t row, size_t column) const;  // throws std::runtime_error unless a decimal int64

 private:
  friend Table parse_tsv(std::string_view body, size_t width, size_t max_bytes);
  size_t width_ = 0;
  std::string cells_;          // every cell's bytes, back to back
  std::vector<size_t> ends_;   // where each cell ends in cells_, row by row
};
// A TabSeparated reply of rows `width` cells wide: cells split on tab, rows on newline, ClickHouse's escapes
// (\\ \t \n \r \0 \b \f \a \v \' \" \xHH) undone. Throws std::runtime_error on anything else: too
// big, a row of another width, an unknown escape, no final newline.
Table parse_tsv(std::string_view body, size_t width, size_t max_bytes);

struct ClientLimits {
  size_t max_reply_bytes = 64u << 20;
  std::chrono::milliseconds timeout{30000};  // connection and transfer; also the server's max_execution_time
};

// One ClickHouse server's HTTP interface. Thread-safe (a handle per concurrent request, reused).
class Client {
 public:
  explicit Client(Endpoint endpoint, std::string database, ClientLimits limits = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const Endpoint& endpoint() const { return endpoint_; }
  // Runs a statement that answers nothing (DDL, INSERT ... SELECT). Throws std::runtime_error with the
  // server's message. Every INSERT into a Distributed table is synchronous (insert_distributed_sync).
  void execute(const std::string& sql);
  // A SELECT; " FORMAT JSONCompact" is appended. Throws std::runtime_error.
  Rows select(const std::string& sql);
  // A SELECT of `width` columns; " FORMAT TabSeparated" is appended. Throws std::runtime_error.
  Table select_tsv(const std::string& sql, size_t width);
  // INSERT INTO table FORMAT JSONEachRow with `rows` (one JSON object a line) as the body.
  void insert_json_rows(const std::string& table, const std::string& rows);

 private:
  std::string post(const std::string& url_params, const std::string& body);

  Endpoint endpoint_;
  std::string database_;
  ClientLimits limits_;
  std::mutex pool_mutex_;
  std::vector<void*> idle_;  // CURL handles
};

}  // namespace kuzet::collector::analytics::clickhouse
