#include "collector/store/pg_util.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "core/crypto/crypto.hpp"

namespace kuzet::collector::pg {

bool is_url(std::string_view db) {
  return db.rfind("postgresql://", 0) == 0 || db.rfind("postgres://", 0) == 0;
}

std::string redacted(const std::string& url) {
  // scheme://user:password@host...: the password is between the first ':' after the scheme and the '@'.
  const size_t start = url.find("://");
  if (start == std::string::npos) return url;
  const size_t at = url.find('@', start + 3);
  const size_t slash = url.find('/', start + 3);
  if (at == std::string::npos || (slash != std::string::npos && slash < at)) return url;
  const size_t colon = url.find(':', start + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

void ArrayParam::separator() {
  if (!first_) text_ += ',';
  first_ = false;
}

void ArrayParam::add(std::string_view text) {
  separator();
  text_ += '"';
  for (char c : text) {
    if (c == '"' || c == '\\') text_ += '\\';
    text_ += c;
  }
  text_ += '"';
}

void ArrayParam::add(int64_t number) {
  separator();
  text_ += std::to_string(number);
}

void ArrayParam::add_bytes(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  separator();
  text_ += "\"\\\\x";  // a quote, then \\x: the literal's escape for \x, bytea's hex prefix
  for (unsigned char c : bytes) {
    text_ += kHex[c >> 4];
    text_ += kHex[c & 15];
  }
  text_ += '"';
}

int64_t Result::integer(int row, int col) const {
  const char* p = PQgetvalue(r_, row, col);
  const char* end = p + PQgetlength(r_, row, col);
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(p, end, v);
  if (ec != std::errc() || ptr != end) throw std::runtime_error(std::string("postgresql: not an integer: ") + p);
  return v;
}

std::string Result::bytes(int row, int col) const {
  const char* p = PQgetvalue(r_, row, col);
  const size_t n = static_cast<size_t>(PQgetlength(r_, row, col));
  if (n < 2 || p[0] != '\\' || p[1] != 'x' || n % 2 != 0)
    throw std::runtime_error("postgresql: bytea not in hex format");
  auto nibble = [](char c) -> int {
    const int value = core::hex_digit(c);
    if (value < 0) throw std::runtime_error("postgresql: bad hex in bytea");
    return value;
  };
  std::string out((n - 2) / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<char>((nibble(p[2 + 2 * i]) << 4) | nibble(p[3 + 2 * i]));
  return out;
}

uint64_t Result::affected() const {
  const char* p = PQcmdTuples(r_);
  return *p ? std::stoull(p) : 0;
}

Connection::Connection(std::string url) : url_(std::move(url)) { connect(); }

Connection::~Connection() { PQfinish(conn_); }

void Connection::connect() {
  PQfinish(conn_);
  prepared_.clear();
  conn_ = PQconnectdb(url_.c_str());
  if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
    std::string message = conn_ ? PQerrorMessage(conn_) : "out of memory";
    while (!message.empty() && message.back() == '\n') message.pop_back();
    PQfinish(conn_);
    conn_ = nullptr;
    throw std::runtime_error("cannot connect to " + redacted(url_) + ": " + message);
  }
  // Notices (CREATE ... IF NOT EXISTS) are not errors and not worth a line on stderr.
  PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
  exec("SET synchronous_commit = on");
}

void Connection::reconnect_if_lost() {
  if (!conn_ || PQstatus(conn_) == CONNECTION_BAD) connect();
}

Result Connection::checked(PGresult* r, const std::string& what) {
  const auto status = PQresultStatus(r);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return Result(r);
  std::string message = r ? PQresultErrorMessage(r) : PQerrorMessage(conn_);
  PQclear(r);
  while (!message.empty() && message.back() == '\n') message.pop_back();
  throw std::runtime_error("postgresql: " + what + ": " + message);
}

Result Connection::exec(const std::string& sql) {
  reconnect_if_lost();
  return checked(PQexec(conn_, sql.c_str()), sql.substr(0, 60));
}

namespace {
struct Arrays {
  std::vector<const char*> values;
  std::vector<int> lengths, formats;
  explicit Arrays(const std::vector<Param>& params) {
    for (const auto& p : params) {
      values.push_back(p.null ? nullptr : p.value.data());
      lengths.push_back(static_cast<int>(p.value.size()));
      formats.push_back(p.binary ? 1 : 0);
    }
  }
};
}  // namespace

Result Connection::exec(const std::string& sql, const std::vector<Param>& params) {
  reconnect_if_lost();
  Arrays a(params);
  return checked(PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr, a.values.data(),
                              a.lengths.data(), a.formats.data(), 0),
                 sql.substr(0, 60));
}

Result Connection::exec_prepared(const std::string& name, const std::string& sql, const std::vector<Param>& params) {
  reconnect_if_lost();
  if (std::find(prepared_.begin(), prepared_.end(), name) == prepared_.end()) {
    checked(PQprepare(conn_, name.c_str(), sql.c_str(), static_cast<int>(params.size()), nullptr), "prepare " + name);
    prepared_.push_back(name);
  }
  Arrays a(params);
  return checked(PQexecPrepared(conn_, name.c_str(), static_cast<int>(params.size()), a.values.data(),
                                a.lengths.data(), a.formats.data(), 0),
                 name);
}

void Connection::rollback_quietly() {
  if (conn_ && PQstatus(conn_) == CONNECTION_OK) PQclear(PQexec(conn_, "ROLLBACK"));
}

}  // namespace kuzet::collector::pg
