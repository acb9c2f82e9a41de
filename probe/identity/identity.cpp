#include "probe/identity/identity.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "files/files.hpp"
#include "core/crypto/crypto.hpp"

namespace kuzet::probe::identity {
namespace {

constexpr size_t secret_size = 32;

[[noreturn]] void fail(const std::string& message) { throw std::runtime_error("identity: " + message); }

std::string errno_text() { return std::strerror(errno); }

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

void ensure_directory(const std::string& dir) {
  std::error_code ec;
  const std::filesystem::path path(dir);
  if (path.has_parent_path() && !path.parent_path().empty()) std::filesystem::create_directories(path.parent_path(), ec);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) fail("cannot create directory " + dir + ": " + errno_text());
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) fail(dir + " is not a directory");
}

// Exactly 32 raw bytes, or 64 hex digits with optional trailing whitespace.
bool parse_secret(std::string content, std::string& secret) {
  if (content.size() == secret_size) {
    secret = std::move(content);
    return true;
  }
  while (!content.empty() && (content.back() == '\n' || content.back() == '\r' || content.back() == ' ' ||
                              content.back() == '\t'))
    content.pop_back();
  if (content.size() != 2 * secret_size) return false;
  std::string out;
  for (size_t i = 0; i < content.size(); i += 2) {
    const int high = core::hex_digit(content[i]);
    const int low = core::hex_digit(content[i + 1]);
    if (high < 0 || low < 0) return false;
    out.push_back(static_cast<char>(high * 16 + low));
  }
  secret = std::move(out);
  OPENSSL_cleanse(content.data(), content.size());
  return true;
}

// nullopt-like: returns false when the file does not exist.
bool read_secret(const std::string& path, std::string& secret) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return false;
    if (errno == ELOOP) fail(path + " is a symbolic link; refusing to use it as the probe secret");
    fail("cannot open " + path + ": " + errno_text());
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail("cannot stat " + path + ": " + errno_text());
  if (!S_ISREG(st.st_mode)) fail(path + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    fail(path + " is readable or writable by group/others (mode " + mode +
         "); it holds the probe's secret key. Fix with: chmod 600 " + path);
  }
  std::string content(200, '\0');
  size_t total = 0;
  while (total < content.size()) {
    const ssize_t n = ::read(fd.get(), content.data() + total, content.size() - total);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("cannot read " + path + ": " + errno_text());
    if (n == 0) break;
    total += static_cast<size_t>(n);
  }
  content.resize(total);
  const bool ok = parse_secret(content, secret);
  OPENSSL_cleanse(content.data(), content.size());
  if (!ok)
    fail(path + " is corrupt (expected 64 hex digits or 32 raw bytes, found " + std::to_string(total) +
         " bytes). It is not replaced automatically: move it away to start a new identity "
         "(the probe then uploads under new keys).");
  return true;
}

void write_all(int fd, const std::string& data, const std::string& path) {
  if (!files::write_all(fd, data)) fail("cannot write " + path + ": " + errno_text());
}

void fsync_directory(const std::string& dir) {
  if (auto error = files::fsync_directory(dir); !error.empty()) fail("cannot " + error);
}

// Creates a new file (never overwrites) holding content, mode 0600, fsynced. false when it already exists.
bool write_new_file(const std::string& path, const std::string& content) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    if (errno == EEXIST) return false;
    fail("cannot create " + path + ": " + errno_text());
  }
  if (::fchmod(fd.get(), 0600) != 0) fail("cannot chmod " + path + ": " + errno_text());
  write_all(fd.get(), content, path);
  if (::fsync(fd.get()) != 0) fail("cannot fsync " + path + ": " + errno_text());
  return true;
}

// Creates `path` holding a fresh secret without ever exposing a half-written file under that name:
// written to a temporary file, fsynced, then hard-linked into place (link never overwrites). On
// filesystems without hard links the file is created in place with O_EXCL.
// Returns false when another process created the file first.
bool create_secret(const std::string& dir, const std::string& path, std::string& secret) {
  secret.assign(secret_size, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()), static_cast<int>(secret_size)) != 1)
    fail("no randomness available (RAND_bytes failed)");
  std::string content = core::to_hex(reinterpret_cast<const uint8_t*>(secret.data()), secret.size()) + "\n";
  struct Cleanse {
    std::string& text;
    ~Cleanse() { OPENSSL_cleanse(text.data(), text.size()); }
  } cleanse{content};
  const std::string temporary = path + ".tmp." + std::to_string(::getpid());
  ::unlink(temporary.c_str());  // a leftover of a crash of an earlier process with this pid
  if (!write_new_file(temporary, content)) fail("cannot create " + temporary + ": it exists");
  const int linked = ::link(temporary.c_str(), path.c_str());
  const int link_errno = errno;
  ::unlink(temporary.c_str());
  if (linked != 0) {
    if (link_errno == EEXIST) return false;
    if (link_errno != EPERM && link_errno != EOPNOTSUPP && link_errno != ENOSYS) {
      errno = link_errno;
      fail("cannot create " + path + ": " + errno_text());
    }
    if (!write_new_file(path, content)) return false;
  }
  fsync_directory(dir);
  return true;
}

}  // namespace

Identity::Identity(std::string path, std::string secret, bool created_now)
    : path_(std::move(path)), secret_(std::move(secret)), created_now_(created_now) {}

Identity::~Identity() { OPENSSL_cleanse(secret_.data(), secret_.size()); }

Identity Identity::load_or_create(const std::string& dir) {
  if (dir.empty()) fail("no state directory given");
  ensure_directory(dir);
  const std::string path = dir + "/identity.key";
  std::string secret;
  if (read_secret(path, secret)) return Identity(path, std::move(secret), false);
  if (create_secret(dir, path, secret)) return Identity(path, std::move(secret), true);
  // Lost a race with another process creating it: use theirs.
  if (read_secret(path, secret)) return Identity(path, std::move(secret), false);
  fail(path + " vanished while being created");
}

core::KeyPair Identity::for_network(const std::string& cc, uint32_t asn) const {
  return core::derive_network_key(secret_, cc, asn);
}

std::vector<IdentityFact> Identity::describe(const std::string& cc, uint32_t asn) const {
  std::vector<IdentityFact> facts{
      {"identity_file", path_},
      {"identity", created_now_ ? "created now" : "loaded"},
      {"keys", "Ed25519, one per network (HKDF-SHA256, kuzet-network-key/v1)"},
  };
  if (!cc.empty() || asn != 0) {
    const auto key = for_network(cc, asn);
    facts.push_back({"network", cc + ":" + std::to_string(asn)});
    facts.push_back({"key_id", core::key_id(key.public_key)});
    facts.push_back({"public_key", core::base64_encode(key.public_key)});
  }
  return facts;
}

void to_json(nlohmann::json& j, const IdentityFact& v) { j = nlohmann::json{{"name", v.name}, {"value", v.value}}; }

}  // namespace kuzet::probe::identity
