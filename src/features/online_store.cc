#include "features/online_store.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "features/cached_online_store.h"
#include "features/redis_online_store.h"
#include "features/rocksdb_online_store.h"

namespace kiln::features {
namespace {

// Type codes of the stored format (docs/formats/online-store.md); fixed here
// rather than taken from data::Type so reordering the enum cannot change them.
constexpr uint8_t kNullFlag = 0x80;
constexpr uint64_t kSignFlip = uint64_t{1} << 63;
constexpr size_t kRecordHeaderSize = 17;  // version, event, written

uint8_t TypeCode(data::Type type) {
  switch (type) {
    case data::Type::kBool:
      return 0;
    case data::Type::kInt64:
      return 1;
    case data::Type::kFloat64:
      return 2;
    case data::Type::kString:
      return 3;
    case data::Type::kTimestamp:
      return 4;
  }
  return 0x7f;
}

void PutBigEndian(uint64_t v, std::string* out) {
  char bytes[8];
  for (int i = 7; i >= 0; --i) {
    bytes[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  out->append(bytes, 8);
}

uint64_t GetBigEndian(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

void PutLittleEndian(uint64_t v, std::string* out) {
  char bytes[8];
  for (int i = 0; i < 8; ++i) {
    bytes[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  out->append(bytes, 8);
}

uint64_t GetLittleEndian(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Reads a varint at bytes[*pos]; false when truncated or longer than 64 bits.
bool GetVarint(std::string_view bytes, size_t* pos, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && *pos < bytes.size(); shift += 7) {
    uint8_t byte = static_cast<uint8_t>(bytes[(*pos)++]);
    *v |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

// Signed integers in an order-preserving big-endian form (keys, headers).
void PutOrderedInt(int64_t v, std::string* out) { PutBigEndian(static_cast<uint64_t>(v) ^ kSignFlip, out); }
int64_t GetOrderedInt(const char* p) { return static_cast<int64_t>(GetBigEndian(p) ^ kSignFlip); }

Status Corrupt(std::string_view what) {
  return Internal("corrupt online store record: " + std::string(what) +
                  " (re-materialize the view to rewrite it)");
}

}  // namespace

std::string EncodeEntityKey(std::span<const data::Value> key_values) {
  std::string out;
  out.reserve(key_values.size() * 10);
  for (const data::Value& value : key_values) {
    uint8_t tag = TypeCode(value.type);
    if (value.null) {
      out.push_back(static_cast<char>(tag | kNullFlag));
      continue;
    }
    out.push_back(static_cast<char>(tag));
    switch (value.type) {
      case data::Type::kBool:
        out.push_back(value.i != 0 ? 1 : 0);
        break;
      case data::Type::kInt64:
      case data::Type::kTimestamp:
        PutOrderedInt(value.i, &out);
        break;
      case data::Type::kFloat64: {
        double f = value.f;
        if (f == 0) f = 0.0;                                              // -0.0 → +0.0
        if (std::isnan(f)) f = std::numeric_limits<double>::quiet_NaN();  // one NaN
        PutBigEndian(std::bit_cast<uint64_t>(f), &out);
        break;
      }
      case data::Type::kString:
        PutVarint(value.s.size(), &out);
        out.append(value.s);
        break;
    }
  }
  return out;
}

std::string EncodeOnlineRecord(const OnlineRecord& record) {
  std::string out;
  out.reserve(kRecordHeaderSize + 2 + record.values.size() * 9);
  out.push_back(static_cast<char>(kOnlineStoreFormatVersion));
  PutOrderedInt(record.event_micros, &out);
  PutOrderedInt(record.written_micros, &out);
  PutVarint(record.values.size(), &out);
  for (const data::Value& value : record.values) {
    uint8_t tag = TypeCode(value.type);
    if (value.null) {
      out.push_back(static_cast<char>(tag | kNullFlag));
      continue;
    }
    out.push_back(static_cast<char>(tag));
    switch (value.type) {
      case data::Type::kBool:
        out.push_back(value.i != 0 ? 1 : 0);
        break;
      case data::Type::kInt64:
      case data::Type::kTimestamp:
        PutLittleEndian(static_cast<uint64_t>(value.i), &out);
        break;
      case data::Type::kFloat64:
        PutLittleEndian(std::bit_cast<uint64_t>(value.f), &out);
        break;
      case data::Type::kString:
        PutVarint(value.s.size(), &out);
        out.append(value.s);
        break;
    }
  }
  return out;
}

std::optional<int64_t> EncodedRecordEventMicros(std::string_view bytes) {
  if (bytes.size() < kRecordHeaderSize || bytes[0] != kOnlineStoreFormatVersion) {
    return std::nullopt;
  }
  return GetOrderedInt(bytes.data() + 1);
}

Result<OnlineRecord> DecodeOnlineRecord(std::string_view bytes, std::span<const data::Type> types) {
  if (bytes.empty()) return Corrupt("empty value");
  if (static_cast<uint8_t>(bytes[0]) != kOnlineStoreFormatVersion) {
    return Corrupt("format_version " + std::to_string(static_cast<uint8_t>(bytes[0])) + " is not 1");
  }
  if (bytes.size() < kRecordHeaderSize) return Corrupt("truncated header");
  OnlineRecord record;
  record.event_micros = GetOrderedInt(bytes.data() + 1);
  record.written_micros = GetOrderedInt(bytes.data() + 9);
  size_t pos = kRecordHeaderSize;
  uint64_t count = 0;
  if (!GetVarint(bytes, &pos, &count)) return Corrupt("truncated value count");
  if (count != types.size()) {
    return Corrupt("it holds " + std::to_string(count) + " values but the view has " +
                   std::to_string(types.size()) + " features");
  }
  record.values.resize(types.size());
  for (size_t i = 0; i < types.size(); ++i) {
    if (pos >= bytes.size()) return Corrupt("truncated at value " + std::to_string(i));
    uint8_t tag = static_cast<uint8_t>(bytes[pos++]);
    data::Value& value = record.values[i];
    value.type = types[i];
    if ((tag & ~kNullFlag) != TypeCode(types[i])) {
      return Corrupt("value " + std::to_string(i) + " is not of type " +
                     std::string(data::TypeName(types[i])));
    }
    value.null = (tag & kNullFlag) != 0;
    if (value.null) continue;
    switch (types[i]) {
      case data::Type::kBool:
        if (pos + 1 > bytes.size()) return Corrupt("truncated bool");
        value.i = bytes[pos++] != 0 ? 1 : 0;
        break;
      case data::Type::kInt64:
      case data::Type::kTimestamp:
        if (pos + 8 > bytes.size()) return Corrupt("truncated integer");
        value.i = static_cast<int64_t>(GetLittleEndian(bytes.data() + pos));
        pos += 8;
        break;
      case data::Type::kFloat64:
        if (pos + 8 > bytes.size()) return Corrupt("truncated float");
        value.f = std::bit_cast<double>(GetLittleEndian(bytes.data() + pos));
        pos += 8;
        break;
      case data::Type::kString: {
        uint64_t size = 0;
        if (!GetVarint(bytes, &pos, &size) || size > bytes.size() - pos) {
          return Corrupt("truncated string");
        }
        value.s.assign(bytes.data() + pos, size);
        pos += size;
        break;
      }
    }
  }
  if (pos != bytes.size()) return Corrupt("trailing bytes after the last value");
  return record;
}

uint64_t ViewFingerprint(std::span<const std::string> names, std::span<const data::Type> types) {
  // FNV-1a 64 over, per feature: name bytes, 0x00, type code, 0x00.
  uint64_t hash = 0xcbf29ce484222325ULL;
  auto mix = [&hash](uint8_t byte) {
    hash ^= byte;
    hash *= 0x100000001b3ULL;
  };
  size_t count = std::max(names.size(), types.size());
  for (size_t i = 0; i < count; ++i) {
    if (i < names.size()) {
      for (char c : names[i]) mix(static_cast<uint8_t>(c));
    }
    mix(0);
    mix(i < types.size() ? TypeCode(types[i]) : 0xff);
    mix(0);
  }
  return hash;
}

std::string FingerprintHex(uint64_t fingerprint) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[i] = kDigits[fingerprint & 0xf];
    fingerprint >>= 4;
  }
  return out;
}

Result<std::unique_ptr<OnlineStore>> OpenOnlineStore(const std::string& uri, const std::string& data_dir) {
  std::string path;
  if (uri == "rocksdb-follower" || uri.starts_with("rocksdb-follower:")) {
    // Read-only, beside the process that owns the database; cached, and the
    // cache is emptied whenever Refresh() brings in the owner's writes.
    RocksDbOnlineStore::Options options;
    options.follower = true;
    path = uri == "rocksdb-follower" ? data_dir + "/online" : uri.substr(17);
    if (path.starts_with("//")) path = path.substr(2);
    if (path.empty() || path == "/online") {
      return InvalidArgument("online store '" + uri + "' names no directory (use --data-dir or rocksdb-follower:/path)");
    }
    KILN_ASSIGN_OR_RETURN(std::unique_ptr<RocksDbOnlineStore> rocks, RocksDbOnlineStore::Open(path, options));
    return std::unique_ptr<OnlineStore>(
        std::make_unique<CachedOnlineStore>(std::move(rocks), CachedOnlineStore::Options()));
  }
  if (uri.empty() || uri == "rocksdb") {
    if (data_dir.empty()) {
      return InvalidArgument("the online store 'rocksdb' needs a data directory (--data-dir)");
    }
    path = data_dir + "/online";
  } else if (uri.starts_with("rocksdb:")) {
    path = uri.substr(8);
    if (path.starts_with("//")) path = path.substr(2);  // rocksdb:///abs/path
    if (path.empty()) {
      return InvalidArgument("online store '" + uri + "' names no directory (use rocksdb:/path)");
    }
  } else if (uri.starts_with("redis://")) {
    KILN_ASSIGN_OR_RETURN(std::unique_ptr<RedisOnlineStore> redis,
                          RedisOnlineStore::Open(uri, RedisOnlineStore::Options()));
    return std::unique_ptr<OnlineStore>(std::move(redis));
  } else {
    return InvalidArgument("unknown online store '" + uri + "' (use rocksdb, rocksdb:/path, rocksdb-follower or redis://host:port)");
  }
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<RocksDbOnlineStore> rocks,
                        RocksDbOnlineStore::Open(path, RocksDbOnlineStore::Options()));
  return std::unique_ptr<OnlineStore>(
      std::make_unique<CachedOnlineStore>(std::move(rocks), CachedOnlineStore::Options()));
}

}  // namespace kiln::features
