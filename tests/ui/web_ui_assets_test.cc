// The web UI's serving side (web_ui.h): the embedded files, their content types and headers,
// names that are refused (traversal, escapes, hidden files), redirects, and `ui: false`.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "rocksdr/sidecar/web_ui.h"
#include "support/sidecar_harness.h"

namespace rocksdr::sidecar {
namespace {

std::string Header(const ApiResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

TEST(WebUiAssets, EmbedsTheScreensWithTheirTypes) {
  std::set<std::string> names;
  for (const WebUiAsset& a : EmbeddedWebUiAssets()) {
    names.insert(std::string(a.name));
    EXPECT_FALSE(a.bytes.empty()) << a.name;
  }
  for (const char* want : {"index.html", "app.js", "api.js", "lag_chart.js", "app.css"}) {
    EXPECT_TRUE(names.count(want)) << want;
  }
  EXPECT_EQ(EmbeddedWebUiVersion().size(), 12u);

  std::optional<ApiResponse> index = ServeWebUi("/ui/");
  ASSERT_TRUE(index.has_value());
  EXPECT_EQ(index->status, 200);
  EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
  ASSERT_TRUE(index->raw.has_value());
  // The build hash replaced the placeholder, so a new build never runs with a cached old script.
  EXPECT_EQ(index->raw->find("@UI_VERSION@"), std::string::npos);
  EXPECT_NE(index->raw->find("app.js?v=" + std::string(EmbeddedWebUiVersion())), std::string::npos);
  // Nothing is loaded from anywhere but this origin.
  EXPECT_EQ(index->raw->find("http://"), std::string::npos);
  EXPECT_EQ(index->raw->find("https://primary"), index->raw->find("https://"));  // only a placeholder text
  EXPECT_EQ(Header(*index, "Cache-Control"), "no-cache");
  EXPECT_EQ(Header(*index, "X-Content-Type-Options"), "nosniff");
  EXPECT_NE(Header(*index, "Content-Security-Policy").find("default-src 'none'"), std::string::npos);
  EXPECT_NE(Header(*index, "Content-Security-Policy").find("frame-ancestors 'none'"), std::string::npos);

  std::optional<ApiResponse> js = ServeWebUi("/ui/app.js?v=123");
  ASSERT_TRUE(js.has_value());
  EXPECT_EQ(js->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(Header(*js, "Cache-Control"), "public, max-age=86400");
  std::optional<ApiResponse> css = ServeWebUi("/ui/app.css");
  ASSERT_TRUE(css.has_value());
  EXPECT_EQ(css->content_type, "text/css; charset=utf-8");
  EXPECT_EQ(ServeWebUi("/ui/index.html")->raw, index->raw);
}

TEST(WebUiAssets, RedirectsToTheUi) {
  for (const char* target : {"/", "/ui", "/ui?x=1"}) {
    std::optional<ApiResponse> r = ServeWebUi(target);
    ASSERT_TRUE(r.has_value()) << target;
    EXPECT_EQ(r->status, 307) << target;
    EXPECT_EQ(Header(*r, "Location"), "/ui/") << target;
  }
}

TEST(WebUiAssets, RefusesEverythingElse) {
  for (const char* target : {"/ui/../v1/sys/health", "/ui/..%2fsidecar.yaml", "/ui/%2e%2e/x", "/ui/./app.js",
                             "/ui//app.js", "/ui/sub/app.js", "/ui/.hidden", "/ui/app.js/", "/ui/app..js",
                             "/ui/missing.js", "/ui/APP.JS", "/uix/app.js", "/other", "/ui\\app.js",
                             "/ui/app.js%00.png", "/ui/ap p.js"}) {
    EXPECT_FALSE(ServeWebUi(target).has_value()) << target;
  }
  EXPECT_FALSE(ServeWebUi("/ui/" + std::string(kMaxWebUiTarget, 'a')).has_value());
}

TEST(WebUiAssets, ServedBySidecarWhenEnabledOnly) {
  auto on = testing::SidecarHarness::Start();
  testing::Reply r = on->Call("GET", "/ui/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_NE(r.body.find("<title>rocksdr"), std::string::npos);
  EXPECT_EQ(on->Call("GET", "/ui/lag_chart.js").content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(on->Call("GET", "/ui").status, 307);
  // A traversal attempt sent as is (no client-side normalisation) is a JSON 404.
  testing::Reply bad = on->Call("GET", "/ui/../v1/sys/health");
  EXPECT_EQ(bad.status, 404);
  EXPECT_EQ(bad.content_type, "application/json");
  EXPECT_EQ(on->Call("GET", "/ui/nope.js").status, 404);
  // The UI is read-only: other methods are refused.
  EXPECT_EQ(on->Call("POST", "/ui/", "{}").status, 405);
  EXPECT_EQ(on->Call("DELETE", "/ui/app.js").status, 405);
  // The API is unaffected.
  EXPECT_EQ(on->Call("GET", "/v1/sys/seal-status").status, 200);

  SidecarConfig config = testing::SidecarHarness::DefaultConfig();
  config.ui = false;
  auto off = testing::SidecarHarness::Start(config);
  EXPECT_EQ(off->Call("GET", "/ui/").status, 404);
  EXPECT_EQ(off->Call("GET", "/").status, 404);
  EXPECT_EQ(off->Call("GET", "/v1/sys/seal-status").status, 200);
}

}  // namespace
}  // namespace rocksdr::sidecar
