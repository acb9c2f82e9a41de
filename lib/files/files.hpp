#pragma once
// Durable small files: what the probe's state files (queue cursor, daemon status, keys, history, network
// memory) and the collector's log key need so that a write survives kill -9 and power loss. Errors are
// returned as text, "" = success.
#include <sys/types.h>

#include <string>

namespace kuzet::files {

// Writes all of data to fd, retrying after EINTR and short writes. false on an error (errno says which).
bool write_all(int fd, const std::string& data);

// "what: <strerror(errno)>", for the errors these helpers return.
std::string errno_text(const std::string& what);

// fsyncs a directory, so that files created, renamed or removed in it stay so after a crash.
std::string fsync_directory(const std::string& dir);

// Writes to path.tmp (created with `mode`), fsyncs it, renames it over path and (when durable) fsyncs the
// directory: a crash leaves the old content or the new.
std::string write_file_atomically(const std::string& path, const std::string& content, bool durable = true,
                                  mode_t mode = 0644);

}  // namespace kuzet::files
