#include "collector/log/log_key.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "files/files.hpp"

namespace kuzet::collector::log {

namespace {

// Writes the whole text and fsyncs the file and its directory: a key lost in a crash would split the log.
void write_new_file(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw LogKeyError("cannot create log key " + path + ": " + std::strerror(errno));
  if (!files::write_all(fd, text)) {
    const std::string error = std::strerror(errno);
    ::close(fd);
    throw LogKeyError("cannot write log key " + path + ": " + error);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) throw LogKeyError("cannot sync log key " + path + ": " + std::strerror(errno));
  const auto dir = std::filesystem::path(path).parent_path();
  files::fsync_directory(dir.empty() ? "." : dir.string());  // best effort, as the key file itself is synced
}

}  // namespace

std::string default_log_key_path(const std::string& db_path) { return db_path + ".log-key"; }

std::string default_log_origin() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::strcpy(host, "localhost");
  std::string origin = std::string(host) + "/kuzet-log";
  return tlog::valid_key_name(origin) ? origin : "localhost/kuzet-log";
}

tlog::NoteSigner load_or_create_log_key(const std::string& path, const std::string& origin) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    const std::string name = origin.empty() ? default_log_origin() : origin;
    if (!tlog::valid_key_name(name))
      throw LogKeyError("log origin '" + name + "' is not a valid key name (no spaces, no '+')");
    const auto signer = tlog::make_signer(name, core::generate_ed25519());
    write_new_file(path, tlog::signer_key_text(signer) + "\n");
    return signer;
  }
  std::ifstream in(path, std::ios::binary);
  std::string text(1024, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) throw LogKeyError("cannot read log key " + path);
  text.resize(static_cast<size_t>(in.gcount()));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  std::string error;
  auto signer = tlog::parse_signer_key(text, &error);
  if (!signer) throw LogKeyError("log key " + path + " is not a signed-note Ed25519 private key: " + error);
  if (!origin.empty() && origin != signer->name)
    throw LogKeyError("log key " + path + " belongs to origin '" + signer->name + "', not '" + origin +
                      "' (a log's origin never changes)");
  return *signer;
}

}  // namespace kuzet::collector::log
