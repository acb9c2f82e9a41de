#pragma once
// The collector's log key: an Ed25519 signed-note key, generated on first start and kept in its own file
// (never in the database), in the form Go's note.NewSigner reads: "PRIVATE+KEY+<origin>+<hash>+<base64>".
#include <stdexcept>
#include <string>

#include "tlog/note.hpp"

namespace kuzet::collector::log {

struct LogKeyError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Default key file for a database: "<db>.log-key".
std::string default_log_key_path(const std::string& db_path);
// "<hostname>/kuzet-log": a log's origin must be unique; operators should set their public name.
std::string default_log_origin();

// Reads the key at `path`; creates it (mode 0600, written durably) when the file does not exist. The key's
// name is the log's origin: `origin` "" takes the file's (or default_log_origin() for a new key); a
// different origin than the file's is refused, since a log's origin never changes. Throws LogKeyError.
tlog::NoteSigner load_or_create_log_key(const std::string& path, const std::string& origin);

}  // namespace kuzet::collector::log
