#include "core/crypto.hpp"
#include "core/jcs.hpp"
#include "core/signing.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

using namespace kuzet::core;
using nlohmann::json;

namespace {

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

std::string hex(const std::string& raw) { return to_hex(reinterpret_cast<const uint8_t*>(raw.data()), raw.size()); }

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

}  // namespace

TEST_CASE("RFC 8032 test 1: seed, public key and signature") {
  const auto key = ed25519_from_seed(from_hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  CHECK(hex(key.public_key) == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  const auto signature = ed25519_sign(key, "");
  CHECK(hex(signature) ==
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe"
        "24655141438e7a100b");
  CHECK(ed25519_verify(key.public_key, "", signature));
  CHECK_FALSE(ed25519_verify(key.public_key, "x", signature));
  CHECK_FALSE(ed25519_verify(key.public_key, "", signature.substr(0, 63)));
  CHECK_FALSE(ed25519_verify(key.public_key.substr(1), "", signature));
}

TEST_CASE("seeds and generated keys") {
  CHECK_THROWS_AS(ed25519_from_seed("short"), std::invalid_argument);
  const auto a = generate_ed25519();
  const auto b = generate_ed25519();
  CHECK(a.private_key.size() == 32);
  CHECK(a.public_key.size() == 32);
  CHECK(a.public_key != b.public_key);
  CHECK(ed25519_from_seed(a.private_key).public_key == a.public_key);
  const auto signature = ed25519_sign(a, "message");
  CHECK(ed25519_verify(a.public_key, "message", signature));
  CHECK_FALSE(ed25519_verify(b.public_key, "message", signature));
}

TEST_CASE("network keys: HKDF-SHA256 known answer, per network, deterministic") {
  std::string master;
  for (int i = 1; i <= 32; ++i) master.push_back(static_cast<char>(i));
  // Computed independently with Python's hmac: HKDF(salt="kuzet-network-key/v1", ikm=01..20, info="KZ:9198").
  const auto kz = derive_network_key(master, "KZ", 9198);
  CHECK(hex(kz.private_key) == "08c6888a46c13f3d1abae42d9f83ccf5e78e2204bcaaf2613759d46b2125b6f3");
  CHECK(kz.public_key == ed25519_from_seed(kz.private_key).public_key);
  CHECK(derive_network_key(master, "KZ", 9198).public_key == kz.public_key);
  CHECK(derive_network_key(master, "KZ", 9199).public_key != kz.public_key);
  CHECK(derive_network_key(master, "RU", 9198).public_key != kz.public_key);
  std::string other_master = master;
  other_master[0] ^= 1;
  CHECK(derive_network_key(other_master, "KZ", 9198).public_key != kz.public_key);
  CHECK_THROWS_AS(derive_network_key("too short", "KZ", 9198), std::invalid_argument);
}

TEST_CASE("key_id is the first 16 hex chars of SHA-256 of the public key") {
  const auto key = generate_ed25519();
  CHECK(key_id(key.public_key) == sha256_hex(key.public_key).substr(0, 16));
  CHECK(key_id(key.public_key).size() == 16);
}

TEST_CASE("envelope round trip, including through text") {
  const auto key = generate_ed25519();
  const auto envelope = sign_envelope(sample_measurement(), key);
  CHECK(envelope.at("public_key") == base64_encode(key.public_key));
  CHECK(envelope.at("measurement") == sample_measurement());
  CHECK(verify_envelope(envelope) == "");
  CHECK(verify_envelope(json::parse(envelope.dump())) == "");
  CHECK(verify_envelope(json::parse(envelope.dump(4))) == "");
}

TEST_CASE("key order and whitespace of the measurement do not matter") {
  const auto key = generate_ed25519();
  const auto envelope = sign_envelope(sample_measurement(), key);
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
  CHECK(verify_envelope(json::parse(reordered)) == "");
}

TEST_CASE("tampering with any field of the measurement breaks the signature") {
  const auto key = generate_ed25519();
  const auto envelope = sign_envelope(sample_measurement(), key);
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
    CHECK(verify_envelope(changed) == "bad_signature");
    ++tampered;
  }
  CHECK(tampered >= 10);
  auto added = envelope;
  added["measurement"]["extra"] = 1;
  CHECK(verify_envelope(added) == "bad_signature");
  auto removed = envelope;
  removed["measurement"].erase("note");
  CHECK(verify_envelope(removed) == "bad_signature");
  auto other_key = envelope;
  other_key["public_key"] = base64_encode(generate_ed25519().public_key);
  CHECK(verify_envelope(other_key) == "bad_signature");
  auto flipped = envelope;
  auto signature = *base64_decode(envelope.at("signature").get<std::string>());
  signature[5] ^= 0x01;
  flipped["signature"] = base64_encode(signature);
  CHECK(verify_envelope(flipped) == "bad_signature");
}

TEST_CASE("hostile envelopes are malformed, never a throw") {
  const auto key = generate_ed25519();
  const auto good = sign_envelope(sample_measurement(), key);
  const auto with = [&](const char* field, json value) {
    auto copy = good;
    copy[field] = std::move(value);
    return copy;
  };
  CHECK(verify_envelope(json()) == "malformed");
  CHECK(verify_envelope(json::array({good})) == "malformed");
  CHECK(verify_envelope(json("string")) == "malformed");
  CHECK(verify_envelope(json::object()) == "malformed");
  CHECK(verify_envelope(with("measurement", json::array())) == "malformed");
  CHECK(verify_envelope(with("measurement", "text")) == "malformed");
  CHECK(verify_envelope(with("public_key", 42)) == "malformed");
  CHECK(verify_envelope(with("public_key", "not base64!")) == "malformed");
  CHECK(verify_envelope(with("public_key", base64_encode(std::string(31, 'k')))) == "malformed");
  CHECK(verify_envelope(with("signature", nullptr)) == "malformed");
  CHECK(verify_envelope(with("signature", base64_encode(std::string(63, 's')))) == "malformed");
  CHECK(verify_envelope(with("signature", "====")) == "malformed");
  CHECK(verify_envelope(with("extra", "unsigned data")) == "malformed");
  auto missing = good;
  missing.erase("signature");
  CHECK(verify_envelope(missing) == "malformed");
  // Non-canonical base64 (padding bits set) is a second spelling of the same key: refused.
  auto pk_text = good.at("public_key").get<std::string>();  // 44 chars, ends with one '='
  REQUIRE(pk_text.back() == '=');
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  auto index = alphabet.find(pk_text[42]);
  pk_text[42] = alphabet[index ^ 1];  // flips one of the two padding bits
  CHECK(verify_envelope(with("public_key", pk_text)) == "malformed");
  // A measurement that cannot be canonicalized (invalid UTF-8, NaN) is malformed.
  auto bad_utf8 = good;
  bad_utf8["measurement"]["note"] = std::string("\xff\xfe");
  CHECK(verify_envelope(bad_utf8) == "malformed");
  auto nan = good;
  nan["measurement"]["x"] = std::numeric_limits<double>::quiet_NaN();
  CHECK(verify_envelope(nan) == "malformed");
  CHECK_THROWS_AS(sign_envelope(nan["measurement"], key), std::invalid_argument);
}
