#pragma once
// Reading a file that may be hostile or huge, without holding more than the cap in memory and without
// paying for the cap when the file is small: a buffer of cap + 1 bytes zero-filled up front made every
// probe run touch 8 MB of memory for a 4 KB spec (issue 17, peak RSS).
#include <algorithm>
#include <istream>
#include <string>

namespace kuzet::core {

// Reads at most max_bytes + 1 bytes of `in` into `text` (replacing it), growing as bytes arrive. false on a
// read error; text.size() > max_bytes then means the input is larger than the cap.
inline bool read_capped(std::istream& in, size_t max_bytes, std::string& text) {
  text.clear();
  char chunk[16 * 1024];
  while (text.size() <= max_bytes) {
    const size_t want = std::min(sizeof chunk, max_bytes + 1 - text.size());
    in.read(chunk, static_cast<std::streamsize>(want));
    text.append(chunk, static_cast<size_t>(in.gcount()));
    if (in.bad()) return false;
    if (!in) break;  // end of input
  }
  return true;
}

}  // namespace kuzet::core
