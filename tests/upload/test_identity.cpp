#include "probe/identity/identity.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/crypto/crypto.hpp"
#include "core/crypto/signing.hpp"

using kuzet::probe::identity::Identity;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "kuzet-identity-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() { fs::remove_all(path); }
};

unsigned mode_of(const fs::path& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path& path, const std::string& content, unsigned mode) {
  { std::ofstream(path, std::ios::binary) << content; }
  fs::permissions(path, static_cast<fs::perms>(mode));
}

std::string error_of(const std::string& dir) {
  try {
    Identity::load_or_create(dir);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a new identity: directory 0700, file 0600 with 64 hex digits, reload gives the same keys") {
  TempDir tmp;
  const auto dir = tmp.path / "state" / "kuzet";  // parents do not exist yet
  const auto first = Identity::load_or_create(dir.string());
  CHECK(first.created_now());
  CHECK(first.path() == (dir / "identity.key").string());
  CHECK(mode_of(dir) == 0700);
  CHECK(mode_of(dir / "identity.key") == 0600);
  const auto content = read_file(dir / "identity.key");
  REQUIRE(content.size() == 65);
  CHECK(content.back() == '\n');
  CHECK(content.find_first_not_of("0123456789abcdef") == 64);
  // No temporary file left behind.
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 1);

  const auto again = Identity::load_or_create(dir.string());
  CHECK_FALSE(again.created_now());
  CHECK(again.for_network("KZ", 9198).public_key == first.for_network("KZ", 9198).public_key);
  CHECK(again.for_network("KZ", 9198).private_key == first.for_network("KZ", 9198).private_key);
  CHECK(again.for_network("KZ", 9198).public_key != again.for_network("KZ", 21299).public_key);
  CHECK(again.for_network("KZ", 9198).public_key != again.for_network("RU", 9198).public_key);

  // The keys are the documented derivation from the secret in the file.
  std::string secret;
  for (size_t i = 0; i < 64; i += 2) secret.push_back(static_cast<char>(std::stoi(content.substr(i, 2), nullptr, 16)));
  CHECK(kuzet::core::derive_network_key(secret, "KZ", 9198).public_key == again.for_network("KZ", 9198).public_key);
}

TEST_CASE("two identities in different directories differ") {
  TempDir a, b;
  CHECK(Identity::load_or_create(a.path.string()).for_network("KZ", 9198).public_key !=
        Identity::load_or_create(b.path.string()).for_network("KZ", 9198).public_key);
}

TEST_CASE("a raw 32-byte secret file is accepted") {
  TempDir tmp;
  const std::string secret(32, '\x07');
  write_file(tmp.path / "identity.key", secret, 0600);
  const auto identity = Identity::load_or_create(tmp.path.string());
  CHECK_FALSE(identity.created_now());
  CHECK(identity.for_network("KZ", 9198).public_key ==
        kuzet::core::derive_network_key(secret, "KZ", 9198).public_key);
}

TEST_CASE("a group- or world-readable secret is refused with the fix in the message") {
  TempDir tmp;
  const auto created = Identity::load_or_create(tmp.path.string());
  const auto path = tmp.path / "identity.key";
  const auto before = read_file(path);
  fs::permissions(path, static_cast<fs::perms>(0640));
  const auto error = error_of(tmp.path.string());
  CHECK(error.find("chmod 600 " + path.string()) != std::string::npos);
  CHECK(error.find("0640") != std::string::npos);
  fs::permissions(path, static_cast<fs::perms>(0604));
  CHECK(error_of(tmp.path.string()).find("chmod 600") != std::string::npos);
  CHECK(read_file(path) == before);  // untouched
  fs::permissions(path, static_cast<fs::perms>(0600));
  CHECK(Identity::load_or_create(tmp.path.string()).for_network("KZ", 1).public_key ==
        created.for_network("KZ", 1).public_key);
}

TEST_CASE("a corrupt secret is a clear error and is never replaced") {
  TempDir tmp;
  const auto path = tmp.path / "identity.key";
  for (const std::string& content : {std::string("hello\n"), std::string(""), std::string(63, 'a') + "\n",
                                    std::string(64, 'g'), std::string(33, 'x')}) {
    CAPTURE(content);
    write_file(path, content, 0600);
    const auto error = error_of(tmp.path.string());
    CHECK(error.find("corrupt") != std::string::npos);
    CHECK(read_file(path) == content);
  }
}

TEST_CASE("a symbolic link or a directory in place of the secret is refused") {
  TempDir tmp;
  const auto target = tmp.path / "elsewhere";
  write_file(target, std::string(64, 'a'), 0600);
  fs::create_symlink(target, tmp.path / "identity.key");
  CHECK(error_of(tmp.path.string()).find("symbolic link") != std::string::npos);
  fs::remove(tmp.path / "identity.key");
  fs::create_directory(tmp.path / "identity.key");
  fs::permissions(tmp.path / "identity.key", static_cast<fs::perms>(0700));
  CHECK(error_of(tmp.path.string()).find("not a regular file") != std::string::npos);
}

TEST_CASE("describe shows where the secret is and the network's key id, never the secret") {
  TempDir tmp;
  const auto identity = Identity::load_or_create(tmp.path.string());
  const auto secret_hex = read_file(tmp.path / "identity.key").substr(0, 64);
  const auto key = identity.for_network("KZ", 9198);
  bool has_key_id = false;
  for (const auto& fact : identity.describe("KZ", 9198)) {
    CHECK(fact.value.find(secret_hex) == std::string::npos);
    CHECK(fact.value.find(secret_hex.substr(0, 16)) == std::string::npos);
    if (fact.name == "key_id") has_key_id = fact.value == kuzet::core::key_id(key.public_key);
  }
  CHECK(has_key_id);
  for (const auto& fact : identity.describe()) CHECK(fact.name != "key_id");
}
