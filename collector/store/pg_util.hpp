#pragma once
// Thin libpq helpers for the PostgreSQL store (and the tests' schemas): a connection that throws
// std::runtime_error with the server's message, results that free themselves, parameters as text (bytea in
// binary). A connection is used by one thread at a time; the caller serializes.
#include <libpq-fe.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kuzet::collector::pg {

// Whether a --db value names a PostgreSQL database rather than an SQLite file.
bool is_url(std::string_view db);
// The URL with any password replaced by "***", for messages and logs.
std::string redacted(const std::string& url);

// One query parameter: text, or bytes sent in binary (bytea), or NULL.
struct Param {
  std::string value;
  bool binary = false;
  bool null = false;
  Param(std::string text) : value(std::move(text)) {}  // NOLINT: parameters read best written plainly
  Param(const char* text) : value(text) {}              // NOLINT
  Param(int64_t number) : value(std::to_string(number)) {}  // NOLINT
  static Param bytes(std::string data) {
    Param p(std::move(data));
    p.binary = true;
    return p;
  }
};

// One parameter holding a whole column of a batch, as a text-format array literal ({"a","b"}), so a batch is
// one statement (INSERT ... SELECT FROM unnest($1::text[], ...)) instead of a round trip per row.
class ArrayParam {
 public:
  void add(std::string_view text);
  void add(int64_t number);
  void add_bytes(std::string_view bytes);  // a bytea element, in hex
  bool empty() const { return first_; }
  Param param() const { return Param(text_ + "}"); }

 private:
  void separator();
  std::string text_ = "{";
  bool first_ = true;
};

class Result {
 public:
  explicit Result(PGresult* r) : r_(r) {}
  ~Result() { PQclear(r_); }
  Result(Result&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  Result& operator=(Result&&) = delete;

  int rows() const { return PQntuples(r_); }
  bool is_null(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }
  std::string text(int row, int col) const {
    return std::string(PQgetvalue(r_, row, col), static_cast<size_t>(PQgetlength(r_, row, col)));
  }
  int64_t integer(int row, int col) const;
  // A bytea column in the text result format ("\x" and hex).
  std::string bytes(int row, int col) const;
  // Rows an INSERT/UPDATE/DELETE touched.
  uint64_t affected() const;

 private:
  PGresult* r_;
};

class Connection {
 public:
  // Connects and runs the session settings (synchronous_commit=on: COMMIT returns once durable).
  explicit Connection(std::string url);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Result exec(const std::string& sql);
  Result exec(const std::string& sql, const std::vector<Param>& params);
  // Named statements, prepared on first use on this session (again after a reconnection).
  Result exec_prepared(const std::string& name, const std::string& sql, const std::vector<Param>& params);
  // Rolls back an open transaction, ignoring errors (the caller is already failing).
  void rollback_quietly();
  // Reconnects when the session was lost (server restart); prepared statements are made again.
  void reconnect_if_lost();

 private:
  void connect();
  Result checked(PGresult* r, const std::string& what);

  std::string url_;
  PGconn* conn_ = nullptr;
  std::vector<std::string> prepared_;
};

}  // namespace kuzet::collector::pg
