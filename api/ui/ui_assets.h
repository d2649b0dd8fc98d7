// api/ui/ui_assets.h — the web view's files, compiled into the binary from
// ui/ of the source tree (api/ui/CMakeLists.txt writes the table at
// configure time, and configures again when a file changes).
// Thread-safety: immutable data.
#pragma once

#include <span>
#include <string_view>

namespace strongroom::api {

// UiAsset is one file: its name in ui/ ("app.js"), the Content-Type it is
// served with, and its bytes.
struct UiAsset {
  std::string_view name;
  std::string_view content_type;
  std::string_view bytes;
};

// UiAssets lists every compiled-in file, index.html included.
std::span<const UiAsset> UiAssets();

// FindUiAsset returns the file named `name`, or nullptr when there is none
// (a name is matched exactly: no path, no decoding).
const UiAsset* FindUiAsset(std::string_view name);

}  // namespace strongroom::api
