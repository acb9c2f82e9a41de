#include "probe/capture/libpcap.hpp"

#include <dlfcn.h>

#include <mutex>

namespace kuzet::probe::capture {

namespace {

// Sets *out to the library's function `name`; the first one missing is named in *missing.
template <typename F>
void bind(void* lib, const char* name, F* out, std::string* missing) {
  *out = reinterpret_cast<F>(::dlsym(lib, name));
  if (!*out && missing->empty()) *missing = name;
}

struct Loaded {
  LibPcap api{};
  bool ok = false;
  std::string why;
};

Loaded load() {
  Loaded l;
  void* lib = nullptr;
  // Debian's soname first (package libpcap0.8), then upstream's.
  for (const char* name : {"libpcap.so.0.8", "libpcap.so.1", "libpcap.so"})
    if ((lib = ::dlopen(name, RTLD_NOW | RTLD_LOCAL))) break;
  if (!lib) {
    const char* err = ::dlerror();
    l.why = std::string("libpcap is not installed (") + (err ? err : "dlopen failed") + ")";
    return l;
  }
  std::string missing;
  auto& a = l.api;
  bind(lib, "pcap_create", &a.create, &missing);
  bind(lib, "pcap_set_snaplen", &a.set_snaplen, &missing);
  bind(lib, "pcap_set_promisc", &a.set_promisc, &missing);
  bind(lib, "pcap_set_immediate_mode", &a.set_immediate_mode, &missing);
  bind(lib, "pcap_set_timeout", &a.set_timeout, &missing);
  bind(lib, "pcap_set_buffer_size", &a.set_buffer_size, &missing);
  bind(lib, "pcap_activate", &a.activate, &missing);
  bind(lib, "pcap_geterr", &a.geterr, &missing);
  bind(lib, "pcap_close", &a.close, &missing);
  bind(lib, "pcap_datalink", &a.datalink, &missing);
  bind(lib, "pcap_compile", &a.compile, &missing);
  bind(lib, "pcap_setfilter", &a.setfilter, &missing);
  bind(lib, "pcap_freecode", &a.freecode, &missing);
  bind(lib, "pcap_dispatch", &a.dispatch, &missing);
  bind(lib, "pcap_breakloop", &a.breakloop, &missing);
  bind(lib, "pcap_setnonblock", &a.setnonblock, &missing);
  bind(lib, "pcap_fileno", &a.fileno, &missing);
  if (!missing.empty()) {
    l.why = "the installed libpcap lacks " + missing + " (libpcap 1.5 or later is needed)";
    ::dlclose(lib);
    return l;
  }
  l.ok = true;  // kept loaded for the process's life: the capture thread calls into it until exit
  return l;
}

}  // namespace

const LibPcap* load_libpcap(std::string* why) {
  static std::once_flag once;
  static Loaded loaded;
  std::call_once(once, [] { loaded = load(); });
  if (!loaded.ok) {
    *why = loaded.why;
    return nullptr;
  }
  return &loaded.api;
}

}  // namespace kuzet::probe::capture
