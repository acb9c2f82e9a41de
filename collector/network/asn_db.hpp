#pragma once
// IP -> (ASN, AS name, country) from an iptoasn TSV or a MaxMind GeoLite2-ASN .mmdb file.
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "collector/network/address.hpp"

namespace kuzet::collector::network {

struct AsnInfo {
  uint32_t asn = 0;  // 0 = unknown
  std::string as_name;
  std::string cc;  // "" when unknown (GeoLite2-ASN carries no country)
};

class AsnDatabase {
 public:
  virtual ~AsnDatabase() = default;
  // Unknown, unrouted or unparsable addresses give asn 0.
  virtual AsnInfo lookup(const std::string& ip) const = 0;
  // The name of a network by its AS number, for the read API and dashboard; "" when the database has none.
  virtual std::string as_name(uint32_t asn) const = 0;
};

// Never knows anything: for a collector started without --asn-db.
class EmptyAsnDatabase : public AsnDatabase {
 public:
  AsnInfo lookup(const std::string&) const override { return {}; }
  std::string as_name(uint32_t) const override { return {}; }
};

// iptoasn format, one range per line: range_start \t range_end \t AS_number \t country_code \t AS_description
// (IPv4 and IPv6 mixed). Held as a vector sorted by range start; lookups are a binary search.
class TsvAsnDatabase : public AsnDatabase {
 public:
  struct Range {
    Ip128 start, end;
    uint32_t asn = 0;
    std::string cc, as_name;
  };
  // Throws std::runtime_error when the file cannot be read or a line is malformed (startup error).
  static std::unique_ptr<TsvAsnDatabase> load(const std::string& path);
  static std::unique_ptr<TsvAsnDatabase> parse(const std::string& text);  // same, from memory
  AsnInfo lookup(const std::string& ip) const override;
  std::string as_name(uint32_t asn) const override;
  size_t size() const { return ranges_.size(); }

 private:
  std::vector<Range> ranges_;
  std::unordered_map<uint32_t, std::string> names_;  // the first non-empty description of each AS
};

// Picks the format by name: *.mmdb -> libmaxminddb, anything else -> iptoasn TSV. Throws on errors.
std::unique_ptr<AsnDatabase> load_asn_database(const std::string& path);

}  // namespace kuzet::collector::network
