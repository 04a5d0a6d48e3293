#include "features/entity_key_index.h"

#include <algorithm>
#include <limits>

#include "features/join_columns.h"
#include "features/key_hash_table.h"
#include "features/parallel_for.h"

namespace kiln::features {
namespace {

constexpr size_t kLookupChunkRows = 1 << 16;

// The id of a tuple (prefix id, next column's code) in a combining table.
int64_t PairKey(int32_t prefix, int32_t code) {
  return static_cast<int64_t>((static_cast<uint64_t>(static_cast<uint32_t>(prefix)) << 32) |
                              static_cast<uint32_t>(code));
}

// Finds the key columns of `frame`, checking that each can be a join key.
Result<std::vector<const data::Column*>> KeyColumns(const data::Frame& frame,
                                                    const std::vector<std::string>& names,
                                                    std::string_view label) {
  std::vector<const data::Column*> columns;
  for (const std::string& name : names) {
    const data::Column* column = frame.Find(name);
    if (column == nullptr) {
      return InvalidArgument("join key '" + name + "' is not a column of the " +
                             std::string(label) + " (columns: " + ColumnList(frame) + ")");
    }
    if (column->type() == data::Type::kFloat64) {
      return InvalidArgument("join key '" + name + "' of the " + std::string(label) +
                             " is float64; join keys must be int64, string, bool or timestamp");
    }
    columns.push_back(column);
  }
  if (frame.num_rows() >= static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return InvalidArgument("the " + std::string(label) + " has " +
                           std::to_string(frame.num_rows()) +
                           " rows; joins support fewer than 2147483647");
  }
  return columns;
}

}  // namespace

struct EntityKeyIndex::Tables {
  // One per key column; only the table matching the column's type is used.
  std::vector<IntKeyTable> int_codes;
  std::vector<StringKeyTable> string_codes;
  // combine[c − 1] maps (id of columns 0..c−1, code of column c) to the id
  // of columns 0..c.
  std::vector<IntKeyTable> combine;
};

EntityKeyIndex::EntityKeyIndex() : tables_(std::make_unique<Tables>()) {}
EntityKeyIndex::EntityKeyIndex(EntityKeyIndex&&) noexcept = default;
EntityKeyIndex& EntityKeyIndex::operator=(EntityKeyIndex&&) noexcept = default;
EntityKeyIndex::~EntityKeyIndex() = default;

Result<EntityKeyIndex> EntityKeyIndex::Build(const data::Frame& frame,
                                             std::vector<std::string> key_columns,
                                             std::string frame_label) {
  KILN_ASSIGN_OR_RETURN(std::vector<const data::Column*> columns,
                        KeyColumns(frame, key_columns, frame_label));
  EntityKeyIndex index;
  index.key_columns_ = std::move(key_columns);
  index.frame_label_ = std::move(frame_label);
  Tables& tables = *index.tables_;
  const size_t num_columns = columns.size();
  tables.int_codes.resize(num_columns);
  tables.string_codes.resize(num_columns);
  tables.combine.resize(num_columns > 0 ? num_columns - 1 : 0);
  for (const data::Column* column : columns) index.key_types_.push_back(column->type());

  const size_t rows = frame.num_rows();
  index.row_keys_.resize(rows);
  for (size_t row = 0; row < rows; ++row) {
    int32_t id = 0;
    for (size_t c = 0; c < num_columns; ++c) {
      const data::Column& column = *columns[c];
      if (column.IsNull(row)) {
        id = kNoKey;
        break;
      }
      const int32_t code = column.type() == data::Type::kString
                               ? tables.string_codes[c].Insert(column.strings()[row])
                               : tables.int_codes[c].Insert(column.ints()[row]);
      id = c == 0 ? code : tables.combine[c - 1].Insert(PairKey(id, code));
    }
    index.row_keys_[row] = id;
    if (id != kNoKey && static_cast<size_t>(id) == index.first_rows_.size()) {
      index.first_rows_.push_back(static_cast<int64_t>(row));
    }
  }
  return index;
}

Result<EntityKeyIndex::Probe> EntityKeyIndex::Bind(const data::Frame& other,
                                                  std::string_view other_label) const {
  KILN_ASSIGN_OR_RETURN(std::vector<const data::Column*> columns,
                        KeyColumns(other, key_columns_, other_label));
  for (size_t c = 0; c < columns.size(); ++c) {
    if (columns[c]->type() != key_types_[c]) {
      return InvalidArgument("join key '" + key_columns_[c] + "' is " +
                             std::string(data::TypeName(columns[c]->type())) + " in the " +
                             std::string(other_label) + " but " +
                             std::string(data::TypeName(key_types_[c])) + " in the " +
                             frame_label_);
    }
  }
  return Probe(this, std::move(columns), other.num_rows());
}

void EntityKeyIndex::Probe::KeysOf(size_t begin, size_t end, int32_t* keys) const {
  if (index_->num_keys() == 0) {
    std::fill(keys, keys + (end - begin), kNoKey);
    return;
  }
  const Tables& tables = *index_->tables_;
  if (columns_.size() == 1) {  // the common case, without the loop over columns
    const data::Column& column = *columns_[0];
    const uint8_t* valid = column.validity().data();
    if (column.type() == data::Type::kString) {
      const std::string* values = column.strings().data();
      for (size_t row = begin; row < end; ++row) {
        keys[row - begin] = valid[row] != 0 ? tables.string_codes[0].Find(values[row]) : kNoKey;
      }
    } else {
      const int64_t* values = column.ints().data();
      for (size_t row = begin; row < end; ++row) {
        keys[row - begin] = valid[row] != 0 ? tables.int_codes[0].Find(values[row]) : kNoKey;
      }
    }
    return;
  }
  for (size_t row = begin; row < end; ++row) {
    int32_t id = 0;
    for (size_t c = 0; c < columns_.size(); ++c) {
      const data::Column& column = *columns_[c];
      if (column.IsNull(row)) {
        id = kNoKey;
        break;
      }
      const int32_t code = column.type() == data::Type::kString
                               ? tables.string_codes[c].Find(column.strings()[row])
                               : tables.int_codes[c].Find(column.ints()[row]);
      id = code < 0 ? kNoKey : c == 0 ? code : tables.combine[c - 1].Find(PairKey(id, code));
      if (id == kNoKey) break;
    }
    keys[row - begin] = id;
  }
}

Result<std::vector<int32_t>> EntityKeyIndex::Lookup(const data::Frame& other,
                                                    std::string_view other_label,
                                                    int threads) const {
  KILN_ASSIGN_OR_RETURN(Probe probe, Bind(other, other_label));
  const size_t rows = other.num_rows();
  std::vector<int32_t> keys(rows);
  const size_t chunks = (rows + kLookupChunkRows - 1) / kLookupChunkRows;
  ParallelFor(chunks, threads, [&](size_t chunk, int /*worker*/) {
    const size_t begin = chunk * kLookupChunkRows;
    const size_t end = std::min(rows, begin + kLookupChunkRows);
    probe.KeysOf(begin, end, keys.data() + begin);
  });
  return keys;
}

}  // namespace kiln::features
