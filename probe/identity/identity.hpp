#pragma once
// The probe's only long-lived secret: 32 random bytes in <dir>/identity.key, from which one Ed25519 key
// per network (country + ASN) is derived, so measurements from two networks cannot be linked by key.
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "core/crypto/signing.hpp"

namespace kuzet::probe::identity {

// One line of `kuzet-probe status` output.
struct IdentityFact {
  std::string name;
  std::string value;
};
void to_json(nlohmann::json& j, const IdentityFact& v);

class Identity {
 public:
  // Loads <dir>/identity.key, or creates it (dir 0700, file 0600, written atomically and fsynced) when
  // absent. Throws std::runtime_error with a message saying how to fix it when the file is readable by
  // group/others, is not a regular file, or is corrupt. A corrupt file is never replaced.
  static Identity load_or_create(const std::string& dir);

  Identity(const Identity&) = default;
  Identity& operator=(const Identity&) = default;
  ~Identity();

  core::KeyPair for_network(const std::string& cc, uint32_t asn) const;

  // Where the secret lives and, when a network is given, that network's key id. Never the secret itself,
  // and nothing device-wide that could link networks.
  std::vector<IdentityFact> describe(const std::string& cc = "", uint32_t asn = 0) const;

  const std::string& path() const { return path_; }
  bool created_now() const { return created_now_; }  // true when load_or_create made a new secret

 private:
  Identity(std::string path, std::string secret, bool created_now);
  std::string path_;
  std::string secret_;  // 32 raw bytes
  bool created_now_ = false;
};

}  // namespace kuzet::probe::identity
