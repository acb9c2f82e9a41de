// The timeline routes alone over a database, with kuzet-collector's command line for serving
// (timeline_test_server serve --db DB --listen 127.0.0.1:PORT): lets the dashboard test run when the
// collector binary is built without timelines. Prints the same first line as kuzet-collector serve.
#include <httplib.h>

#include <cstdio>
#include <string>

#include "collector/timeline/api.hpp"
#include "collector/timeline/index.hpp"

int main(int argc, char** argv) {
  std::string db, listen = "127.0.0.1:0";
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--db") db = argv[i + 1];
    else if (a == "--listen") listen = argv[i + 1];
  }
  if (argc < 2 || std::string(argv[1]) != "serve" || db.empty())
    return std::fprintf(stderr, "usage: timeline_test_server serve --db DB [--listen 127.0.0.1:PORT]\n"), 2;
  const auto colon = listen.rfind(':');
  const std::string host = listen.substr(0, colon);
  int port = std::stoi(listen.substr(colon + 1));
  kuzet::timeline::TimelineIndex index(db);
  httplib::Server http;
  kuzet::timeline::register_timeline_routes(http, index);
  if (port == 0) port = http.bind_to_any_port(host);
  else if (!http.bind_to_port(host, port)) return 1;
  if (port <= 0) return 1;
  std::printf("kuzet-collector listening on %s:%d (db %s)\n", host.c_str(), port, db.c_str());
  std::fflush(stdout);
  http.listen_after_bind();
}
