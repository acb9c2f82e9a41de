#include "envelope/envelope.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>

#include "core/crypto/crypto.hpp"
#include "core/encoding/jcs.hpp"
#include "envelope/batch.hpp"

using namespace kuzet;
using namespace kuzet::envelope;
using core::base64_decode;
using core::base64_encode;
using core::generate_ed25519;
using nlohmann::json;

namespace {

json sample_measurement() {
  return json::parse(R"({
    "measurement_uid": "20261123T104200Z_KZ_9198_abcdef",
    "started_at": "2026-11-23T10:42:00Z",
    "probe": {"cc": "KZ", "asn": 9198, "software": "kuzet-probe/0.1.0"},
    "target": {"url": "https://example.org/", "category": "news"},
    "observations": {"tcp": [{"ip": "192.0.2.1", "port": 443, "failure": "", "t_ms": 12.5}],
                     "dns": {"answers": ["192.0.2.1"], "failure": ""}},
    "verdict": "ok", "note": "\u20ac snowman \u2603"
  })");
}

// Changes each value of the envelope's measurement in turn: every change must break the signature. Returns
// how many values were changed.
int check_every_value_tampered(const json& envelope) {
  const auto flat = envelope.at("measurement").flatten();
  int tampered = 0;
  for (const auto& item : flat.items()) {
    const std::string pointer = item.key();  // not a structured binding: clang 14 cannot capture those
    CAPTURE(pointer);
    auto changed = envelope;
    auto& field = changed["measurement"][json::json_pointer(pointer)];
    if (field.is_string()) field = field.get<std::string>() + "x";
    else if (field.is_number_unsigned()) field = field.get<uint64_t>() + 1;
    else if (field.is_number()) field = field.get<double>() + 0.5;
    else field = "changed";
    CHECK(verify(changed) == "bad_signature");
    ++tampered;
  }
  return tampered;
}

}  // namespace

TEST_CASE("envelope round trip, including through text") {
  const auto key = generate_ed25519();
  const auto envelope = sign(sample_measurement(), key);
  CHECK(envelope.at("public_key") == base64_encode(key.public_key));
  CHECK(envelope.at("measurement") == sample_measurement());
  CHECK(verify(envelope) == "");
  CHECK(verify(json::parse(envelope.dump())) == "");
  CHECK(verify(json::parse(envelope.dump(4))) == "");
}

TEST_CASE("key order and whitespace of the measurement do not matter") {
  const auto key = generate_ed25519();
  const auto envelope = sign(sample_measurement(), key);
  // Rebuild the same envelope with the measurement written in another key order, with whitespace.
  const std::string reordered = R"({"signature": ")" + envelope.at("signature").get<std::string>() + R"(",
    "measurement": {"verdict": "ok", "note": "\u20ac snowman \u2603",
      "target": {"category": "news", "url": "https://example.org/"},
      "observations": {"dns": {"failure": "", "answers": ["192.0.2.1"]},
                       "tcp": [{"t_ms": 12.50, "port": 443, "failure": "", "ip": "192.0.2.1"}]},
      "started_at": "2026-11-23T10:42:00Z",
      "probe": {"software": "kuzet-probe/0.1.0", "asn": 9198, "cc": "KZ"},
      "measurement_uid": "20261123T104200Z_KZ_9198_abcdef"},
    "public_key": ")" + envelope.at("public_key").get<std::string>() + R"("})";
  CHECK(verify(json::parse(reordered)) == "");
}

TEST_CASE("tampering with any field of the measurement breaks the signature") {
  const auto key = generate_ed25519();
  const auto envelope = sign(sample_measurement(), key);
  const int tampered = check_every_value_tampered(envelope);
  CHECK(tampered >= 10);
  auto added = envelope;
  added["measurement"]["extra"] = 1;
  CHECK(verify(added) == "bad_signature");
  auto removed = envelope;
  removed["measurement"].erase("note");
  CHECK(verify(removed) == "bad_signature");
  auto other_key = envelope;
  other_key["public_key"] = base64_encode(generate_ed25519().public_key);
  CHECK(verify(other_key) == "bad_signature");
  auto flipped = envelope;
  auto signature = *base64_decode(envelope.at("signature").get<std::string>());
  signature[5] ^= 0x01;
  flipped["signature"] = base64_encode(signature);
  CHECK(verify(flipped) == "bad_signature");
}

TEST_CASE("hostile envelopes are malformed, never a throw") {
  const auto key = generate_ed25519();
  const auto good = sign(sample_measurement(), key);
  const auto with = [&](const char* field, json value) {
    auto copy = good;
    copy[field] = std::move(value);
    return copy;
  };
  CHECK(verify(json()) == "malformed");
  CHECK(verify(json::array({good})) == "malformed");
  CHECK(verify(json("string")) == "malformed");
  CHECK(verify(json::object()) == "malformed");
  CHECK(verify(with("measurement", json::array())) == "malformed");
  CHECK(verify(with("measurement", "text")) == "malformed");
  CHECK(verify(with("public_key", 42)) == "malformed");
  CHECK(verify(with("public_key", "not base64!")) == "malformed");
  CHECK(verify(with("public_key", base64_encode(std::string(31, 'k')))) == "malformed");
  CHECK(verify(with("signature", nullptr)) == "malformed");
  CHECK(verify(with("signature", base64_encode(std::string(63, 's')))) == "malformed");
  CHECK(verify(with("signature", "====")) == "malformed");
  CHECK(verify(with("extra", "unsigned data")) == "malformed");
  auto missing = good;
  missing.erase("signature");
  CHECK(verify(missing) == "malformed");
  // Non-canonical base64 (padding bits set) is a second spelling of the same key: refused.
  auto pk_text = good.at("public_key").get<std::string>();  // 44 chars, ends with one '='
  REQUIRE(pk_text.back() == '=');
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  auto index = alphabet.find(pk_text[42]);
  pk_text[42] = alphabet[index ^ 1];  // flips one of the two padding bits
  CHECK(verify(with("public_key", pk_text)) == "malformed");
  // A measurement that cannot be canonicalized (invalid UTF-8, NaN) is malformed.
  auto bad_utf8 = good;
  bad_utf8["measurement"]["note"] = std::string("\xff\xfe");
  CHECK(verify(bad_utf8) == "malformed");
  auto nan = good;
  nan["measurement"]["x"] = std::numeric_limits<double>::quiet_NaN();
  CHECK(verify(nan) == "malformed");
  CHECK_THROWS_AS(sign(nan["measurement"], key), std::invalid_argument);
}

// ---- Batch-signed envelopes ----

namespace {

std::vector<json> sample_batch(size_t n) {
  std::vector<json> out;
  for (size_t i = 0; i < n; ++i) {
    auto m = sample_measurement();
    m["measurement_uid"] = "20261123T104200Z_KZ_9198_" + std::to_string(i);
    out.push_back(m);
  }
  return out;
}

// RFC 6962 2.1 MTH, written out recursively: the reference the iterative tree must agree with.
tlog::Hash reference_root(const std::vector<tlog::Hash>& leaves, size_t begin, size_t end) {
  if (end - begin == 1) return leaves[begin];
  size_t k = 1;
  while (k * 2 < end - begin) k *= 2;
  return tlog::node_hash(reference_root(leaves, begin, begin + k), reference_root(leaves, begin + k, end));
}

tlog::Hash leaf_of(size_t i) { return tlog::leaf_hash("leaf " + std::to_string(i)); }

}  // namespace

TEST_CASE("batch tree: the RFC 6962 root, and every leaf's audit path leads to it") {
  for (size_t n : {1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 33, 100, 500}) {
    CAPTURE(n);
    std::vector<tlog::Hash> leaves;
    for (size_t i = 0; i < n; ++i) leaves.push_back(leaf_of(i));
    const auto tree = build_batch_tree(leaves);
    CHECK(tree.root == reference_root(leaves, 0, n));
    REQUIRE(tree.paths.size() == n);
    for (size_t i = 0; i < n; ++i) {
      CHECK(tlog::verify_inclusion(leaves[i], i, n, tree.paths[i], tree.root));
      CHECK(tlog::root_from_inclusion(leaves[i], i, n, tree.paths[i]) == tree.root);
      // Another leaf at the same place, or the same leaf at another place, does not lead there.
      CHECK_FALSE(tlog::verify_inclusion(leaf_of(n + i), i, n, tree.paths[i], tree.root));
      if (n > 1) CHECK_FALSE(tlog::verify_inclusion(leaves[i], (i + 1) % n, n, tree.paths[i], tree.root));
    }
  }
  CHECK_THROWS_AS(build_batch_tree({}), std::invalid_argument);
  CHECK_THROWS_AS(build_batch_tree(std::vector<tlog::Hash>(kMaxBatchSize + 1)), std::invalid_argument);
}

TEST_CASE("batch leaf and message: domain-separated, the index inside the leaf") {
  const std::string canonical = core::canonicalize(sample_measurement());
  CHECK(batch_leaf(0, canonical) != batch_leaf(1, canonical));
  CHECK(batch_leaf(0, canonical) != tlog::leaf_hash(canonical));
  CHECK(batch_leaf(0, canonical) == tlog::leaf_hash("kuzet.measurement-batch/1 leaf 0\n" + canonical));
  const tlog::Hash root = leaf_of(1);
  CHECK(batch_message(7, root) == "kuzet.measurement-batch/1\n7\n" + tlog::hash_base64(root) + "\n");
}

TEST_CASE("a batch-signed envelope verifies alone, through text, one signature for all") {
  const auto key = generate_ed25519();
  for (size_t n : {1, 2, 3, 10, 64}) {
    CAPTURE(n);
    const auto measurements = sample_batch(n);
    const auto envelopes = sign_batch(measurements, key);
    REQUIRE(envelopes.size() == n);
    SignatureCache cache;
    for (size_t i = 0; i < n; ++i) {
      const auto& e = envelopes[i];
      CHECK(e.size() == 3);
      CHECK(e.at("measurement") == measurements[i]);
      CHECK(e.at("public_key") == base64_encode(key.public_key));
      CHECK(e.at("batch").at("scheme") == "kuzet.measurement-batch/1");
      CHECK(e.at("batch").at("leaf_index") == i);
      CHECK(e.at("batch").at("tree_size") == n);
      CHECK(e.at("batch").at("signature") == envelopes[0].at("batch").at("signature"));
      CHECK(verify(e) == "");
      CHECK(verify(json::parse(e.dump())) == "");
      CHECK(verify(json::parse(e.dump(2)), &cache) == "");
    }
    CHECK(cache.verifications() == 1);  // the batch's root, once
  }
}

TEST_CASE("tampering with any field of a batch-signed envelope fails") {
  const auto key = generate_ed25519();
  const auto envelopes = sign_batch(sample_batch(5), key);
  const json& good = envelopes[2];
  REQUIRE(verify(good) == "");
  const auto with_batch = [&](const char* field, json value) {
    auto copy = good;
    copy["batch"][field] = std::move(value);
    return copy;
  };

  CHECK(check_every_value_tampered(good) >= 10);
  auto added = good;
  added["measurement"]["extra"] = 1;
  CHECK(verify(added) == "bad_signature");
  // Another measurement of the same batch under this one's proof.
  auto swapped = good;
  swapped["measurement"] = envelopes[3].at("measurement");
  CHECK(verify(swapped) == "bad_signature");

  // The key, the signature, the index, the size, each hash of the path.
  auto other_key = good;
  other_key["public_key"] = base64_encode(generate_ed25519().public_key);
  CHECK(verify(other_key) == "bad_signature");
  auto signature = *base64_decode(good["batch"]["signature"].get<std::string>());
  signature[7] ^= 0x01;
  CHECK(verify(with_batch("signature", base64_encode(signature))) == "bad_signature");
  for (uint64_t index : {0, 1, 3, 4}) CHECK(verify(with_batch("leaf_index", index)) != "");
  for (uint64_t size : {3, 4, 6, 8}) CHECK(verify(with_batch("tree_size", size)) != "");
  CHECK(verify(with_batch("tree_size", 5)) == "");
  const auto path = good["batch"]["audit_path"];
  REQUIRE(path.size() >= 2);
  for (size_t h = 0; h < path.size(); ++h) {
    CAPTURE(h);
    auto raw = *base64_decode(path[h].get<std::string>());
    raw[0] ^= 0x80;
    auto changed = path;
    changed[h] = base64_encode(raw);
    CHECK(verify(with_batch("audit_path", changed)) == "bad_signature");
    auto shorter = path;
    shorter.erase(h);
    CHECK(verify(with_batch("audit_path", shorter)) == "malformed");
  }
  auto longer = path;
  longer.push_back(path[0]);
  CHECK(verify(with_batch("audit_path", longer)) == "malformed");
  auto reversed = json::array();
  for (size_t h = path.size(); h-- > 0;) reversed.push_back(path[h]);
  CHECK(verify(with_batch("audit_path", reversed)) == "bad_signature");
  // A signature of another batch by the same key.
  const auto other_batch = sign_batch(sample_batch(6), key);
  CHECK(verify(with_batch("signature", other_batch[0]["batch"]["signature"])) == "bad_signature");
}

TEST_CASE("two identical measurements in one batch: each verifies at its own index only") {
  const auto key = generate_ed25519();
  const auto m = sample_measurement();
  const auto envelopes = sign_batch({m, m}, key);
  CHECK(verify(envelopes[0]) == "");
  CHECK(verify(envelopes[1]) == "");
  auto moved = envelopes[0];
  moved["batch"]["leaf_index"] = 1;
  CHECK(verify(moved) == "bad_signature");
}

TEST_CASE("hostile batch envelopes are malformed, never a throw") {
  const auto key = generate_ed25519();
  const auto good = sign_batch(sample_batch(3), key)[1];
  const auto with_batch = [&](const char* field, json value) {
    auto copy = good;
    copy["batch"][field] = std::move(value);
    return copy;
  };
  CHECK(verify(with_batch("scheme", "kuzet.measurement-batch/2")) == "malformed");
  CHECK(verify(with_batch("scheme", 1)) == "malformed");
  CHECK(verify(with_batch("extra", "unsigned data")) == "malformed");
  CHECK(verify(with_batch("leaf_index", 1.0)) == "malformed");
  CHECK(verify(with_batch("leaf_index", "1")) == "malformed");
  CHECK(verify(with_batch("leaf_index", -1)) == "malformed");
  CHECK(verify(with_batch("leaf_index", 3)) == "malformed");  // not below tree_size
  CHECK(verify(with_batch("tree_size", 0)) == "malformed");
  CHECK(verify(with_batch("tree_size", kMaxBatchSize + 1)) == "malformed");
  CHECK(verify(with_batch("tree_size", 18446744073709551615ull)) == "malformed");
  CHECK(verify(with_batch("audit_path", "AAAA")) == "malformed");
  CHECK(verify(with_batch("audit_path", json::array({1, 2}))) == "malformed");
  CHECK(verify(with_batch("audit_path", json::array({base64_encode(std::string(31, 'h')), base64_encode(std::string(32, 'h'))}))) == "malformed");
  CHECK(verify(with_batch("audit_path", json::array())) == "malformed");
  CHECK(verify(with_batch("signature", base64_encode(std::string(63, 's')))) == "malformed");
  CHECK(verify(with_batch("signature", nullptr)) == "malformed");
  auto no_signature = good;
  no_signature["batch"].erase("signature");
  CHECK(verify(no_signature) == "malformed");
  // Non-canonical base64 of a path hash (a padding bit set): a second spelling, refused.
  auto path = good["batch"]["audit_path"];
  std::string h = path[0].get<std::string>();
  REQUIRE(h.back() == '=');
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  h[42] = alphabet[alphabet.find(h[42]) ^ 1];
  path[0] = h;
  CHECK(verify(with_batch("audit_path", path)) == "malformed");
  // Both kinds of signature at once, or a batch that is not an object.
  auto both = good;
  both["signature"] = good["batch"]["signature"];
  CHECK(verify(both) == "malformed");
  auto not_object = good;
  not_object["batch"] = json::array();
  CHECK(verify(not_object) == "malformed");
  auto nan = good;
  nan["measurement"]["x"] = std::numeric_limits<double>::quiet_NaN();
  CHECK(verify(nan) == "malformed");
  CHECK_THROWS_AS(sign_batch({nan["measurement"]}, key), std::invalid_argument);
}

TEST_CASE("a /1 signature never passes for a batch one, nor the reverse") {
  const auto key = generate_ed25519();
  const auto single = sign(sample_measurement(), key);
  const auto batch = sign_batch({sample_measurement()}, key)[0];
  REQUIRE(batch["batch"]["audit_path"].empty());
  auto as_single = single;
  as_single["signature"] = batch["batch"]["signature"];
  CHECK(verify(as_single) == "bad_signature");
  auto as_batch = batch;
  as_batch["batch"]["signature"] = single["signature"];
  CHECK(verify(as_batch) == "bad_signature");
}

TEST_CASE("signature cache: each distinct batch claim verified once, a bad one stays bad") {
  const auto key = generate_ed25519();
  const auto a = sign_batch(sample_batch(4), key);
  const auto b = sign_batch(sample_batch(3), key);
  SignatureCache cache;
  auto forged = a[0];
  auto signature = *base64_decode(forged["batch"]["signature"].get<std::string>());
  signature[0] ^= 0x01;
  forged["batch"]["signature"] = base64_encode(signature);
  CHECK(verify(forged, &cache) == "bad_signature");
  for (const auto& e : a) CHECK(verify(e, &cache) == "");
  for (const auto& e : b) CHECK(verify(e, &cache) == "");
  CHECK(verify(forged, &cache) == "bad_signature");
  CHECK(cache.verifications() == 3);  // the forged claim, a's root, b's root
  CHECK(verify(sign(sample_measurement(), key), &cache) == "");
  CHECK(cache.verifications() == 4);
}

TEST_CASE("batch envelopes made by another implementation (tests/envelope/make_batch_vectors.py) get their verdicts") {
  std::ifstream file(KUZET_BATCH_VECTORS);
  REQUIRE(file);
  const auto vectors = json::parse(file);
  REQUIRE(vectors.size() >= 20);
  size_t good = 0;
  for (const auto& v : vectors) {
    const std::string name = v.at("name").get<std::string>();
    CAPTURE(name);
    // Through text, as an upload or a bundle carries them.
    CHECK(verify(json::parse(v.at("envelope").dump())) == v.at("verdict").get<std::string>());
    good += v.at("verdict") == "";
  }
  CHECK(good == 11);  // batches of 1, 3 and 7
}
