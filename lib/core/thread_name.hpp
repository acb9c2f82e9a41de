#pragma once
// Names the calling thread (at most 15 bytes; longer names are cut) so that top -H, perf and
// /proc/PID/task/*/comm tell a collector's threads apart (bench_collector_ingest prints CPU per name).
#include <pthread.h>

#include <string>

namespace kuzet::core {

inline void name_this_thread(const std::string& name) {
  ::pthread_setname_np(::pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace kuzet::core
