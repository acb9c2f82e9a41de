#pragma once
// Runs a program to its end with LC_ALL set (it wins over LC_MESSAGES and LANG), for tests of the language its
// command line speaks; stdout and stderr kept apart in files under `dir`.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <string>

namespace kuzet::testing {

struct LocaleRun {
  int status = -1;  // exit status, -1 when it did not exit
  std::string out, err;
};

inline LocaleRun run_in_locale(const std::string& dir, const std::string& locale, const std::string& binary,
                               const std::string& args) {
  const std::string out = dir + "/locale-run.out", err = dir + "/locale-run.err";
  const int status = std::system(("LC_ALL=" + locale + " " + binary + " " + args + " > " + out + " 2> " + err).c_str());
  auto read = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read(out), read(err)};
}

// One command line in one language: its exit status, how its stderr (status other than 0) or stdout (0) starts,
// and a part found in it.
struct LocaleCase {
  const char* locale;
  const char* args;
  int status;
  std::string start;
  const char* within = "";
};

inline void check_locale_cases(const std::string& dir, const std::string& binary, std::initializer_list<LocaleCase> cases) {
  for (const auto& c : cases) {
    CAPTURE(c.locale);
    CAPTURE(c.args);
    const auto run = run_in_locale(dir, c.locale, binary, c.args);
    CHECK(run.status == c.status);
    const std::string& text = c.status == 0 ? run.out : run.err;
    CHECK(text.starts_with(c.start));
    CHECK(text.find(c.within) != std::string::npos);
  }
}

}  // namespace kuzet::testing
