// FrameDecoder and EncodeFrame: layout, incremental decoding, and every way a stream can be bad.
#include "rocksdr/replication/frame.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "rocksdr/replication/crc32c.h"

namespace rocksdr::replication {
namespace {

std::string Frame1(FrameType type, std::string_view payload) {
  std::string out;
  EncodeFrame(type, payload, &out);
  return out;
}

// Feeds `bytes` whole and collects every frame until nullopt; fails the test on an error.
std::vector<Frame> DecodeAll(FrameDecoder* d, std::string_view bytes) {
  d->Feed(bytes);
  std::vector<Frame> frames;
  for (;;) {
    auto r = d->Next();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok() || !r->has_value()) break;
    frames.push_back(std::move(**r));
  }
  return frames;
}

TEST(Frame, LayoutIsLengthTypePayloadMaskedCrc) {
  std::string f = Frame1(FrameType::kBatches, "abc");
  ASSERT_EQ(f.size(), 3 + kFrameOverhead);
  EXPECT_EQ(f.substr(0, 5), std::string("\x03\x00\x00\x00\x03", 5));
  EXPECT_EQ(f.substr(5, 3), "abc");
  uint32_t crc = crc32c::Mask(crc32c::Value(f.data(), 8));
  std::string trailer = {static_cast<char>(crc & 0xff), static_cast<char>((crc >> 8) & 0xff),
                         static_cast<char>((crc >> 16) & 0xff), static_cast<char>(crc >> 24)};
  EXPECT_EQ(f.substr(8), trailer);
}

TEST(Frame, BeginFinishEqualsEncodeFrame) {
  std::string a = "prefix";
  std::string b = "prefix";
  EncodeFrame(FrameType::kFileChunk, "payload bytes", &a);
  size_t start = BeginFrame(FrameType::kFileChunk, &b);
  b += "payload bytes";
  FinishFrame(start, &b);
  EXPECT_EQ(a, b);
}

TEST(Frame, RoundTripsEveryTypeWithEmptyAndNonEmptyPayloads) {
  std::string stream;
  std::vector<std::pair<FrameType, std::string>> sent;
  for (uint8_t t = 1; t <= kMaxFrameType; ++t) {
    for (std::string payload : {std::string(), std::string("x"), std::string(1000, '\xab')}) {
      EncodeFrame(static_cast<FrameType>(t), payload, &stream);
      sent.emplace_back(static_cast<FrameType>(t), payload);
    }
  }
  FrameDecoder d;
  std::vector<Frame> got = DecodeAll(&d, stream);
  ASSERT_EQ(got.size(), sent.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].type, sent[i].first);
    EXPECT_EQ(got[i].payload, sent[i].second);
  }
  EXPECT_EQ(d.buffered_bytes(), 0u);
  EXPECT_EQ(d.frames_decoded(), sent.size());
  EXPECT_EQ(d.stream_offset(), stream.size());
}

TEST(Frame, MaxSizePayloadIsAcceptedAndOneMoreIsRefused) {
  ProtocolLimits limits;
  limits.max_frame_payload = kMinFramePayloadLimit;
  ASSERT_TRUE(ValidateProtocolLimits(limits).ok());
  std::string max_payload(limits.max_frame_payload, 'm');
  FrameDecoder ok_decoder(limits);
  std::vector<Frame> got = DecodeAll(&ok_decoder, Frame1(FrameType::kFileChunk, max_payload));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, max_payload);

  FrameDecoder d(limits);
  d.Feed(Frame1(FrameType::kFileChunk, max_payload + "!"));
  auto r = d.Next();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kResourceExhausted);
  EXPECT_NE(r.status().message().find("exceeds the limit of 65536"), std::string::npos) << r.status().ToString();
}

TEST(Frame, EveryTruncationWaitsWithoutError) {
  std::string f = Frame1(FrameType::kHeartbeat, "0123456789abcdef");
  for (size_t k = 0; k < f.size(); ++k) {
    FrameDecoder d;
    d.Feed(f.data(), k);
    auto r = d.Next();
    ASSERT_TRUE(r.ok()) << "prefix " << k << ": " << r.status().ToString();
    EXPECT_FALSE(r->has_value()) << "prefix " << k;
    EXPECT_FALSE(d.failed());
    // The rest arrives: the frame is complete and intact.
    d.Feed(f.data() + k, f.size() - k);
    auto r2 = d.Next();
    ASSERT_TRUE(r2.ok() && r2->has_value()) << "prefix " << k;
    EXPECT_EQ((*r2)->payload, "0123456789abcdef");
  }
}

TEST(Frame, ByteByByteFeedYieldsEachFrameExactlyWhenComplete) {
  std::vector<std::string> frames = {Frame1(FrameType::kHello, "h"), Frame1(FrameType::kBootstrapEnd, ""),
                                     Frame1(FrameType::kGoodbye, std::string(300, 'g'))};
  std::string stream;
  std::vector<size_t> ends;
  for (const std::string& f : frames) {
    stream += f;
    ends.push_back(stream.size());
  }
  FrameDecoder d;
  size_t next_end = 0;
  for (size_t i = 0; i < stream.size(); ++i) {
    d.Feed(&stream[i], 1);
    auto r = d.Next();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    bool complete = i + 1 == ends[next_end];
    ASSERT_EQ(r->has_value(), complete) << "after byte " << i;
    if (complete) ++next_end;
  }
  EXPECT_EQ(next_end, frames.size());
}

TEST(Frame, RandomChunkingDecodesTheSameFrames) {
  std::mt19937 rng(7);
  std::string stream;
  std::vector<std::string> payloads;
  for (int i = 0; i < 200; ++i) {
    std::string p(rng() % 2000, '\0');
    for (char& c : p) c = static_cast<char>(rng());
    payloads.push_back(p);
    EncodeFrame(FrameType::kBatches, p, &stream);
  }
  FrameDecoder d;
  std::vector<std::string> got;
  size_t pos = 0;
  while (pos < stream.size()) {
    size_t n = std::min<size_t>(stream.size() - pos, 1 + rng() % 3000);
    d.Feed(stream.data() + pos, n);
    pos += n;
    for (;;) {
      auto r = d.Next();
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      if (!r->has_value()) break;
      got.push_back((*r)->payload);
    }
  }
  EXPECT_EQ(got, payloads);
}

TEST(Frame, CorruptedByteAnywhereIsDetected) {
  const std::string payload = "a payload long enough to be interesting";
  const std::string f = Frame1(FrameType::kAck, payload);
  // With the smallest limit, more bytes than any accepted length follow the frame, so a corrupted
  // length that grows cannot just wait for more input.
  ProtocolLimits limits;
  limits.max_frame_payload = kMinFramePayloadLimit;
  const std::string tail(kMinFramePayloadLimit + 2 * kFrameOverhead, 'z');
  for (size_t i = 0; i < f.size(); ++i) {
    for (unsigned char mask : {0x01, 0x10, 0x80, 0xff}) {
      std::string bad = f;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      FrameDecoder d(limits);
      d.Feed(bad);
      d.Feed(tail);
      auto r = d.Next();
      ASSERT_FALSE(r.ok()) << "byte " << i << " mask " << int(mask) << " was not detected";
      Code c = r.status().code();
      EXPECT_TRUE(c == Code::kCorruption || c == Code::kResourceExhausted) << r.status().ToString();
      if (i >= 5) {  // payload or CRC: length and type are intact, so only the CRC can notice
        EXPECT_NE(r.status().message().find("checksum mismatch"), std::string::npos) << r.status().ToString();
      }
      EXPECT_TRUE(d.failed());
    }
  }
}

TEST(Frame, OversizeLengthIsRefusedFromTheHeaderAlone) {
  FrameDecoder d;
  const char header[4] = {'\xff', '\xff', '\xff', '\x7f'};
  d.Feed(header, 4);  // not even the type byte yet
  auto r = d.Next();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kResourceExhausted);
  EXPECT_NE(r.status().message().find("2147483647"), std::string::npos) << r.status().ToString();
}

TEST(Frame, OversizeFrameInOneFeedIsNotBuffered) {
  FrameDecoder d;
  std::string bytes("\x00\x00\x00\x10\x03", 5);  // 256 MiB payload announced
  bytes += std::string(1 << 20, 'p');           // and a large chunk of it in the same read
  d.Feed(bytes);
  EXPECT_TRUE(d.failed());
  EXPECT_LE(d.buffered_bytes(), kFrameHeaderSize);
  d.Feed(bytes);  // dropped after the failure
  EXPECT_LE(d.buffered_bytes(), kFrameHeaderSize);
  EXPECT_EQ(d.Next().status().code(), Code::kResourceExhausted);
}

TEST(Frame, UnknownTypeIsRefusedFromTheHeader) {
  for (uint8_t t : {uint8_t{0}, uint8_t{kMaxFrameType + 1}, uint8_t{200}, uint8_t{255}}) {
    FrameDecoder d;
    char header[5] = {1, 0, 0, 0, static_cast<char>(t)};
    d.Feed(header, 5);
    auto r = d.Next();
    ASSERT_FALSE(r.ok()) << "type " << int(t);
    EXPECT_EQ(r.status().code(), Code::kCorruption);
    EXPECT_NE(r.status().message().find("unknown frame type " + std::to_string(t)), std::string::npos)
        << r.status().ToString();
  }
}

TEST(Frame, HttpRequestIsRefusedWithAHint) {
  FrameDecoder d;
  d.Feed("GET /v1/sys/health HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = d.Next();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kResourceExhausted);
  EXPECT_NE(r.status().message().find("47 45 54 20"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("rocksdr replication endpoint"), std::string::npos);
}

TEST(Frame, RandomGarbageNeverYieldsAFrame) {
  std::mt19937 rng(99);
  ProtocolLimits limits;
  limits.max_frame_payload = kMinFramePayloadLimit;  // every accepted length completes below
  for (int trial = 0; trial < 2000; ++trial) {
    std::string g(1 + rng() % 200, '\0');
    for (char& c : g) c = static_cast<char>(rng());
    if (trial % 2 == 0) g[3] = 0;  // keep the length small half of the time, to reach the CRC
    FrameDecoder d(limits);
    d.Feed(g);
    d.Feed(std::string(kMinFramePayloadLimit + 2 * kFrameOverhead, '\0'));
    auto r = d.Next();
    EXPECT_FALSE(r.ok()) << "trial " << trial;
  }
}

TEST(Frame, ErrorsAreStickyAndNameTheFrame) {
  FrameDecoder d;
  std::string good = Frame1(FrameType::kHeartbeat, "ok");
  std::string bad = Frame1(FrameType::kHeartbeat, "no");
  bad[6] ^= 1;
  d.Feed(good);
  d.Feed(bad);
  auto first = d.Next();
  ASSERT_TRUE(first.ok() && first->has_value());
  auto r = d.Next();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("frame #2 at stream offset " + std::to_string(good.size())),
            std::string::npos)
      << r.status().ToString();
  EXPECT_NE(r.status().message().find("HEARTBEAT"), std::string::npos);
  d.Feed(good);
  auto again = d.Next();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().message(), r.status().message());
}

TEST(Frame, NextOnEmptyDecoderWaits) {
  FrameDecoder d;
  auto r = d.Next();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  d.Feed(nullptr, 0);
  EXPECT_FALSE(d.failed());
}

TEST(Frame, ValidateProtocolLimitsBounds) {
  ProtocolLimits l;
  EXPECT_TRUE(ValidateProtocolLimits(l).ok());
  l.max_frame_payload = kMinFramePayloadLimit - 1;
  EXPECT_EQ(ValidateProtocolLimits(l).code(), Code::kInvalidArgument);
  l.max_frame_payload = kMaxFramePayloadCeiling + 1;
  EXPECT_EQ(ValidateProtocolLimits(l).code(), Code::kInvalidArgument);
  l.max_frame_payload = kMaxFramePayloadCeiling;
  EXPECT_TRUE(ValidateProtocolLimits(l).ok());
  l.max_batches_per_frame = 0;
  Status s = ValidateProtocolLimits(l);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("max_batches_per_frame"), std::string::npos);
}

TEST(Frame, DirectionsAndNames) {
  EXPECT_TRUE(SecondaryMaySend(FrameType::kHello));
  EXPECT_FALSE(PrimaryMaySend(FrameType::kHello));
  EXPECT_TRUE(SecondaryMaySend(FrameType::kAck));
  EXPECT_FALSE(PrimaryMaySend(FrameType::kAck));
  EXPECT_TRUE(PrimaryMaySend(FrameType::kBatches));
  EXPECT_FALSE(SecondaryMaySend(FrameType::kBatches));
  EXPECT_FALSE(SecondaryMaySend(FrameType::kFileChunk));
  EXPECT_TRUE(PrimaryMaySend(FrameType::kError) && SecondaryMaySend(FrameType::kError));
  EXPECT_TRUE(PrimaryMaySend(FrameType::kGoodbye) && SecondaryMaySend(FrameType::kGoodbye));
  EXPECT_EQ(FrameTypeName(FrameType::kBootstrapBegin), "BOOTSTRAP_BEGIN");
  EXPECT_EQ(FrameTypeName(static_cast<FrameType>(77)), "UNKNOWN");
  EXPECT_FALSE(IsKnownFrameType(0));
  EXPECT_TRUE(IsKnownFrameType(kMaxFrameType));
}

}  // namespace
}  // namespace rocksdr::replication
