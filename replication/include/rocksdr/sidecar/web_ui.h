// The web UI (`/ui/`): static HTML/CSS/JS files under replication/src/sidecar/ui/, embedded into
// the binary at build time (cmake/EmbedWebUi.cmake generates the table below), so the UI is
// installed with the sidecar and nothing is fetched from anywhere at run time. The pages are a
// client of the sidecar's own Vault-compatible API (/v1/..., X-Vault-Token); serving them needs
// no token and reveals nothing but the files.
//
// ServeWebUi answers the HTTP server's `other_handler` hook (http_server.h) when the sidecar
// configuration has `ui: true`:
//   /            -> 307 to /ui/ (as Vault)
//   /ui          -> 307 to /ui/
//   /ui/         -> index.html
//   /ui/<name>   -> the embedded file of exactly that name (letters, digits, '_', '-', '.';
//                   no '/', no "..", no percent escapes: there is no file system behind it, and
//                   any other name is a 404)
// The query string is ignored. Answers carry the file's content type, Cache-Control (index.html:
// no-cache, so a new build is picked up at once; the other files: one day, the page asks for them
// as name?v=<build hash>), X-Content-Type-Options: nosniff, a Content-Security-Policy that allows
// only this origin (no inline script, no framing) and Referrer-Policy: no-referrer.
//
// Who may call: any thread; the table is immutable.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rocksdr/sidecar/api.h"

namespace rocksdr::sidecar {

struct WebUiAsset {
  std::string_view name;          // e.g. "app.js"
  std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
  std::string_view bytes;
};

// The embedded files (generated at build time) and a hash of them (12 hex digits).
const std::vector<WebUiAsset>& EmbeddedWebUiAssets();
std::string_view EmbeddedWebUiVersion();

// Longest request target the UI handler looks at; longer ones are a 404.
inline constexpr size_t kMaxWebUiTarget = 1024;

// The response for `target` (path and optional query, as received), or nullopt when the target is
// not the UI's (the server then answers 404 "unsupported path").
std::optional<ApiResponse> ServeWebUi(std::string_view target);

}  // namespace rocksdr::sidecar
