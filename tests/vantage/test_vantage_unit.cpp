// Vantage tags (keyed, daily, per /24 or /48 and ASN, never the address), the claimed-network check,
// decisive evidence, and counting independent vantage points behind an incident.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "collector/timeline/incidents.hpp"
#include "collector/vantage/vantage.hpp"
#include "tests/collector/support/helpers.hpp"

using namespace kuzet;
using namespace kuzet::collector::vantage;

namespace {
constexpr int64_t kDay = 24LL * 3600 * 1000;
constexpr int64_t kJan5 = 1641340800000;  // 2022-01-05T00:00:00Z
}  // namespace

TEST_CASE("source prefixes: /24 for IPv4 (also IPv4-mapped), /48 for IPv6, nothing for non-addresses") {
  CHECK(source_prefix("192.0.2.77") == "4:192.0.2.0/24");
  CHECK(source_prefix("::ffff:192.0.2.1") == "4:192.0.2.0/24");
  CHECK(source_prefix("2001:db8:abcd:12::1") == "6:2001:db8:abcd::/48");
  CHECK_FALSE(source_prefix("example.org").has_value());
  CHECK_FALSE(source_prefix("").has_value());
}

TEST_CASE("tags: same /24 and ASN on one day give one tag; another /24, ASN or day another") {
  VantageTagger tagger;
  const std::string a = tagger.tag("192.0.2.1", 9198, kJan5 + 1000);
  CHECK(a.size() == 16);
  CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(tagger.tag("192.0.2.200", 9198, kJan5 + 5000) == a);  // the same /24
  CHECK(tagger.tag("192.0.3.1", 9198, kJan5 + 1000) != a);
  CHECK(tagger.tag("192.0.2.1", 21299, kJan5 + 1000) != a);
  CHECK(tagger.tag("2001:db8:1:2::1", 9198, kJan5) == tagger.tag("2001:db8:1:ffff::9", 9198, kJan5));
  CHECK(tagger.tag("not an address", 9198, kJan5).empty());
  // The next UTC day has a new key: yesterday's tags cannot be linked to today's.
  CHECK(tagger.tag("192.0.2.1", 9198, kJan5 + kDay) != a);
  // Another collector process without the key file cannot compute the same tags.
  VantageTagger other;
  CHECK(other.tag("192.0.2.1", 9198, kJan5 + 1000) != a);
}

TEST_CASE("tags: the key file keeps the day's key across restarts, mode 0600, and never the address") {
  collector::testing::TempDir dir;
  const std::string file = dir.file("vantage.key");
  std::string a;
  {
    VantageTagger tagger(file);
    a = tagger.tag("198.51.100.7", 9198, kJan5 + 1000);
  }
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  CHECK(text.str().find("198.51.100") == std::string::npos);
  VantageTagger restarted(file);
  CHECK(restarted.tag("198.51.100.9", 9198, kJan5 + 60000) == a);
  const std::string next_day = restarted.tag("198.51.100.9", 9198, kJan5 + kDay);
  CHECK(next_day != a);
  VantageTagger again(file);  // the file now holds only the new day's key
  CHECK(again.tag("198.51.100.9", 9198, kJan5 + kDay + 1) == next_day);
  CHECK(again.tag("198.51.100.9", 9198, kJan5 + 1000) != a);  // yesterday's key is gone

  std::ofstream(file) << "garbage";
  CHECK_THROWS_AS(VantageTagger{file}, std::runtime_error);
}

TEST_CASE("network check: the claimed network against the source's") {
  collector::network::AsnInfo kt{9198, "JSC Kazakhtelecom", "KZ"};
  CHECK(check_network("KZ", 9198, kt) == network_check::match);
  CHECK(check_network("KZ", 21299, kt) == network_check::mismatch);
  CHECK(check_network("RU", 9198, kt) == network_check::mismatch);
  CHECK(check_network("KZ", 9198, collector::network::AsnInfo{9198, "", ""}) == network_check::match);  // mmdb: no country
  CHECK(check_network("KZ", 9198, collector::network::AsnInfo{}) == network_check::unknown);
}

TEST_CASE("decisive evidence: a known blockpage, interception root or forged packet behind an interference verdict") {
  auto ev = [](const char* key, const char* value) {
    return nlohmann::json::array({{{"key", "http.status"}, {"value", "200"}}, {{"key", key}, {"value", value}}});
  };
  CHECK(has_decisive_evidence("blocked", ev("blockpage", "kz-gov-blockpage")));
  CHECK(has_decisive_evidence("intercepted", ev("tls.known_root", "Qaznet Trust Network")));
  CHECK(has_decisive_evidence("blocked", ev("packets.rst_injection", "198.51.100.7")));
  CHECK(has_decisive_evidence("blocked", ev("packets.dns_injection", "203.0.113.9")));
  CHECK_FALSE(has_decisive_evidence("ok", ev("blockpage", "kz-gov-blockpage")));
  CHECK_FALSE(has_decisive_evidence("ok", ev("packets.rst_injection", "198.51.100.7")));
  CHECK_FALSE(has_decisive_evidence("blocked", ev("packets.rst", "198.51.100.7")));
  CHECK_FALSE(has_decisive_evidence("blocked", ev("blockpage", "")));
  CHECK_FALSE(has_decisive_evidence("blocked", ev("http.diff", "status 403 vs 200")));
  CHECK_FALSE(has_decisive_evidence("blocked", nlohmann::json::object({{"blockpage", "x"}})));
  CHECK_FALSE(has_decisive_evidence("blocked", nlohmann::json::array({"blockpage", 1, nullptr})));
}

TEST_CASE("vantage points: keys sharing a tag, or a tag shared through a key, are one") {
  using timeline::VantageSample;
  using timeline::count_vantage_points;
  CHECK(count_vantage_points({}) == 0);
  // Five keys behind one source.
  CHECK(count_vantage_points({{"k1", "t1"}, {"k2", "t1"}, {"k3", "t1"}, {"k4", "t1"}, {"k5", "t1"}}) == 1);
  // One key seen from two sources (a new day's tag, a moved phone).
  CHECK(count_vantage_points({{"k1", "t1"}, {"k1", "t2"}}) == 1);
  // Chains join: k1-t1-k2-t2-k3.
  CHECK(count_vantage_points({{"k1", "t1"}, {"k2", "t1"}, {"k2", "t2"}, {"k3", "t2"}, {"k4", "t9"}}) == 2);
  // No supporting tag: counts for nothing.
  CHECK(count_vantage_points({{"k1", ""}, {"k2", ""}}) == 0);
  CHECK(count_vantage_points({{"k1", "a"}, {"k2", "b"}, {"k3", "c"}}) == 3);
  // Keys and tags are apart: a key spelled like another sample's tag joins nothing.
  CHECK(count_vantage_points({{"x", "y"}, {"y", "x"}}) == 2);
  CHECK(count_vantage_points({{"x", "x"}}) == 1);
}

TEST_CASE("assess_independence: confirmed from min_vantage_points on, confidence scaled below it") {
  timeline::IncidentOptions o;
  timeline::Incident inc;
  inc.confidence = 0.9;
  timeline::assess_independence(inc, {{"k1", "t1", 0}, {"k2", "t1", 2}}, o);
  CHECK(inc.vantage_points == 1);
  CHECK_FALSE(inc.confirmed);
  CHECK(inc.decisive == 2);
  CHECK(inc.confidence == doctest::Approx(0.45));
  inc.confidence = 0.9;
  timeline::assess_independence(inc, {{"k1", "t1", 0}, {"k2", "t2", 0}}, o);
  CHECK(inc.confirmed);
  CHECK(inc.confidence == doctest::Approx(0.9));
  o.min_vantage_points = 3;
  timeline::assess_independence(inc, {{"k1", "t1", 0}, {"k2", "t2", 0}}, o);
  CHECK_FALSE(inc.confirmed);
  inc.confidence = 0.9;
  timeline::assess_independence(inc, {{"k1", "", 0}}, o);
  CHECK(inc.vantage_points == 0);
  CHECK(inc.confidence == 0);
}
