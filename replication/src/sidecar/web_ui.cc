// Implementation of web_ui.h: ServeWebUi (the table itself is generated at build time).
#include "rocksdr/sidecar/web_ui.h"

namespace rocksdr::sidecar {

namespace {

constexpr std::string_view kPrefix = "/ui/";
constexpr std::string_view kIndex = "index.html";

// Only this origin; no inline script or style elements, no plugins, no framing, no forms posted
// elsewhere. Canvas drawing and element.style from script are not affected.
constexpr std::string_view kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 128 || name.front() == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.';
    if (!ok) return false;
  }
  return name.find("..") == std::string_view::npos;
}

ApiResponse Redirect(std::string location) {
  ApiResponse r;
  r.status = 307;
  r.raw = "Redirecting to " + location + "\n";
  r.content_type = "text/plain; charset=utf-8";
  r.headers.emplace_back("Location", std::move(location));
  return r;
}

}  // namespace

std::optional<ApiResponse> ServeWebUi(std::string_view target) {
  if (target.size() > kMaxWebUiTarget) return std::nullopt;
  std::string_view path = target.substr(0, target.find('?'));
  if (path == "/" || path == "/ui") return Redirect(std::string(kPrefix));
  if (path.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string_view name = path.substr(kPrefix.size());
  if (name.empty()) name = kIndex;
  if (!ValidName(name)) return std::nullopt;
  for (const WebUiAsset& a : EmbeddedWebUiAssets()) {
    if (a.name != name) continue;
    ApiResponse r;
    r.status = 200;
    r.raw = std::string(a.bytes);
    r.content_type = std::string(a.content_type);
    r.headers.emplace_back("Cache-Control", name == kIndex ? "no-cache" : "public, max-age=86400");
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    r.headers.emplace_back("Content-Security-Policy", std::string(kCsp));
    r.headers.emplace_back("Referrer-Policy", "no-referrer");
    r.headers.emplace_back("X-Frame-Options", "DENY");
    return r;
  }
  return std::nullopt;
}

}  // namespace rocksdr::sidecar
