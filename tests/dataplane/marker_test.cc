// Tests of the in-band marker format (plugin/src/marker.h).
#include "../../plugin/src/marker.h"

#include <gtest/gtest.h>

#include <string>

#include "../../plugin/src/reserved_cf.h"

namespace rocksdr::plugin {
namespace {

Marker Make(MarkerKind kind, uint64_t id, std::string name, uint64_t count = 0) {
  Marker m;
  m.kind = kind;
  m.id = id;
  m.name = std::move(name);
  m.count = count;
  return m;
}

TEST(Marker, EncodesTheDocumentedText) {
  EXPECT_EQ(EncodeMarker(Make(MarkerKind::kCfCreate, 7, "users")), "rocksdr:cf-create:7:users");
  EXPECT_EQ(EncodeMarker(Make(MarkerKind::kCfDrop, 3, "old")), "rocksdr:cf-drop:3:old");
  EXPECT_EQ(EncodeMarker(Make(MarkerKind::kIngest, 2, "", 5)), "rocksdr:ingest:2:5");
  EXPECT_EQ(EncodeMarker(Make(MarkerKind::kEpoch, 4, "c1d2")), "rocksdr:epoch:4:c1d2");
  Marker named = Make(MarkerKind::kEpoch, 4, "c1d2");
  named.history = "9b1e";
  EXPECT_EQ(EncodeMarker(named), "rocksdr:epoch:4:c1d2:9b1e");
  // ':' and '%' and spaces in names are escaped so that the fields stay separable.
  EXPECT_EQ(EncodeMarker(Make(MarkerKind::kCfCreate, 1, "a:b%c d")), "rocksdr:cf-create:1:a%3Ab%25c%20d");
}

TEST(Marker, RoundTripsEveryKindAndAwkwardNames) {
  const std::string binary("\x00\xff:%\n", 5);
  const Marker cases[] = {
      Make(MarkerKind::kCfCreate, 0, "default"),
      Make(MarkerKind::kCfCreate, UINT64_MAX, "a:b:c"),
      Make(MarkerKind::kCfDrop, 12, binary),
      Make(MarkerKind::kIngest, 9, "", UINT64_MAX),
      Make(MarkerKind::kEpoch, 1, "8d3c0a9e-1111-2222-3333-444455556666"),
  };
  for (const Marker& m : cases) {
    const std::string blob = EncodeMarker(m);
    ASSERT_EQ(blob.rfind(kMarkerPrefix, 0), 0u);
    auto d = DecodeMarker(blob);
    ASSERT_TRUE(d.ok()) << blob << ": " << d.status().ToString();
    EXPECT_EQ(d->kind, m.kind);
    EXPECT_EQ(d->id, m.id);
    EXPECT_EQ(d->name, m.name);
    EXPECT_EQ(d->count, m.count);
    EXPECT_EQ(d->history, "");
  }
}

TEST(Marker, EpochMarkersCarryTheirHistoryId) {
  Marker m = Make(MarkerKind::kEpoch, 6, "cluster:a");
  m.history = "0f5c1f7e-4c2a-4a8e-9d57-3b1d2f6a9c11";
  auto d = DecodeMarker(EncodeMarker(m));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->id, 6u);
  EXPECT_EQ(d->name, "cluster:a");
  EXPECT_EQ(d->history, m.history);
  // Empty, too long, or not printable: refused.
  for (const std::string& bad : {std::string("rocksdr:epoch:6:c:"), "rocksdr:epoch:6:c:" + std::string(65, 'a'),
                                 std::string("rocksdr:epoch:6:c:a%20b"), std::string("rocksdr:epoch:6:c:a:b")}) {
    EXPECT_EQ(DecodeMarker(bad).status().code(), Code::kCorruption) << bad;
  }
}

TEST(Marker, ForeignLogDataIsNotFound) {
  EXPECT_EQ(DecodeMarker("").status().code(), Code::kNotFound);
  EXPECT_EQ(DecodeMarker("app:cf-create:1:x").status().code(), Code::kNotFound);
  EXPECT_EQ(DecodeMarker("rocksdr").status().code(), Code::kNotFound);
}

TEST(Marker, MalformedBlobsWithOurPrefixAreCorruption) {
  const char* bad[] = {
      "rocksdr:",                       // nothing
      "rocksdr:cf-create",              // no fields
      "rocksdr:cf-create:1",            // no name
      "rocksdr:cf-create:1:",           // empty name
      "rocksdr:cf-rename:1:x",          // unknown kind
      "rocksdr:cf-create::x",           // empty id
      "rocksdr:cf-create:01:x",         // non-canonical number
      "rocksdr:cf-create:-1:x",         // sign
      "rocksdr:cf-create:1x:x",         // trailing garbage in number
      "rocksdr:cf-create:18446744073709551616:x",  // uint64 overflow
      "rocksdr:cf-create:1:a:b",        // unescaped ':'
      "rocksdr:cf-create:1:a b",        // unescaped space
      "rocksdr:cf-create:1:a%2",        // truncated escape
      "rocksdr:cf-create:1:a%G0",       // bad hex
      "rocksdr:ingest:1:x",             // count not a number
      "rocksdr:epoch:2:",               // empty cluster id
  };
  for (const char* b : bad) {
    auto d = DecodeMarker(b);
    EXPECT_EQ(d.status().code(), Code::kCorruption) << b << " -> " << d.status().ToString();
  }
  std::string huge = "rocksdr:cf-create:1:" + std::string(70 * 1024, 'a');
  EXPECT_EQ(DecodeMarker(huge).status().code(), Code::kCorruption);
}

}  // namespace
}  // namespace rocksdr::plugin
