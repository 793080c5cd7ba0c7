// Message codec: round trips (typical, empty, maximal values), byte layouts, truncation, trailing
// bytes, and every bound and rule a decoder enforces.
#include "rocksdr/replication/messages.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "rocksdr/replication/crc32c.h"

namespace rocksdr::replication {
namespace {

constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();

template <typename M>
M RoundTrip(const M& m, const ProtocolLimits& limits = ProtocolLimits()) {
  EXPECT_TRUE(Validate(m, limits).ok()) << Validate(m, limits).ToString();
  // Through a whole frame and the decoder, as a session would.
  std::string stream;
  AppendMessageFrame(m, &stream);
  FrameDecoder d(limits);
  d.Feed(stream);
  auto f = d.Next();
  EXPECT_TRUE(f.ok() && f->has_value());
  M out;
  if (!f.ok() || !f->has_value()) return out;
  EXPECT_EQ((*f)->type, M::kType);
  EXPECT_EQ((*f)->payload, Encode(m));
  Status s = Decode((*f)->payload, &out, limits);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

// Every strict prefix of a valid payload fails to decode, and so does one trailing byte.
template <typename M>
void ExpectTruncationsAndTrailingRefused(const M& m) {
  std::string p = Encode(m);
  for (size_t k = 0; k < p.size(); ++k) {
    M out;
    Status s = Decode(std::string_view(p).substr(0, k), &out);
    EXPECT_FALSE(s.ok()) << FrameTypeName(M::kType) << " prefix of " << k << " bytes decoded";
  }
  M out;
  Status s = Decode(p + "x", &out);
  EXPECT_FALSE(s.ok()) << FrameTypeName(M::kType) << " with a trailing byte decoded";
}

Hello SampleHello() {
  Hello h;
  h.cluster_id = "3f2a9c1e-cluster";
  h.epoch = 4;
  h.secondary_id = "dc2-secondary";
  h.has_cursor = true;
  h.last_applied_sequence = 123456789;
  h.max_frame_payload = 1 << 20;
  h.window_bytes = 8 << 20;
  return h;
}

WalBatch MakeBatch(uint64_t seq, uint32_t count, size_t rep_size, char fill = 'r') {
  WalBatch b;
  b.sequence = seq;
  b.count = count;
  b.rep.assign(rep_size, fill);
  return b;
}

TEST(Messages, HelloRoundTrip) {
  Hello h = SampleHello();
  Hello out = RoundTrip(h);
  EXPECT_EQ(out.min_version, h.min_version);
  EXPECT_EQ(out.max_version, h.max_version);
  EXPECT_EQ(out.cluster_id, h.cluster_id);
  EXPECT_EQ(out.epoch, 4u);
  EXPECT_EQ(out.secondary_id, h.secondary_id);
  EXPECT_TRUE(out.has_cursor);
  EXPECT_EQ(out.last_applied_sequence, 123456789u);
  EXPECT_EQ(out.max_frame_payload, 1u << 20);
  EXPECT_EQ(out.window_bytes, 8u << 20);
  ExpectTruncationsAndTrailingRefused(h);
}

TEST(Messages, HelloLayoutByteByByte) {
  Hello h;
  h.cluster_id = "c";
  h.epoch = 0x0102030405060708;
  h.secondary_id = "s2";
  h.has_cursor = true;
  h.last_applied_sequence = 0x10;
  h.max_frame_payload = 0x00100000;
  h.window_bytes = 0x04000000;
  const std::string max_version = {static_cast<char>(kProtocolVersion & 0xff), static_cast<char>(kProtocolVersion >> 8)};
  std::string expected = std::string("\x01\x00", 2) + max_version + "\x01" "c" +
                         "\x08\x07\x06\x05\x04\x03\x02\x01" + "\x02" "s2" + "\x01" +
                         std::string("\x10\0\0\0\0\0\0\0", 8) + std::string("\0\0\x10\0", 4) +
                         std::string("\0\0\0\x04\0\0\0\0", 8) +
                         std::string("\0", 1);  // history (version 4): empty
  EXPECT_EQ(Encode(h), expected);
  h.history = "h1";
  EXPECT_EQ(Encode(h), expected.substr(0, expected.size() - 1) + "\x02" "h1");
}

TEST(Messages, HelloEmptyAndMaximalValues) {
  Hello fresh;
  fresh.cluster_id = "c";
  fresh.secondary_id = "s";
  Hello out = RoundTrip(fresh);
  EXPECT_FALSE(out.has_cursor);
  EXPECT_EQ(out.last_applied_sequence, 0u);
  EXPECT_EQ(out.epoch, 0u);

  ProtocolLimits limits;
  Hello big = SampleHello();
  big.cluster_id = std::string(limits.max_id_length, 'C');
  big.secondary_id = std::string(limits.max_id_length, 'S');
  big.epoch = kU64Max;
  big.last_applied_sequence = kMaxSequenceNumber;
  big.max_frame_payload = kMaxFramePayloadCeiling;
  big.window_bytes = kU64Max;
  big.min_version = 1;
  big.max_version = 1;
  out = RoundTrip(big);
  EXPECT_EQ(out.cluster_id, big.cluster_id);
  EXPECT_EQ(out.epoch, kU64Max);
  EXPECT_EQ(out.last_applied_sequence, kMaxSequenceNumber);
  EXPECT_EQ(out.window_bytes, kU64Max);
}

TEST(Messages, HelloRulesAreEnforced) {
  Hello out;
  Hello h = SampleHello();
  h.cluster_id = std::string(257, 'c');
  Status s = Decode(Encode(h), &out);
  EXPECT_EQ(s.code(), Code::kResourceExhausted);
  EXPECT_NE(s.message().find("cluster_id"), std::string::npos) << s.ToString();

  h = SampleHello();
  h.secondary_id = "has space";
  EXPECT_EQ(Decode(Encode(h), &out).code(), Code::kInvalidArgument);
  h.secondary_id = "";
  EXPECT_EQ(Decode(Encode(h), &out).code(), Code::kInvalidArgument);

  h = SampleHello();
  h.has_cursor = false;  // but a non-zero position
  EXPECT_EQ(Decode(Encode(h), &out).code(), Code::kInvalidArgument);

  h = SampleHello();
  h.last_applied_sequence = kMaxSequenceNumber + 1;
  EXPECT_EQ(Decode(Encode(h), &out).code(), Code::kInvalidArgument);

  h = SampleHello();
  h.min_version = 3;
  h.max_version = 2;
  EXPECT_EQ(Decode(Encode(h), &out).code(), Code::kInvalidArgument);
  h.min_version = 0;
  EXPECT_EQ(Decode(Encode(h), &out).code(), Code::kInvalidArgument);

  h = SampleHello();
  h.max_frame_payload = kMinFramePayloadLimit - 1;
  EXPECT_EQ(Decode(Encode(h), &out).code(), Code::kInvalidArgument);
  h = SampleHello();
  h.window_bytes = 100;
  EXPECT_EQ(Decode(Encode(h), &out).code(), Code::kInvalidArgument);

  // has_cursor is a strict boolean.
  std::string p = Encode(SampleHello());
  size_t has_cursor_at = 4 + 1 + SampleHello().cluster_id.size() + 8 + 1 + SampleHello().secondary_id.size();
  ASSERT_EQ(p[has_cursor_at], 1);
  p[has_cursor_at] = 2;
  s = Decode(p, &out);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find("has_cursor"), std::string::npos) << s.ToString();
}

TEST(Messages, HelloFromANewerVersionMayCarryExtensions) {
  Hello h = SampleHello();
  h.max_version = kProtocolVersion + 1;
  Hello out;
  EXPECT_TRUE(Decode(Encode(h) + "future-fields", &out).ok());
  EXPECT_EQ(out.max_version, kProtocolVersion + 1);
  h.max_version = kProtocolVersion;
  EXPECT_EQ(Decode(Encode(h) + "x", &out).code(), Code::kCorruption);
}

TEST(Messages, HelloCarriesItsHistoryFromVersion4) {
  Hello h = SampleHello();
  h.history = "0f5c1f7e-4c2a-4a8e-9d57-3b1d2f6a9c11";
  Hello out;
  ASSERT_TRUE(Decode(Encode(h), &out).ok());
  EXPECT_EQ(out.history, h.history);
  // A version-3 secondary sends no history, and a history from it is refused.
  h.max_version = 3;
  h.history.clear();
  ASSERT_TRUE(Decode(Encode(h), &out).ok());
  EXPECT_EQ(out.history, "");
  h.history = "x";
  EXPECT_EQ(Validate(h).code(), Code::kInvalidArgument);
  // Bounded and printable.
  h.max_version = kProtocolVersion;
  h.history = std::string(kMaxHistoryIdLength + 1, 'a');
  EXPECT_NE(Decode(Encode(h), &out).code(), Code::kOk);
  h.history = "has space";
  Status s = Decode(Encode(h), &out);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("history"), std::string::npos) << s.ToString();
}

TEST(Messages, WelcomeStreamAndBootstrapRoundTrip) {
  Welcome w;
  w.version = 1;
  w.cluster_id = "cluster";
  w.epoch = 7;
  w.primary_latest_sequence = 1000;
  w.mode = ResumeMode::kStream;
  w.stream_from_sequence = 1001;
  Welcome out = RoundTrip(w);
  EXPECT_EQ(out.mode, ResumeMode::kStream);
  EXPECT_EQ(out.stream_from_sequence, 1001u);
  EXPECT_EQ(out.epoch, 7u);
  EXPECT_EQ(out.primary_latest_sequence, 1000u);
  EXPECT_TRUE(out.bootstrap_reason.empty());
  ExpectTruncationsAndTrailingRefused(w);

  w.mode = ResumeMode::kBootstrap;
  w.stream_from_sequence = 0;
  w.bootstrap_reason = std::string(ProtocolLimits().max_text_length, 'r');
  out = RoundTrip(w);
  EXPECT_EQ(out.mode, ResumeMode::kBootstrap);
  EXPECT_EQ(out.bootstrap_reason, w.bootstrap_reason);
  EXPECT_EQ(out.stream_from_sequence, 0u);
  ExpectTruncationsAndTrailingRefused(w);
}

TEST(Messages, WelcomeRulesAreEnforced) {
  Welcome w;
  w.cluster_id = "c";
  w.primary_latest_sequence = 10;
  w.mode = ResumeMode::kStream;
  w.stream_from_sequence = 12;  // a gap the primary cannot promise
  Welcome out;
  EXPECT_EQ(Decode(Encode(w), &out).code(), Code::kInvalidArgument);
  w.stream_from_sequence = 0;
  EXPECT_EQ(Decode(Encode(w), &out).code(), Code::kInvalidArgument);
  w.stream_from_sequence = 11;
  EXPECT_TRUE(Decode(Encode(w), &out).ok());

  w.mode = ResumeMode::kBootstrap;
  w.stream_from_sequence = 0;
  w.bootstrap_reason = "";
  EXPECT_EQ(Decode(Encode(w), &out).code(), Code::kInvalidArgument);  // must say why
  w.bootstrap_reason = std::string(ProtocolLimits().max_text_length + 1, 'r');
  EXPECT_EQ(Decode(Encode(w), &out).code(), Code::kResourceExhausted);

  w.bootstrap_reason = "why";
  std::string p = Encode(w);
  size_t mode_at = 2 + 1 + 1 + 8 + 8;
  ASSERT_EQ(p[mode_at], 2);
  p[mode_at] = 3;
  Status s = Decode(p, &out);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find("mode"), std::string::npos);
}

// Version 3: WELCOME ends with flags:fixed32; bit 0 asks the secondary for RECEIVED frames.
TEST(Messages, WelcomeFlagsFromVersion3) {
  Welcome w;
  w.version = kWelcomeFlagsVersion;
  w.cluster_id = "cluster";
  w.epoch = 7;
  w.primary_latest_sequence = 1000;
  w.mode = ResumeMode::kStream;
  w.stream_from_sequence = 1001;
  w.flags = kWelcomeSendReceived;
  Welcome out = RoundTrip(w);
  EXPECT_EQ(out.flags, kWelcomeSendReceived);
  EXPECT_TRUE(SecondarySendsReceived(out));
  ExpectTruncationsAndTrailingRefused(w);
  // The flags are the last 4 bytes, little-endian.
  std::string p = Encode(w);
  ASSERT_EQ(p.size(), 2 + 1 + 7 + 8 + 8 + 1 + 8 + 4u);
  EXPECT_EQ(p.substr(p.size() - 4), std::string("\x01\x00\x00\x00", 4));

  w.flags = 0;
  out = RoundTrip(w);
  EXPECT_EQ(out.flags, 0u);
  EXPECT_FALSE(SecondarySendsReceived(out));
  w.mode = ResumeMode::kBootstrap;
  w.stream_from_sequence = 0;
  w.bootstrap_reason = "no position";
  w.flags = kWelcomeSendReceived;
  out = RoundTrip(w);
  EXPECT_EQ(out.flags, kWelcomeSendReceived);
  EXPECT_EQ(out.bootstrap_reason, "no position");
  ExpectTruncationsAndTrailingRefused(w);

  // Bits this build does not know are refused, by the sender's Validate and by the decoder.
  w.flags = kWelcomeSendReceived | 0x80000000u;
  EXPECT_EQ(Validate(w).code(), Code::kInvalidArgument);
  Status s = Decode(Encode(w), &out);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("flags"), std::string::npos) << s.ToString();

  // Version 2 has no flags field: nothing is encoded, a decoder reads none, flags must be 0,
  // and such a secondary sends RECEIVED anyway; version 1 never does.
  w.version = 2;
  w.flags = 0;
  const std::string v2 = Encode(w);
  w.version = 3;
  EXPECT_EQ(Encode(w).size(), v2.size() + 4);
  w.version = 2;
  out = RoundTrip(w);
  EXPECT_EQ(out.flags, 0u);
  EXPECT_TRUE(SecondarySendsReceived(out));
  ExpectTruncationsAndTrailingRefused(w);
  w.flags = kWelcomeSendReceived;
  s = Validate(w);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("version 2 has no flags"), std::string::npos) << s.ToString();
  w.version = 1;
  w.flags = 0;
  EXPECT_FALSE(SecondarySendsReceived(RoundTrip(w)));
}

TEST(Messages, BatchesRoundTrip) {
  Batches m;
  uint64_t seq = 100;
  for (int i = 0; i < 64; ++i) {
    uint32_t count = i % 5;  // includes LogData-only batches (count 0)
    m.batches.push_back(MakeBatch(seq, count, 150, static_cast<char>('a' + i % 26)));
    seq += count;
  }
  Batches out = RoundTrip(m);
  ASSERT_EQ(out.batches.size(), 64u);
  for (size_t i = 0; i < 64; ++i) {
    EXPECT_EQ(out.batches[i].sequence, m.batches[i].sequence);
    EXPECT_EQ(out.batches[i].count, m.batches[i].count);
    EXPECT_EQ(out.batches[i].rep, m.batches[i].rep);
  }
  EXPECT_EQ(Encode(m).size(), EncodedBatchesSize(m.batches));
  std::string direct;
  EncodeBatchesTo(m.batches, &direct);
  EXPECT_EQ(direct, Encode(m));
  std::string frame_a, frame_b;
  AppendBatchesFrame(m.batches, &frame_a);
  AppendMessageFrame(m, &frame_b);
  EXPECT_EQ(frame_a, frame_b);

  Batches small;
  small.batches.push_back(MakeBatch(1, 1, kWriteBatchHeaderSize));
  ExpectTruncationsAndTrailingRefused(small);
}

TEST(Messages, BatchesLayout) {
  Batches m;
  m.batches.push_back(MakeBatch(0x0102, 300, 12, 'w'));
  std::string expected = std::string("\x01", 1) + std::string("\x02\x01\0\0\0\0\0\0", 8) + "\xac\x02" + "\x0c" +
                         std::string(12, 'w');
  EXPECT_EQ(Encode(m), expected);
  EXPECT_EQ(EncodedBatchSize(m.batches[0]), 8u + 2 + 1 + 12);
}

TEST(Messages, BatchesMaximalValues) {
  ProtocolLimits limits;
  limits.max_frame_payload = kMinFramePayloadLimit;
  limits.max_batches_per_frame = 8;
  Batches m;
  for (int i = 0; i < 7; ++i) m.batches.push_back(MakeBatch(kMaxSequenceNumber - 20 + i, 1, 12));
  m.batches.push_back(MakeBatch(kMaxSequenceNumber, 1, 0));
  // Fill the frame exactly: the last rep takes all the room that is left.
  size_t used = EncodedBatchesSize(m.batches);
  size_t room = limits.max_frame_payload - used;
  m.batches.back().rep.assign(room - 2, 'x');  // its length prefix grows from 1 to 3 bytes
  ASSERT_EQ(EncodedBatchesSize(m.batches), limits.max_frame_payload);
  Batches out = RoundTrip(m, limits);
  ASSERT_EQ(out.batches.size(), 8u);
  EXPECT_EQ(out.batches.back().sequence, kMaxSequenceNumber);
  EXPECT_EQ(out.batches.back().rep, m.batches.back().rep);

  m.batches.back().rep.push_back('x');  // one byte over
  Status s = Validate(m, limits);
  EXPECT_EQ(s.code(), Code::kResourceExhausted);
  EXPECT_NE(s.message().find("max_frame_payload"), std::string::npos) << s.ToString();
}

TEST(Messages, BatchesCountIsBoundedBeforeAllocation) {
  ProtocolLimits limits;
  limits.max_batches_per_frame = 4;
  Batches m;
  for (int i = 0; i < 5; ++i) m.batches.push_back(MakeBatch(1 + i, 1, 12));
  Batches out;
  Status s = Decode(Encode(m), &out, limits);
  EXPECT_EQ(s.code(), Code::kResourceExhausted);
  EXPECT_NE(s.message().find("max_batches_per_frame"), std::string::npos) << s.ToString();
  EXPECT_EQ(Validate(m, limits).code(), Code::kResourceExhausted);

  // A count of 2^32-1 in a 6-byte payload: refused by the limit, nothing reserved.
  std::string huge_count("\xff\xff\xff\xff\x0f\x00", 6);
  EXPECT_EQ(Decode(huge_count, &out).code(), Code::kResourceExhausted);
  // Within the limit, but more batches than the bytes that follow could hold.
  std::string short_count("\x80\x80\x01", 3);  // 16384 batches, no bytes
  s = Decode(short_count, &out);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find("cannot fit"), std::string::npos) << s.ToString();
}

TEST(Messages, BatchesRulesAreEnforced) {
  Batches out;
  Batches empty;
  EXPECT_EQ(Decode(Encode(empty), &out).code(), Code::kInvalidArgument);

  Batches m;
  m.batches.push_back(MakeBatch(0, 1, 12));
  EXPECT_EQ(Decode(Encode(m), &out).code(), Code::kInvalidArgument);  // sequence 0
  m.batches[0] = MakeBatch(5, 1, 11);
  EXPECT_FALSE(Decode(Encode(m), &out).ok());
  m.batches.push_back(MakeBatch(6, 1, 40));  // room enough that only the rule can refuse it
  Status s = Decode(Encode(m), &out);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);  // shorter than a WriteBatch header
  EXPECT_NE(s.message().find("WriteBatch header"), std::string::npos) << s.ToString();
  m.batches.pop_back();
  m.batches[0] = MakeBatch(kMaxSequenceNumber, 2, 12);
  EXPECT_EQ(Decode(Encode(m), &out).code(), Code::kInvalidArgument);  // passes 2^56-1
  m.batches[0] = MakeBatch(kMaxSequenceNumber, 1, 12);
  EXPECT_TRUE(Decode(Encode(m), &out).ok());

  // A rep length prefix claiming more than the payload holds.
  std::string p = Encode(m);
  p[1 + 8 + 1] = 100;
  EXPECT_EQ(Decode(p, &out).code(), Code::kCorruption);
  // Non-canonical varint (an overlong zero-padded count) is refused.
  std::string overlong = std::string("\x81\x00", 2) + Encode(m).substr(1);
  EXPECT_EQ(Decode(overlong, &out).code(), Code::kCorruption);
}

TEST(Messages, HeartbeatAndAckRoundTrip) {
  Heartbeat hb{.primary_latest_sequence = 42, .primary_wall_clock_micros = 1700000000000000,
               .primary_send_monotonic_micros = kU64Max};
  Heartbeat hb_out = RoundTrip(hb);
  EXPECT_EQ(hb_out.primary_latest_sequence, 42u);
  EXPECT_EQ(hb_out.primary_wall_clock_micros, 1700000000000000u);
  EXPECT_EQ(hb_out.primary_send_monotonic_micros, kU64Max);
  ExpectTruncationsAndTrailingRefused(hb);
  RoundTrip(Heartbeat{});

  Ack ack{.applied_sequence = 42, .durable_sequence = 40, .echo_send_monotonic_micros = 99, .received_bytes = 1 << 30};
  Ack ack_out = RoundTrip(ack);
  EXPECT_EQ(ack_out.applied_sequence, 42u);
  EXPECT_EQ(ack_out.durable_sequence, 40u);
  EXPECT_EQ(ack_out.echo_send_monotonic_micros, 99u);
  EXPECT_EQ(ack_out.received_bytes, 1u << 30);
  ExpectTruncationsAndTrailingRefused(ack);
  RoundTrip(Ack{});

  ack.durable_sequence = 43;  // durable cannot pass applied
  Ack out;
  Status s = Decode(Encode(ack), &out);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("durable_sequence"), std::string::npos);
}

TEST(Messages, BootstrapMessagesRoundTrip) {
  BootstrapBegin bb{.checkpoint_sequence = 5000, .file_count = 12, .total_bytes = 1ull << 40};
  BootstrapBegin bb_out = RoundTrip(bb);
  EXPECT_EQ(bb_out.checkpoint_sequence, 5000u);
  EXPECT_EQ(bb_out.file_count, 12u);
  EXPECT_EQ(bb_out.total_bytes, 1ull << 40);
  ExpectTruncationsAndTrailingRefused(bb);
  BootstrapBegin empty_db{.checkpoint_sequence = 0, .file_count = 1, .total_bytes = 0};
  EXPECT_EQ(RoundTrip(empty_db).checkpoint_sequence, 0u);

  FileBegin fb{.name = "MANIFEST-000005", .size = 1234};
  FileBegin fb_out = RoundTrip(fb);
  EXPECT_EQ(fb_out.name, "MANIFEST-000005");
  EXPECT_EQ(fb_out.size, 1234u);
  ExpectTruncationsAndTrailingRefused(fb);
  FileBegin long_name{.name = std::string(255, 'n'), .size = 0};
  EXPECT_EQ(RoundTrip(long_name).name.size(), 255u);

  FileChunk fc{.offset = 4096, .data = std::string("\0\x01\x02\xff", 4)};
  FileChunk fc_out = RoundTrip(fc);
  EXPECT_EQ(fc_out.offset, 4096u);
  EXPECT_EQ(fc_out.data, fc.data);
  ProtocolLimits limits;
  limits.max_frame_payload = kMinFramePayloadLimit;
  FileChunk full{.offset = 0, .data = std::string(limits.max_frame_payload - 8, 'd')};
  EXPECT_EQ(RoundTrip(full, limits).data.size(), limits.max_frame_payload - 8);
  full.data.push_back('d');
  EXPECT_EQ(Validate(full, limits).code(), Code::kResourceExhausted);

  FileEnd fe{.file_crc32c = crc32c::Value("file contents")};
  EXPECT_EQ(RoundTrip(fe).file_crc32c, crc32c::Value("file contents"));
  ExpectTruncationsAndTrailingRefused(fe);

  RoundTrip(BootstrapEnd{});
  EXPECT_EQ(Encode(BootstrapEnd{}), "");
  BootstrapEnd be;
  EXPECT_EQ(Decode("x", &be).code(), Code::kCorruption);
}

TEST(Messages, BootstrapRulesAreEnforced) {
  BootstrapBegin bb_out;
  BootstrapBegin bb{.checkpoint_sequence = 1, .file_count = 0, .total_bytes = 0};
  EXPECT_EQ(Decode(Encode(bb), &bb_out).code(), Code::kInvalidArgument);
  bb.file_count = ProtocolLimits().max_bootstrap_files + 1;
  EXPECT_EQ(Decode(Encode(bb), &bb_out).code(), Code::kResourceExhausted);

  FileChunk fc_out;
  FileChunk empty{.offset = 0, .data = ""};
  EXPECT_EQ(Decode(Encode(empty), &fc_out).code(), Code::kInvalidArgument);
  EXPECT_EQ(Decode(std::string(7, '\0'), &fc_out).code(), Code::kCorruption);  // offset cut short
}

TEST(Messages, FileNamesMustBePlain) {
  for (const char* good : {"000123.sst", "MANIFEST-000005", "CURRENT", "OPTIONS-000007", "IDENTITY",
                           "000004.log", "000010.blob", "a_b-c.d"}) {
    EXPECT_TRUE(ValidateFileName(good, 255).ok()) << good;
    FileBegin out;
    EXPECT_TRUE(Decode(Encode(FileBegin{.name = good, .size = 1}), &out).ok()) << good;
  }
  for (std::string bad : {std::string(""), std::string("../etc/passwd"), std::string("a/b"), std::string("/abs"),
                          std::string(".."), std::string("."), std::string(".hidden"), std::string("a..b"),
                          std::string("x/.."), std::string("a\\b"), std::string("a\0b", 3), std::string("a b"),
                          std::string("caf\xc3\xa9"), std::string("line\n")}) {
    Status s = ValidateFileName(bad, 255);
    EXPECT_FALSE(s.ok()) << "accepted '" << bad << "'";
    FileBegin out;
    Status d = Decode(Encode(FileBegin{.name = bad, .size = 1}), &out);
    EXPECT_FALSE(d.ok()) << "decoded '" << bad << "'";
    EXPECT_NE(d.message().find("FILE_BEGIN: field name"), std::string::npos) << d.ToString();
  }
  Status s = ValidateFileName("a/b", 255);
  EXPECT_NE(s.message().find("path separator"), std::string::npos) << s.ToString();
  EXPECT_EQ(ValidateFileName(std::string(256, 'n'), 255).code(), Code::kResourceExhausted);
  FileBegin out;
  EXPECT_EQ(Decode(Encode(FileBegin{.name = std::string(256, 'n'), .size = 1}), &out).code(),
            Code::kResourceExhausted);
}

TEST(Messages, ErrorAndGoodbyeRoundTrip) {
  ErrorMessage e{.code = static_cast<uint16_t>(ErrorCode::kStaleEpoch),
                 .message = "epoch 3 is older than this secondary's epoch 4"};
  ErrorMessage e_out = RoundTrip(e);
  EXPECT_EQ(e_out.code, e.code);
  EXPECT_EQ(e_out.message, e.message);
  ExpectTruncationsAndTrailingRefused(e);
  Status st = ToStatus(e_out, "primary");
  EXPECT_EQ(st.code(), Code::kFailedPrecondition);
  EXPECT_EQ(st.message(), "primary sent ERROR stale-epoch: epoch 3 is older than this secondary's epoch 4");

  ErrorMessage future{.code = 999, .message = "something new"};
  EXPECT_EQ(RoundTrip(future).code, 999);
  EXPECT_EQ(ErrorCodeName(999), "unknown");
  EXPECT_NE(ToStatus(future, "secondary").message().find("code 999"), std::string::npos);

  ErrorMessage out;
  EXPECT_EQ(Decode(Encode(ErrorMessage{.code = 0, .message = "m"}), &out).code(), Code::kInvalidArgument);
  EXPECT_EQ(Decode(Encode(ErrorMessage{.code = 1, .message = ""}), &out).code(), Code::kInvalidArgument);
  EXPECT_EQ(Decode(Encode(ErrorMessage{.code = 1, .message = std::string(4097, 'm')}), &out).code(),
            Code::kResourceExhausted);
  for (uint16_t c = 1; c <= kMaxKnownErrorCode; ++c) EXPECT_NE(ErrorCodeName(c), "unknown") << c;

  EXPECT_EQ(RoundTrip(Goodbye{}).reason, "");
  Goodbye g{.reason = std::string(4096, 'g')};
  EXPECT_EQ(RoundTrip(g).reason, g.reason);
  ExpectTruncationsAndTrailingRefused(Goodbye{.reason = "bye"});
}

TEST(Messages, StringLengthIsBoundedBeforeCopy) {
  // GOODBYE claiming a 2^31-byte reason in a 5-byte payload.
  Goodbye out;
  Status s = Decode(std::string("\x80\x80\x80\x80\x08", 5), &out);
  EXPECT_EQ(s.code(), Code::kResourceExhausted);
  EXPECT_NE(s.message().find("reason"), std::string::npos) << s.ToString();
}

TEST(Messages, EveryDecoderSurvivesGarbage) {
  std::string garbage;
  for (int i = 0; i < 64; ++i) garbage.push_back(static_cast<char>(i * 37 + 11));
  for (size_t n = 0; n <= garbage.size(); ++n) {
    std::string_view g(garbage.data(), n);
    Hello h;
    Welcome w;
    Batches b;
    Heartbeat hb;
    Ack a;
    BootstrapBegin bb;
    FileBegin fb;
    FileChunk fc;
    FileEnd fe;
    BootstrapEnd be;
    ErrorMessage e;
    Goodbye gb;
    // Must not crash; most lengths fail. Payloads of exactly the fixed size are valid by design.
    (void)Decode(g, &h);
    (void)Decode(g, &w);
    (void)Decode(g, &b);
    (void)Decode(g, &hb);
    (void)Decode(g, &a);
    (void)Decode(g, &bb);
    (void)Decode(g, &fb);
    (void)Decode(g, &fc);
    (void)Decode(g, &fe);
    (void)Decode(g, &be);
    (void)Decode(g, &e);
    (void)Decode(g, &gb);
  }
  Hello h;
  EXPECT_FALSE(Decode(garbage, &h).ok());
  Batches b;
  EXPECT_FALSE(Decode(garbage, &b).ok());
}

// The fuzz target's seed corpus (tests/fuzz/corpus/frame/) holds valid frames of every type; this
// test keeps it valid as the protocol evolves. ROCKSDR_WRITE_FUZZ_CORPUS=1 regenerates it.
std::vector<std::pair<std::string, std::string>> SeedFrames() {
  std::vector<std::pair<std::string, std::string>> seeds;
  auto add = [&](const std::string& name, auto m) {
    std::string f;
    AppendMessageFrame(m, &f);
    seeds.emplace_back(name, f);
  };
  add("hello", SampleHello());
  add("welcome_stream", Welcome{.version = 1, .cluster_id = "c", .epoch = 4, .primary_latest_sequence = 10,
                                .mode = ResumeMode::kStream, .stream_from_sequence = 5, .bootstrap_reason = ""});
  add("welcome_bootstrap", Welcome{.version = 1, .cluster_id = "c", .epoch = 4, .primary_latest_sequence = 10,
                                   .mode = ResumeMode::kBootstrap, .stream_from_sequence = 0,
                                   .bootstrap_reason = "no position"});
  add("welcome_v3_received", Welcome{.version = 3, .cluster_id = "c", .epoch = 4, .primary_latest_sequence = 10,
                                     .mode = ResumeMode::kStream, .stream_from_sequence = 5, .bootstrap_reason = "",
                                     .flags = kWelcomeSendReceived});
  Batches b;
  b.batches.push_back(MakeBatch(5, 2, 20));
  b.batches.push_back(MakeBatch(7, 0, 12));
  add("batches", b);
  add("heartbeat", Heartbeat{.primary_latest_sequence = 9, .primary_wall_clock_micros = 1,
                             .primary_send_monotonic_micros = 2});
  add("ack", Ack{.applied_sequence = 9, .durable_sequence = 8, .echo_send_monotonic_micros = 2,
                 .received_bytes = 300});
  add("bootstrap_begin", BootstrapBegin{.checkpoint_sequence = 9, .file_count = 2, .total_bytes = 10});
  add("file_begin", FileBegin{.name = "000007.sst", .size = 10});
  add("file_chunk", FileChunk{.offset = 0, .data = "0123456789"});
  add("file_end", FileEnd{.file_crc32c = crc32c::Value("0123456789")});
  add("bootstrap_end", BootstrapEnd{});
  add("error", ErrorMessage{.code = 4, .message = "epoch 3 is older than this secondary's epoch 4"});
  add("goodbye", Goodbye{.reason = "shutting down"});
  add("received", Received{.received_sequence = 9});
  std::string all;
  for (const auto& [name, f] : seeds) all += f;
  seeds.emplace_back("stream_of_all", all);
  return seeds;
}

TEST(Messages, FuzzSeedCorpusIsValid) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(ROCKSDR_SOURCE_DIR) / "tests/fuzz/corpus/frame";
  auto seeds = SeedFrames();
  const char* regen = std::getenv("ROCKSDR_WRITE_FUZZ_CORPUS");
  if (regen != nullptr && std::string(regen) == "1") {
    fs::create_directories(dir);
    for (const auto& [name, f] : seeds) std::ofstream(dir / name, std::ios::binary) << f;
  }
  size_t frames = 0;
  for (const auto& [name, expected] : seeds) {
    std::ifstream in(dir / name, std::ios::binary);
    ASSERT_TRUE(in.good()) << "missing seed " << (dir / name) << "; run with ROCKSDR_WRITE_FUZZ_CORPUS=1";
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes, expected) << name << " is stale; run with ROCKSDR_WRITE_FUZZ_CORPUS=1";
    FrameDecoder d;
    d.Feed(bytes);
    for (;;) {
      auto r = d.Next();
      ASSERT_TRUE(r.ok()) << name << ": " << r.status().ToString();
      if (!r->has_value()) break;
      ++frames;
    }
    EXPECT_EQ(d.buffered_bytes(), 0u) << name;
  }
  EXPECT_EQ(frames, 2 * (seeds.size() - 1));
}

}  // namespace
}  // namespace rocksdr::replication
