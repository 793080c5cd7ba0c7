// Encoding and decoding of rocksdr's in-band WAL markers. Grammar: see marker.h.
//
//   blob    := "rocksdr:" kind ":" number ":" text
//   kind    := "cf-create" | "cf-drop" | "ingest" | "epoch"
//   number  := decimal digits, no sign, no leading zeros (except "0"), fits uint64
//   text    := percent-encoded bytes: '%', ':' and bytes outside 0x21..0x7e are written "%XX"
//              (upper-case hex); for ingest it is a decimal file count instead; for epoch it
//              may be followed by ":" and the history id (percent-encoded too)
#include "marker.h"

#include <charconv>

#include "reserved_cf.h"

namespace rocksdr::plugin {

namespace {

constexpr size_t kMaxMarkerBytes = 64 * 1024;
constexpr size_t kMaxHistoryIdBytes = 64;

std::string_view KindName(MarkerKind kind) {
  switch (kind) {
    case MarkerKind::kCfCreate: return "cf-create";
    case MarkerKind::kCfDrop: return "cf-drop";
    case MarkerKind::kIngest: return "ingest";
    case MarkerKind::kEpoch: return "epoch";
  }
  return "unknown";
}

bool NeedsEscape(unsigned char c) { return c == '%' || c == ':' || c <= 0x20 || c >= 0x7f; }

std::string PercentEncode(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size());
  for (char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    if (NeedsEscape(c)) {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

Result<std::string> PercentDecode(std::string_view in, std::string_view what) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c == '%') {
      if (i + 2 >= in.size()) {
        return Status::Corruption("rocksdr marker: truncated %-escape in " + std::string(what));
      }
      const int hi = HexValue(in[i + 1]);
      const int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) {
        return Status::Corruption("rocksdr marker: bad %-escape in " + std::string(what));
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (NeedsEscape(c)) {
      return Status::Corruption("rocksdr marker: unescaped byte 0x" + std::to_string(c) + " in " +
                                std::string(what));
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

Result<uint64_t> ParseNumber(std::string_view text, std::string_view what) {
  if (text.empty() || text.size() > 20 || (text.size() > 1 && text[0] == '0')) {
    return Status::Corruption("rocksdr marker: " + std::string(what) + " is not a canonical decimal number");
  }
  uint64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return Status::Corruption("rocksdr marker: " + std::string(what) + " is not a decimal number in range");
  }
  return value;
}

}  // namespace

std::string EncodeMarker(const Marker& m) {
  std::string out(kMarkerPrefix);
  out.append(KindName(m.kind));
  out.push_back(':');
  out.append(std::to_string(m.id));
  out.push_back(':');
  if (m.kind == MarkerKind::kIngest) {
    out.append(std::to_string(m.count));
  } else {
    out.append(PercentEncode(m.name));
  }
  if (m.kind == MarkerKind::kEpoch && !m.history.empty()) {
    out.push_back(':');
    out.append(PercentEncode(m.history));
  }
  return out;
}

Result<Marker> DecodeMarker(std::string_view blob) {
  if (blob.substr(0, kMarkerPrefix.size()) != kMarkerPrefix) {
    return Status::NotFound("not a rocksdr marker");
  }
  if (blob.size() > kMaxMarkerBytes) {
    return Status::Corruption("rocksdr marker: " + std::to_string(blob.size()) + " bytes exceeds the limit of " +
                              std::to_string(kMaxMarkerBytes));
  }
  std::string_view rest = blob.substr(kMarkerPrefix.size());
  const size_t c1 = rest.find(':');
  if (c1 == std::string_view::npos) return Status::Corruption("rocksdr marker: missing fields after kind");
  const size_t c2 = rest.find(':', c1 + 1);
  if (c2 == std::string_view::npos) return Status::Corruption("rocksdr marker: missing third field");
  const std::string_view kind = rest.substr(0, c1);
  const std::string_view number = rest.substr(c1 + 1, c2 - c1 - 1);
  std::string_view text = rest.substr(c2 + 1);

  Marker m;
  if (kind == "cf-create") {
    m.kind = MarkerKind::kCfCreate;
  } else if (kind == "cf-drop") {
    m.kind = MarkerKind::kCfDrop;
  } else if (kind == "ingest") {
    m.kind = MarkerKind::kIngest;
  } else if (kind == "epoch") {
    m.kind = MarkerKind::kEpoch;
  } else {
    return Status::Corruption("rocksdr marker: unknown kind '" + PercentEncode(kind.substr(0, 32)) +
                              "' (a newer primary? upgrade this secondary)");
  }
  auto id = ParseNumber(number, m.kind == MarkerKind::kEpoch ? "epoch" : "column family id");
  if (!id.ok()) return id.status();
  m.id = *id;
  if (m.kind == MarkerKind::kIngest) {
    auto count = ParseNumber(text, "ingested file count");
    if (!count.ok()) return count.status();
    m.count = *count;
    return m;
  }
  if (m.kind == MarkerKind::kEpoch) {
    if (const size_t c3 = text.find(':'); c3 != std::string_view::npos) {
      auto history = PercentDecode(text.substr(c3 + 1), "history id");
      if (!history.ok()) return history.status();
      if (history->empty() || history->size() > kMaxHistoryIdBytes) {
        return Status::Corruption("rocksdr marker: the history id must be 1.." + std::to_string(kMaxHistoryIdBytes) +
                                  " bytes");
      }
      for (char ch : *history) {
        if (NeedsEscape(static_cast<unsigned char>(ch))) {
          return Status::Corruption("rocksdr marker: the history id is not printable ASCII");
        }
      }
      m.history = std::move(*history);
      text = text.substr(0, c3);
    }
  }
  auto name = PercentDecode(text, m.kind == MarkerKind::kEpoch ? "cluster id" : "column family name");
  if (!name.ok()) return name.status();
  if (name->empty()) {
    return Status::Corruption(std::string("rocksdr marker: empty ") +
                              (m.kind == MarkerKind::kEpoch ? "cluster id" : "column family name"));
  }
  m.name = std::move(*name);
  return m;
}

}  // namespace rocksdr::plugin
