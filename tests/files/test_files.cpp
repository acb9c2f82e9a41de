#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "files/files.hpp"

namespace fs = std::filesystem;
using namespace kuzet;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char pattern[] = "/tmp/kuzet-files-XXXXXX";
    path = ::mkdtemp(pattern);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("write_file_atomically creates, then replaces whole, and leaves no temporary file") {
  TempDir dir;
  const fs::path file = dir.path / "state.json";
  CHECK(files::write_file_atomically(file.string(), "first\n") == "");
  CHECK(read(file) == "first\n");
  CHECK(files::write_file_atomically(file.string(), "second, longer\n", /*durable=*/false) == "");
  CHECK(read(file) == "second, longer\n");
  CHECK(files::write_file_atomically(file.string(), "") == "");
  CHECK(read(file).empty());
  CHECK_FALSE(fs::exists(file.string() + ".tmp"));
}

TEST_CASE("write_file_atomically creates a secret readable by its owner only, from the first byte") {
  TempDir dir;
  const fs::path file = dir.path / "key";
  const mode_t old_umask = ::umask(022);
  CHECK(files::write_file_atomically(file.string(), "secret\n", true, 0600) == "");
  ::umask(old_umask);
  CHECK((fs::status(file).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write));
  CHECK(files::write_file_atomically(file.string(), "public\n") == "");  // the default mode
  CHECK((fs::status(file).permissions() & fs::perms::all) ==
        (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read));
}

TEST_CASE("write_file_atomically into a missing directory says what failed and touches nothing") {
  TempDir dir;
  const fs::path file = dir.path / "missing" / "state.json";
  const std::string error = files::write_file_atomically(file.string(), "x");
  CHECK(error.find("create " + file.string() + ".tmp") == 0);
  CHECK(error.find("No such file") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.path / "missing"));
}

TEST_CASE("fsync_directory: a directory succeeds, a missing one names the path") {
  TempDir dir;
  CHECK(files::fsync_directory(dir.path.string()) == "");
  CHECK(files::fsync_directory((dir.path / "nope").string()).find("open " + (dir.path / "nope").string()) == 0);
}

TEST_CASE("write_all writes everything it is given") {
  TempDir dir;
  const fs::path file = dir.path / "big";
  const std::string data(3 * 1024 * 1024 + 7, 'k');  // more than one write() may take at once on a pipe
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  CHECK(files::write_all(fd, data));
  ::close(fd);
  CHECK(read(file) == data);
  CHECK_FALSE(files::write_all(-1, "x"));
}
