#pragma once
// The version of Kuzet's programs (`kuzet-probe --version`, `kuzet-collector --version`, the measurements'
// software field). Kept equal to project(VERSION) in CMakeLists.txt, which the .deb takes: tests/probe checks.
namespace kuzet::core {

inline constexpr const char* kVersion = "0.1.0";

}  // namespace kuzet::core
