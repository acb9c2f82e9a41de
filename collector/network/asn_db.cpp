#include "collector/network/asn_db.hpp"

#include <maxminddb.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <tuple>
#include <unordered_map>

namespace kuzet::collector::network {

namespace {

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> fields;
  size_t start = 0;
  while (true) {
    size_t tab = line.find('\t', start);
    fields.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
    if (tab == std::string::npos) break;
    start = tab + 1;
  }
  return fields;
}

class MmdbAsnDatabase : public AsnDatabase {
 public:
  explicit MmdbAsnDatabase(const std::string& path) {
    int status = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &db_);
    if (status != MMDB_SUCCESS)
      throw std::runtime_error("cannot open ASN database " + path + ": " + MMDB_strerror(status));
    collect_names();
  }
  ~MmdbAsnDatabase() override { MMDB_close(&db_); }

  std::string as_name(uint32_t asn) const override {
    auto it = names_.find(asn);
    return it == names_.end() ? std::string() : it->second;
  }
  MmdbAsnDatabase(const MmdbAsnDatabase&) = delete;
  MmdbAsnDatabase& operator=(const MmdbAsnDatabase&) = delete;

  AsnInfo lookup(const std::string& ip) const override {
    AsnInfo info;
    int gai_error = 0, mmdb_error = 0;
    // libmaxminddb's lookup only reads the mapped file; the const_cast is for its C signature.
    auto result = MMDB_lookup_string(const_cast<MMDB_s*>(&db_), ip.c_str(), &gai_error, &mmdb_error);
    if (gai_error != 0 || mmdb_error != MMDB_SUCCESS || !result.found_entry) return info;
    MMDB_entry_data_s data;
    if (MMDB_get_value(&result.entry, &data, "autonomous_system_number", nullptr) == MMDB_SUCCESS &&
        data.has_data && data.type == MMDB_DATA_TYPE_UINT32)
      info.asn = data.uint32;
    if (MMDB_get_value(&result.entry, &data, "autonomous_system_organization", nullptr) == MMDB_SUCCESS &&
        data.has_data && data.type == MMDB_DATA_TYPE_UTF8_STRING)
      info.as_name.assign(data.utf8_string, data.data_size);
    if (MMDB_get_value(&result.entry, &data, "country", "iso_code", nullptr) == MMDB_SUCCESS && data.has_data &&
        data.type == MMDB_DATA_TYPE_UTF8_STRING)
      info.cc.assign(data.utf8_string, data.data_size);
    if (info.asn == 0) info.as_name.clear();  // a name without an AS number names nothing (fuzz target asn_db)
    return info;
  }

 private:
  // Names by AS number for the read API: one walk over the search tree at startup (GeoLite2-ASN: ~1M nodes,
  // well under a second), each node and data record once; aliased subtrees (IPv4 in IPv6) are not revisited.
  void collect_names() {
    const uint32_t nodes = db_.metadata.node_count;
    std::vector<bool> visited(nodes, false);
    std::vector<uint32_t> stack{0};
    std::unordered_map<uint64_t, bool> data_seen;
    while (!stack.empty()) {
      const uint32_t n = stack.back();
      stack.pop_back();
      if (n >= nodes || visited[n]) continue;
      visited[n] = true;
      MMDB_search_node_s node;
      if (MMDB_read_node(&db_, n, &node) != MMDB_SUCCESS) continue;
      for (auto [record, type, entry] : {std::tuple{node.left_record, node.left_record_type, node.left_record_entry},
                                         std::tuple{node.right_record, node.right_record_type, node.right_record_entry}}) {
        if (type == MMDB_RECORD_TYPE_SEARCH_NODE) {
          stack.push_back(static_cast<uint32_t>(record));
        } else if (type == MMDB_RECORD_TYPE_DATA && data_seen.emplace(record, true).second) {
          MMDB_entry_data_s asn, name;
          if (MMDB_get_value(&entry, &asn, "autonomous_system_number", nullptr) == MMDB_SUCCESS && asn.has_data &&
              asn.type == MMDB_DATA_TYPE_UINT32 && asn.uint32 != 0 &&
              MMDB_get_value(&entry, &name, "autonomous_system_organization", nullptr) == MMDB_SUCCESS &&
              name.has_data && name.type == MMDB_DATA_TYPE_UTF8_STRING && name.data_size > 0)
            names_.emplace(asn.uint32, std::string(name.utf8_string, name.data_size));
        }
      }
    }
  }

  MMDB_s db_{};
  std::unordered_map<uint32_t, std::string> names_;
};

}  // namespace

std::unique_ptr<TsvAsnDatabase> TsvAsnDatabase::parse(const std::string& text) {
  auto db = std::unique_ptr<TsvAsnDatabase>(new TsvAsnDatabase());
  std::istringstream in(text);
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    auto f = split_tabs(line);
    auto bad = [&](const std::string& why) {
      return std::runtime_error("ASN database line " + std::to_string(line_no) + ": " + why);
    };
    if (f.size() < 3) throw bad("expected range_start, range_end, AS_number, country_code, AS_description");
    auto start = parse_ip(f[0]);
    auto end = parse_ip(f[1]);
    if (!start || !end || *end < *start) throw bad("bad address range");
    uint32_t asn = 0;
    auto [p, ec] = std::from_chars(f[2].data(), f[2].data() + f[2].size(), asn);
    if (ec != std::errc() || p != f[2].data() + f[2].size()) throw bad("bad AS number");
    if (asn == 0) continue;  // "Not routed": the same as not listed
    Range r{*start, *end, asn, f.size() > 3 ? f[3] : "", f.size() > 4 ? f[4] : ""};
    if (r.cc == "None" || r.cc == "Unknown") r.cc.clear();
    if (!r.as_name.empty()) db->names_.emplace(asn, r.as_name);
    db->ranges_.push_back(std::move(r));
  }
  std::sort(db->ranges_.begin(), db->ranges_.end(), [](const Range& a, const Range& b) { return a.start < b.start; });
  return db;
}

std::unique_ptr<TsvAsnDatabase> TsvAsnDatabase::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read ASN database " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str());
}

AsnInfo TsvAsnDatabase::lookup(const std::string& ip) const {
  auto addr = parse_ip(ip);
  if (!addr) return {};
  // The last range starting at or before addr; ranges in the file do not overlap.
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), *addr,
                             [](const Ip128& a, const Range& r) { return a < r.start; });
  if (it == ranges_.begin()) return {};
  --it;
  if (*addr > it->end) return {};
  return AsnInfo{it->asn, it->as_name, it->cc};
}

std::string TsvAsnDatabase::as_name(uint32_t asn) const {
  auto it = names_.find(asn);
  return it == names_.end() ? std::string() : it->second;
}

std::unique_ptr<AsnDatabase> load_asn_database(const std::string& path) {
  if (path.size() >= 5 && path.compare(path.size() - 5, 5, ".mmdb") == 0) return std::make_unique<MmdbAsnDatabase>(path);
  return TsvAsnDatabase::load(path);
}

}  // namespace kuzet::collector::network
