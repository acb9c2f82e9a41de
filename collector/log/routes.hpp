#pragma once
// The log's read API on the collector's HTTP server (docs/transparency-log.md):
//   GET /log/checkpoint                      the latest signed checkpoint (C2SP tlog-checkpoint)
//   GET /log/key                             the log's signed-note verifier key
//   GET /log/tile/<L>/<N>[.p/<W>]            hash tiles (C2SP tlog-tiles)
//   GET /log/tile/entries/<N>[.p/<W>]        entry bundles
//   GET /log/consistency?from=A&to=B         {"proof": [base64 hashes]}
//   GET /api/v1/measurements/{uid}/proof     {"index", "tree_size", "inclusion", "checkpoint", "entry"}
#include "collector/log/checkpointer.hpp"
#include "collector/store/store.hpp"

namespace httplib {
class Server;
}

namespace kuzet::collector::log {

// Both must outlive the server.
void register_log_routes(httplib::Server& server, Store& store, Checkpointer& checkpointer);

}  // namespace kuzet::collector::log
