#include "collector/analytics/clickhouse/clickhouse.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <stdexcept>

#include "core/crypto/crypto.hpp"
#include "core/encoding/json_parse.hpp"

namespace kuzet::collector::analytics::clickhouse {

namespace {

Endpoint parse_endpoint(std::string_view text, const std::string& what) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    throw std::invalid_argument(what + " must be HOST:PORT, not \"" + std::string(text) + "\"");
  Endpoint e;
  e.host = std::string(text.substr(0, colon));
  const std::string_view port = text.substr(colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535)
    throw std::invalid_argument(what + ": bad port \"" + std::string(port) + "\"");
  e.port = static_cast<uint16_t>(value);
  if (e.host.find_first_of("/?#@ ") != std::string::npos) throw std::invalid_argument(what + ": bad host");
  return e;
}

}  // namespace

ClickHouseUrl parse_clickhouse_url(const std::string& text) {
  if (!is_clickhouse_url(text))
    throw std::invalid_argument("--analytics must be a clickhouse://HOST:PORT/DATABASE?cluster=NAME&shard=HOST:PORT URL");
  std::string_view rest = std::string_view(text).substr(kUrlScheme.size());
  std::string_view params;
  if (const size_t q = rest.find('?'); q != std::string_view::npos) {
    params = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  ClickHouseUrl url;
  const size_t slash = rest.find('/');
  url.query = parse_endpoint(rest.substr(0, slash), "the ClickHouse server");
  if (slash != std::string_view::npos && slash + 1 < rest.size()) url.database = sql_identifier(rest.substr(slash + 1));
  while (!params.empty()) {
    const size_t amp = params.find('&');
    const std::string_view param = params.substr(0, amp);
    params = amp == std::string_view::npos ? std::string_view() : params.substr(amp + 1);
    const size_t eq = param.find('=');
    const std::string_view name = param.substr(0, eq), value = eq == std::string_view::npos ? "" : param.substr(eq + 1);
    if (name == "cluster") url.cluster = sql_identifier(value);
    else if (name == "shard") url.shards.push_back(parse_endpoint(value, "shard"));
    else throw std::invalid_argument("unknown parameter \"" + std::string(name) + "\" in the ClickHouse URL");
  }
  if (url.cluster.empty())
    throw std::invalid_argument("the ClickHouse URL needs cluster=NAME (a <remote_servers> entry of the servers)");
  if (url.shards.empty()) url.shards.push_back(url.query);
  return url;
}

std::string url_text(const ClickHouseUrl& url) {
  auto endpoint = [](const Endpoint& e) { return e.host + ":" + std::to_string(e.port); };
  std::string text = std::string(kUrlScheme) + endpoint(url.query) + "/" + url.database + "?cluster=" + url.cluster;
  for (const auto& s : url.shards) text += "&shard=" + endpoint(s);
  return text;
}

std::string sql_string(std::string_view text) {
  static const char* const kHex = "0123456789ABCDEF";
  std::string out = "'";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\\' || c == '\'') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte == 0x7f) {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string date_of(int64_t ms) {
  const int64_t day = std::clamp<int64_t>(ms / 86400000, 0, kMaxDateDays - 1);
  std::time_t t = static_cast<std::time_t>(day * 86400);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

std::string sql_identifier(std::string_view name) {
  if (name.empty() || name.size() > 64 || (name[0] >= '0' && name[0] <= '9') ||
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != std::string_view::npos)
    throw std::invalid_argument("\"" + std::string(name.substr(0, 64)) + "\" is not a ClickHouse name (letters, digits, _)");
  return std::string(name);
}

Rows parse_reply(std::string_view body, size_t max_bytes) {
  if (body.size() > max_bytes)
    throw std::runtime_error("ClickHouse reply larger than " + std::to_string(max_bytes) + " bytes");
  // A bin's row is a handful of values: the value cap follows the byte cap, depth is 3 (data, row, cell).
  auto parsed = core::parse_json(body, core::JsonLimits{max_bytes, 4, max_bytes / 2 + 16});
  if (!parsed.ok()) throw std::runtime_error("ClickHouse reply is not JSON: " + parsed.error);
  auto& j = parsed.value;
  if (!j.is_object()) throw std::runtime_error("ClickHouse reply is not a JSON object");
  auto meta = j.find("meta"), data = j.find("data");
  if (meta == j.end() || !meta->is_array() || data == j.end() || !data->is_array())
    throw std::runtime_error("ClickHouse reply without meta and data arrays");
  Rows rows;
  rows.reserve(data->size());
  for (auto& row : *data) {
    if (!row.is_array() || row.size() != meta->size())
      throw std::runtime_error("ClickHouse reply row is not an array of " + std::to_string(meta->size()) + " cells");
    rows.push_back(std::move(row));  // a reply is tens of thousands of rows: moved, not copied
  }
  return rows;
}

namespace {

// The byte a ClickHouse escape "\c" stands for; -1 for one it does not write (\x is read by the caller).
int unescaped(char c) {
  switch (c) {
    case '\\': return '\\';
    case '\'': return '\'';
    case '"': return '"';
    case 't': return '\t';
    case 'n': return '\n';
    case 'r': return '\r';
    case '0': return '\0';
    case 'b': return '\b';
    case 'f': return '\f';
    case 'a': return '\a';
    case 'v': return '\v';
    default: return -1;
  }
}

}  // namespace

Table parse_tsv(std::string_view body, size_t width, size_t max_bytes) {
  if (body.size() > max_bytes)
    throw std::runtime_error("ClickHouse reply larger than " + std::to_string(max_bytes) + " bytes");
  if (width == 0) throw std::runtime_error("ClickHouse reply: no columns asked for");
  if (!body.empty() && body.back() != '\n') throw std::runtime_error("ClickHouse reply cut short (no final newline)");
  Table t;
  t.width_ = width;
  t.cells_.reserve(body.size());
  size_t in_row = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c == '\t' || c == '\n') {
      t.ends_.push_back(t.cells_.size());
      ++in_row;
      if ((c == '\t') == (in_row == width))  // a tab after the last cell, or a newline before it
        throw std::runtime_error("ClickHouse reply row is not " + std::to_string(width) + " cells");
      if (c == '\n') in_row = 0;
    } else if (c != '\\') {
      t.cells_ += c;
    } else if (i + 1 < body.size() && body[i + 1] == 'x') {
      const int hi = i + 2 < body.size() ? core::hex_digit(body[i + 2]) : -1, lo = i + 3 < body.size() ? core::hex_digit(body[i + 3]) : -1;
      if (hi < 0 || lo < 0) throw std::runtime_error("ClickHouse reply: a bad \\x escape");
      t.cells_ += static_cast<char>(hi * 16 + lo);
      i += 3;
    } else {
      const int byte = i + 1 < body.size() ? unescaped(body[i + 1]) : -1;
      if (byte < 0) throw std::runtime_error("ClickHouse reply: an unknown escape");
      t.cells_ += static_cast<char>(byte);
      ++i;
    }
  }
  return t;
}

std::string_view Table::text(size_t row, size_t column) const {
  if (column >= width_ || row >= size()) throw std::runtime_error("ClickHouse reply: no cell " + std::to_string(column));
  const size_t at = row * width_ + column, begin = at == 0 ? 0 : ends_[at - 1];
  return std::string_view(cells_).substr(begin, ends_[at] - begin);
}

int64_t Table::integer(size_t row, size_t column) const {
  const std::string_view cell = text(row, column);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), value);
  if (cell.empty() || ec != std::errc() || end != cell.data() + cell.size())
    throw std::runtime_error("ClickHouse reply: cell " + std::to_string(column) + " is not an integer");
  return value;
}

namespace {

struct Sink {
  std::string* body;
  size_t max;
};

size_t write_capped(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t n = size * count;
  if (sink->body->size() + n > sink->max) return 0;  // over the cap: curl stops with a write error
  sink->body->append(data, n);
  return n;
}

}  // namespace

Client::Client(Endpoint endpoint, std::string database, ClientLimits limits)
    : endpoint_(std::move(endpoint)), database_(sql_identifier(database)), limits_(limits) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

Client::~Client() {
  for (void* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
}

std::string Client::post(const std::string& url_params, const std::string& body) {
  CURL* h = nullptr;
  {
    std::lock_guard lock(pool_mutex_);
    if (!idle_.empty()) {
      h = static_cast<CURL*>(idle_.back());
      idle_.pop_back();
    }
  }
  if (!h) h = curl_easy_init();
  if (!h) throw std::runtime_error("curl_easy_init failed");
  curl_easy_reset(h);
  const long timeout_ms = static_cast<long>(limits_.timeout.count());
  // The server stops a query itself a little before the transfer's own timeout.
  const std::string url = "http://" + (endpoint_.host.find(':') != std::string::npos ? "[" + endpoint_.host + "]" : endpoint_.host) +
                          ":" + std::to_string(endpoint_.port) + "/?database=" + database_ +
                          "&max_execution_time=" + std::to_string(std::max<long>(1, timeout_ms / 1000)) +
                          // An INSERT into a Distributed table returns once every shard has its rows.
                          "&insert_distributed_sync=1" + url_params;
  std::string reply;
  Sink sink{&reply, limits_.max_reply_bytes};
  char error[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_capped);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  const CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  {
    std::lock_guard lock(pool_mutex_);
    idle_.push_back(h);
  }
  const std::string where = "ClickHouse " + endpoint_.host + ":" + std::to_string(endpoint_.port);
  if (rc != CURLE_OK) {
    if (rc == CURLE_WRITE_ERROR)
      throw std::runtime_error(where + ": reply larger than " + std::to_string(limits_.max_reply_bytes) + " bytes");
    throw std::runtime_error(where + ": " + (error[0] ? error : curl_easy_strerror(rc)));
  }
  if (status != 200) {
    // The server's message ("Code: 60, e.displayText() = DB::Exception: ..."): its first line, bounded.
    std::string message = reply.substr(0, std::min(reply.find('\n'), size_t{400}));
    throw std::runtime_error(where + ": HTTP " + std::to_string(status) + ": " + message);
  }
  return reply;
}

void Client::execute(const std::string& sql) { post("", sql); }

Rows Client::select(const std::string& sql) {
  // 64-bit integers as JSON numbers, not strings (times in ms are Int64).
  return parse_reply(post("&output_format_json_quote_64bit_integers=0", sql + " FORMAT JSONCompact"),
                     limits_.max_reply_bytes);
}

Table Client::select_tsv(const std::string& sql, size_t width) {
  return parse_tsv(post("", sql + " FORMAT TabSeparated"), width, limits_.max_reply_bytes);
}

void Client::insert_json_rows(const std::string& table, const std::string& rows) {
  char* query = curl_escape(("INSERT INTO " + sql_identifier(table) + " FORMAT JSONEachRow").c_str(), 0);
  const std::string params = std::string("&query=") + query;
  curl_free(query);
  post(params, rows);
}

}  // namespace kuzet::collector::analytics::clickhouse
