// The pages behind permalinks (collector/pages) and the Atom feed of incident events (collector/feeds):
// pure functions of the API's JSON. Content negotiation, language choice, what the pages say in three
// languages, and hostile strings escaped everywhere.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "collector/feeds/atom.hpp"
#include "collector/pages/pages.hpp"
#include "core/crypto/crypto.hpp"
#include "core/crypto/signing.hpp"
#include "envelope/envelope.hpp"
#include "negotiation/negotiation.hpp"
#include "i18n/embedded_pages.hpp"
#include "i18n/i18n.hpp"

using namespace kuzet::collector;

namespace {

const std::string kEvil = "<script>alert(1)</script>\"'&";
const std::string kEvilEscaped = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;";

nlohmann::json incident(const std::string& target = "web.whatsapp.com", const std::string& as_name = "JSC Kazakhtelecom") {
  return {{"id", "KZ.9198.blocked.20220104T1430Z." + target},
          {"source", "all"},
          {"kind", "blocked"},
          {"cc", "KZ"},
          {"asn", 9198},
          {"as_name", as_name},
          {"target", target},
          {"category", "messaging"},
          {"methods", {"tls.timeout", "dns.nxdomain"}},
          {"start", "2022-01-04T14:30:00Z"},
          {"end", "2022-01-06T02:30:00Z"},
          {"ongoing", false},
          {"confidence", 0.93},
          {"probes", 8},
          {"bins", 200},
          {"severity", 0},
          {"confirmed", true},
          {"vantage_points", 5},
          {"decisive_measurements", 40},
          {"permalink", "/api/v1/incidents/KZ.9198.blocked.20220104T1430Z." + target},
          {"measurements", "/api/v1/measurements?cc=KZ&asn=9198&target=" + target}};
}

}  // namespace

TEST_CASE("content negotiation: browsers get the page, API clients JSON") {
  using pages::wants_html;
  CHECK(wants_html("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"));
  CHECK(wants_html("text/html"));
  CHECK_FALSE(wants_html("*/*"));  // curl
  CHECK_FALSE(wants_html(""));
  CHECK_FALSE(wants_html("application/json"));
  CHECK_FALSE(wants_html("application/json, text/html;q=0.5"));
  CHECK_FALSE(wants_html("text/html;q=0"));
  CHECK(wants_html("application/json;q=0.5, text/html"));
}

TEST_CASE("content negotiation: q-values order the two types, most specific range first") {
  using pages::wants_html;
  // q ordering, whichever comes first in the header.
  CHECK(wants_html("application/json;q=0.4, text/html;q=0.5"));
  CHECK_FALSE(wants_html("text/html;q=0.5, application/json;q=0.6"));
  CHECK(wants_html("text/html;q=0.501, application/json;q=0.5"));
  CHECK_FALSE(wants_html("text/html;q=0.5, application/json;q=0.5"));  // a full tie: JSON, the default
  CHECK(wants_html("TEXT/HTML;Q=0.9, Application/JSON;q=0.8"));        // names and q in any case
  CHECK(wants_html(" text/html ; level=1 ; q=0.9 ,\tapplication/json ; q=0.2"));  // other parameters, blanks
  // The most specific range naming a type gives its q, even when a wildcard gives more.
  CHECK_FALSE(wants_html("text/html;q=0.1, text/*;q=1, application/json;q=0.5"));
  CHECK(wants_html("text/*;q=0.9, */*;q=0.1"));
  CHECK(wants_html("application/*;q=0.2, text/*;q=0.3"));
  CHECK(wants_html("application/json;q=0.2, */*;q=0.3"));  // */* gives HTML 0.3, more than JSON's own 0.2
  // Among equally specific ranges the highest q counts (as for Accept-Language).
  CHECK(wants_html("text/html;q=0.1, application/json;q=0.5, text/html;q=0.9"));
}

TEST_CASE("content negotiation: q=0 refuses, a malformed q is skipped") {
  using pages::wants_html;
  CHECK_FALSE(wants_html("text/html;q=0, */*"));
  CHECK_FALSE(wants_html("text/html;q=0.000, application/json;q=0.001"));
  CHECK_FALSE(wants_html("text/html;q=0, text/*"));  // the more specific refusal stands
  CHECK_FALSE(wants_html("text/*;q=0"));
  CHECK(wants_html("application/json;q=0, text/html;q=0.1"));
  CHECK(wants_html("application/json;q=0, */*"));  // JSON refused, anything else welcome
  // Malformed q-values (RFC 9110: 0 to 1, at most three decimals) drop their range.
  CHECK_FALSE(wants_html("text/html;q=2"));
  CHECK_FALSE(wants_html("text/html;q=1e309"));
  CHECK_FALSE(wants_html("text/html;q=-1"));
  CHECK_FALSE(wants_html("text/html;q=0.1234"));
  CHECK_FALSE(wants_html("text/html;q=.5"));
  CHECK_FALSE(wants_html("text/html;q="));
  CHECK(wants_html("text/html;q=nan, text/html;q=0.7, application/json;q=0.6"));
}

TEST_CASE("content negotiation: wildcards alone mean the API's default, JSON") {
  using pages::wants_html;
  CHECK_FALSE(wants_html("*/*"));
  CHECK_FALSE(wants_html("*/*;q=0.5"));
  CHECK(wants_html("text/*"));
  CHECK_FALSE(wants_html("application/*"));
  CHECK_FALSE(wants_html("*/html"));  // not a media range
  CHECK_FALSE(wants_html("*"));
  CHECK(wants_html("text/html, */*"));  // the type named outranks the wildcard of the same q
  CHECK_FALSE(wants_html("application/json, */*"));
  CHECK_FALSE(wants_html("image/png, image/*"));
  CHECK_FALSE(wants_html(",,, ;q=1, ;;;"));
}

TEST_CASE("content negotiation: a hostile Accept header is read only up to the cap") {
  using pages::wants_html;
  const size_t cap = kuzet::negotiation::kScanBytes;
  // 100 KB of other ranges, then text/html: beyond the cap, not seen; before them, read.
  std::string hostile;
  while (hostile.size() < 100 * 1024) hostile += "image/png;q=0.5, ";
  CHECK_FALSE(wants_html(hostile + "text/html"));
  CHECK(wants_html("text/html, " + hostile));
  CHECK_FALSE(wants_html("application/json, " + hostile + "text/html;q=1"));
  CHECK_FALSE(wants_html(std::string(100 * 1024, ',')));
  CHECK_FALSE(wants_html(std::string(100 * 1024, ';')));
  CHECK_FALSE(wants_html(std::string(100 * 1024, 't')));
  CHECK(wants_html("text/html;q=0.5, " + std::string(100 * 1024, ' ') + ", application/json"));
  // A range the cap cuts through is dropped, not read as a shorter one: "text/htmlx" cut to "text/html" is
  // not HTML.
  const std::string cut = "application/json;q=0.5," + std::string(cap - 32, ' ') + "text/htmlx";
  REQUIRE(cut.size() == cap + 1);
  CHECK_FALSE(wants_html(cut));
  CHECK(wants_html(cut.substr(0, cap)));                  // within the cap: read
  CHECK(wants_html(cut.substr(0, cap) + ", image/png"));   // ends at the cap: read
  CHECK_FALSE(wants_html(cut.substr(0, cap) + ";q=0.1"));  // its q cut off: dropped, not read as q=1
  CHECK_FALSE(wants_html(std::string(cap - 5, ' ') + "text/html"));  // one range, cut: nothing left
}

TEST_CASE("language: lang= first, then Accept-Language, then English; an unknown lang= is refused") {
  using pages::pick_language;
  const std::string ru = "ru", fr = "fr";
  CHECK(pick_language(&ru, "kk") == "ru");
  CHECK_FALSE(pick_language(&fr, "ru").has_value());
  CHECK(pick_language(nullptr, "kk-KZ,kk;q=0.9,ru;q=0.8") == "kk");
  CHECK(pick_language(nullptr, "de-DE, ru-RU;q=0.7") == "ru");
  CHECK(pick_language(nullptr, "de, fr") == "en");
  CHECK(pick_language(nullptr, "") == "en");
  CHECK(pick_language(nullptr, "ru;q=0, kk") == "kk");
  CHECK(pick_language(nullptr, "ru;q=0.5, kk;q=0.8") == "kk");  // q-values, not the order given
  CHECK(pick_language(nullptr, std::string(100 * 1024, ' ') + "ru") == "en");  // read up to a cap only
}

TEST_CASE("incident page: what, when, how, how sure, in words, in three languages") {
  const auto j = incident();
  const std::string en = pages::incident_page(j, "en");
  CHECK(en.find("<html lang=\"en\">") != std::string::npos);
  CHECK(en.find("web.whatsapp.com blocked on AS9198 (JSC Kazakhtelecom), KZ") != std::string::npos);
  CHECK(en.find("From 2022-01-04 14:30 to 2022-01-06 02:30 UTC (36.0 h).") != std::string::npos);
  CHECK(en.find("How it was done: tls.timeout, dns.nxdomain.") != std::string::npos);
  CHECK(en.find("Confirmed: 5 independent vantage points support it.") != std::string::npos);
  CHECK(en.find("href=\"/api/v1/incidents/KZ.9198.blocked.20220104T1430Z.web.whatsapp.com.json\"") != std::string::npos);
  CHECK(en.find("href=\"/api/v1/measurements?cc=KZ&amp;asn=9198&amp;target=web.whatsapp.com\"") != std::string::npos);
  const std::string ru = pages::incident_page(j, "ru");
  CHECK(ru.find("<html lang=\"ru\">") != std::string::npos);
  CHECK(ru.find("Подтверждено: это подтверждают 5 независимых точек наблюдения.") != std::string::npos);
  const std::string kk = pages::incident_page(j, "kk");
  CHECK(kk.find("Расталды: оны 5 тәуелсіз бақылау нүктесі растайды.") != std::string::npos);

  auto open = j;
  open["end"] = nullptr;
  open["ongoing"] = true;
  open["confirmed"] = false;
  open["vantage_points"] = 1;
  const std::string o = pages::incident_page(open, "en");
  CHECK(o.find("Since 2022-01-04 14:30 UTC, and still going on at the end of the data.") != std::string::npos);
  CHECK(o.find("Not confirmed: only 1 independent vantage points support it") != std::string::npos);

  auto shutdown = j;
  shutdown["kind"] = "shutdown";
  shutdown["target"] = "*";
  shutdown["methods"] = nlohmann::json::array();
  const std::string s = pages::incident_page(shutdown, "en");
  CHECK(s.find("Shutdown of AS9198 (JSC Kazakhtelecom), KZ") != std::string::npos);
  CHECK(s.find("No blocking method: a network that is shut down reports nothing.") != std::string::npos);
}

TEST_CASE("incident page: names from uploads and the ASN database are escaped, never markup") {
  auto j = incident(kEvil, kEvil);
  j["methods"] = {kEvil};
  j["category"] = kEvil;
  j["requested_id"] = kEvil;
  for (const char* lang : {"en", "ru", "kk"}) {
    const std::string page = pages::incident_page(j, lang);
    CHECK(page.find("<script>") == std::string::npos);
    CHECK(page.find("alert(1)</") == std::string::npos);
    CHECK(page.find(kEvilEscaped) != std::string::npos);
  }
}

TEST_CASE("measurement page: what was seen, signature and log status, synthetic data named") {
  auto key = kuzet::core::generate_ed25519();
  nlohmann::json m = {{"measurement_uid", "20220104T150000Z_abc"},
                      {"started_at", "2022-01-04T15:00:00.000Z"},
                      {"target", "web.whatsapp.com"},
                      {"verdict", "blocked"},
                      {"method", "tls.timeout"},
                      {"explanation", kEvil},
                      {"spec", "replay/kz-2022-01"},
                      {"software", {{"name", "kuzet-replay-gen"}, {"version", "1"}}},
                      {"network", {{"cc", "KZ"}, {"asn", 9198}, {"as_name", kEvil}}}};
  pages::MeasurementFacts f;
  f.uid = "20220104T150000Z_abc";
  f.envelope = kuzet::envelope::sign(m, key).dump();
  f.signature = pages::MeasurementFacts::Signature::valid;
  f.key_id = kuzet::core::key_id(key.public_key);
  f.log_index = 7;
  f.checkpoint_size = 10;
  const std::string page = pages::measurement_page(f, "en");
  CHECK(page.find("a probe on AS9198 (" + kEvilEscaped + ") in KZ measured web.whatsapp.com: blocked (tls.timeout).") !=
        std::string::npos);
  CHECK(page.find("Valid: signed by probe key " + f.key_id) != std::string::npos);
  CHECK(page.find("Entry 7 of the log, covered by the signed checkpoint of size 10.") != std::string::npos);
  CHECK(page.find("href=\"/api/v1/measurements/20220104T150000Z_abc/proof\"") != std::string::npos);
  CHECK(page.find("Synthetic data (replay): generated by kuzet-replay-gen") != std::string::npos);
  CHECK(page.find("<script>") == std::string::npos);
  f.log_index = 12;
  CHECK(pages::measurement_page(f, "en").find("the next signed checkpoint will cover it") != std::string::npos);
  f.log_index.reset();
  f.signature = pages::MeasurementFacts::Signature::invalid;
  const std::string bad = pages::measurement_page(f, "ru");
  CHECK(bad.find("Подпись не сходится") != std::string::npos);
  CHECK(bad.find("Нет в журнале прозрачности.") != std::string::npos);
}

TEST_CASE("measurement page: says whether decisive local evidence confirms the verdict, escaped") {
  auto key = kuzet::core::generate_ed25519();
  nlohmann::json m = {{"measurement_uid", "20220104T150000Z_def"}, {"started_at", "2022-01-04T15:00:00.000Z"},
                      {"target", "web.whatsapp.com"}, {"verdict", "blocked"}, {"method", "http.blockpage"},
                      {"evidence", {{{"key", "http.status"}, {"value", "200"}}, {{"key", "blockpage"}, {"value", kEvil}}}},
                      {"network", {{"cc", "KZ"}, {"asn", 9198}}}};
  pages::MeasurementFacts f;
  f.uid = "20220104T150000Z_def";
  f.envelope = kuzet::envelope::sign(m, key).dump();
  const std::string page = pages::measurement_page(f, "en");
  CHECK(page.find("Confirmed by decisive evidence in the measurement itself: blockpage: " + kEvilEscaped) !=
        std::string::npos);
  CHECK(page.find("<script>") == std::string::npos);
  m["evidence"] = {{{"key", "http.status"}, {"value", "403"}}};
  f.envelope = kuzet::envelope::sign(m, key).dump();
  CHECK(pages::measurement_page(f, "kk").find("Өлшемнің өзімен расталмады") != std::string::npos);
  m["verdict"] = "ok";
  m["method"] = "";
  f.envelope = kuzet::envelope::sign(m, key).dump();
  const std::string ok = pages::measurement_page(f, "en");
  CHECK(ok.find("class=\"confirmed") == std::string::npos);  // nothing to confirm
}

TEST_CASE("Atom feed: opened, confirmed and ended events, newest first, escaped") {
  auto ended = incident();
  auto open = incident("signal.org");
  open["id"] = "KZ.9198.blocked.20220105T0000Z.signal.org";
  open["start"] = "2022-01-05T00:00:00Z";
  open["end"] = nullptr;
  open["confirmed"] = false;
  auto events = feeds::incident_events({ended, open});
  REQUIRE(events.size() == 4);  // ended: opened, confirmed, ended; open and unconfirmed: opened
  CHECK(events[0].event == "ended");
  CHECK(events[0].time == "2022-01-06T02:30:00Z");
  CHECK(events[1].event == "opened");
  CHECK(events[1].time == "2022-01-05T00:00:00Z");
  CHECK(events[2].event == "confirmed");
  CHECK(events[3].event == "opened");
  const std::string atom = feeds::incidents_atom(events, {"/api/v1/feeds/incidents.atom?cc=KZ", "Kuzet incidents KZ", ""});
  CHECK(atom.find("<feed xmlns=\"http://www.w3.org/2005/Atom\">") != std::string::npos);
  CHECK(atom.find("<updated>2022-01-06T02:30:00Z</updated>") != std::string::npos);
  CHECK(atom.find("<id>urn:kuzet:incident:KZ.9198.blocked.20220104T1430Z.web.whatsapp.com:ended</id>") !=
        std::string::npos);
  CHECK(atom.find("<title>Ended: web.whatsapp.com blocked on AS9198 (JSC Kazakhtelecom), KZ</title>") !=
        std::string::npos);
  CHECK(atom.find("Methods: tls.timeout, dns.nxdomain.") != std::string::npos);

  auto evil = incident(kEvil + "\x01", kEvil);
  const std::string bad = feeds::incidents_atom(feeds::incident_events({evil}), {"/x?a=<b>", kEvil, ""});
  CHECK(bad.find("<script>") == std::string::npos);
  CHECK(bad.find('\x01') == std::string::npos);
  CHECK(bad.find("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&apos;&amp;") != std::string::npos);
}

TEST_CASE("i18n/pages: Russian and Kazakh have every English key, translated") {
  const auto en = kuzet::i18n::Catalog::embedded(kuzet::i18n::embedded::pages, "en");
  for (const char* lang : {"ru", "kk"}) {
    const auto other = kuzet::i18n::Catalog::parse(kuzet::i18n::embedded::pages(lang));
    for (const auto& key : en.keys()) {
      CAPTURE(lang);
      CAPTURE(key);
      CHECK(other.has(key));
      // Only texts that are the same in every language (network labels, format names) may stay English.
      if (key.rfind("network.", 0) != 0) CHECK(other.text(key) != en.text(key));
    }
  }
}
