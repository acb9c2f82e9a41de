#pragma once
// The dashboard's static files (collector/web/), embedded at build time by embed_web.cmake.
#include <cstddef>

namespace kuzet::timeline::api {

struct WebAsset {
  const char* path;  // URL path: "/", "/app.js", ...
  const char* content_type;
  const unsigned char* data;
  size_t size;
};

extern const WebAsset kWebAssets[];
extern const size_t kWebAssetCount;

}  // namespace kuzet::timeline::api
