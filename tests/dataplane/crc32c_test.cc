// CRC32C: known answers (RFC 3720 B.4), hardware == portable, Extend composition, Mask/Unmask.
#include "rocksdr/replication/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace rocksdr::replication::crc32c {
namespace {

struct KnownAnswer {
  std::string data;
  uint32_t crc;
};

std::vector<KnownAnswer> KnownAnswers() {
  std::vector<KnownAnswer> v;
  v.push_back({std::string(32, '\0'), 0x8A9136AAu});
  v.push_back({std::string(32, '\xff'), 0x62A8AB43u});
  std::string ascending, descending;
  for (int i = 0; i < 32; ++i) {
    ascending.push_back(static_cast<char>(i));
    descending.push_back(static_cast<char>(31 - i));
  }
  v.push_back({ascending, 0x46DD794Eu});
  v.push_back({descending, 0x113FDB5Cu});
  // RFC 3720 B.4: an iSCSI SCSI Read (10) command PDU.
  const unsigned char pdu[48] = {0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
                                 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
                                 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  v.push_back({std::string(reinterpret_cast<const char*>(pdu), sizeof(pdu)), 0xD9963A56u});
  v.push_back({"123456789", 0xE3069283u});
  v.push_back({"", 0u});
  return v;
}

TEST(Crc32c, KnownAnswersDispatched) {
  for (const KnownAnswer& ka : KnownAnswers()) {
    EXPECT_EQ(Value(ka.data), ka.crc) << "length " << ka.data.size();
  }
}

TEST(Crc32c, KnownAnswersPortable) {
  for (const KnownAnswer& ka : KnownAnswers()) {
    EXPECT_EQ(ExtendPortable(0, ka.data.data(), ka.data.size()), ka.crc) << "length " << ka.data.size();
  }
}

TEST(Crc32c, DispatchMatchesCpu) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  EXPECT_EQ(IsHardwareAccelerated(), static_cast<bool>(__builtin_cpu_supports("sse4.2")));
#else
  EXPECT_FALSE(IsHardwareAccelerated());
#endif
}

TEST(Crc32c, HardwareEqualsPortableOnRandomDataAtEveryAlignment) {
  std::mt19937_64 rng(20240601);
  std::string buf(4096 + 16, '\0');
  for (char& c : buf) c = static_cast<char>(rng());
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t len : {0, 1, 7, 8, 9, 31, 32, 33, 63, 64, 65, 100, 1000, 4096}) {
      const char* p = buf.data() + offset;
      EXPECT_EQ(Extend(0, p, len), ExtendPortable(0, p, len)) << "offset " << offset << " length " << len;
      EXPECT_EQ(Extend(0x12345678, p, len), ExtendPortable(0x12345678, p, len));
    }
  }
}

TEST(Crc32c, ExtendComposesAtEverySplit) {
  std::string data = "The quick brown fox jumps over the lazy dog, again and again and again.";
  uint32_t whole = Value(data);
  for (size_t split = 0; split <= data.size(); ++split) {
    uint32_t first = Value(data.data(), split);
    EXPECT_EQ(Extend(first, data.data() + split, data.size() - split), whole) << "split " << split;
    EXPECT_EQ(ExtendPortable(first, data.data() + split, data.size() - split), whole);
  }
}

TEST(Crc32c, DifferentDataDifferentCrc) {
  EXPECT_NE(Value("a"), Value("foo"));
  EXPECT_NE(Value(std::string(32, '\0')), Value(std::string(33, '\0')));
}

TEST(Crc32c, MaskRoundTripsAndChangesTheValue) {
  for (uint32_t crc : {0u, 1u, 0xE3069283u, 0xFFFFFFFFu, 0x8A9136AAu}) {
    EXPECT_NE(Mask(crc), crc);
    EXPECT_NE(Mask(Mask(crc)), crc);
    EXPECT_EQ(Unmask(Mask(crc)), crc);
    EXPECT_EQ(Unmask(Unmask(Mask(Mask(crc)))), crc);
  }
}

}  // namespace
}  // namespace rocksdr::replication::crc32c
