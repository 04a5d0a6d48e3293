#pragma once
// EntityKeyIndex: dense int32 ids for the distinct join-key tuples of one
// frame (the build side), and a lookup of another frame's rows against them,
// so joins and aggregations compare small integers instead of strings.
// Key columns are int64, timestamp, bool or string. String keys are held as
// views into the build frame: the index borrows that frame, which must
// outlive it unchanged. Build is single-threaded; afterwards the index is
// immutable and Lookup may run from many threads at once.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "data/frame.h"

namespace kiln::features {

// Key id of a row whose key is null, or absent from the build frame.
inline constexpr int32_t kNoKey = -1;

class EntityKeyIndex {
 public:
  // Ids 0 … num_keys() − 1 in order of first appearance in `frame`; a row
  // with a null in any key column gets kNoKey. With no key columns every row
  // has key 0 (a feature view without entities). `frame_label` names the
  // frame in errors ("feature frame"). Error when a key column is missing or
  // float64, or the frame has 2^31 rows or more.
  static Result<EntityKeyIndex> Build(const data::Frame& frame,
                                      std::vector<std::string> key_columns,
                                      std::string frame_label);

  EntityKeyIndex(EntityKeyIndex&&) noexcept;
  EntityKeyIndex& operator=(EntityKeyIndex&&) noexcept;
  ~EntityKeyIndex();

  size_t num_keys() const { return first_rows_.size(); }
  // The key id of every row of the build frame.
  std::span<const int32_t> row_keys() const { return row_keys_; }
  // The first build-frame row holding `key`. REQUIRES: 0 <= key < num_keys().
  int64_t first_row(int32_t key) const { return first_rows_[static_cast<size_t>(key)]; }

  // Another frame's key columns, checked against the index, for looking up
  // key ids block by block. Borrows the index and the frame; immutable, so
  // many threads may share one.
  class Probe {
   public:
    size_t num_rows() const { return rows_; }
    // Writes the key ids of rows [begin, end) to keys[0 .. end − begin):
    // kNoKey where a key is null or absent from the build frame.
    // REQUIRES: begin <= end <= num_rows().
    void KeysOf(size_t begin, size_t end, int32_t* keys) const;

   private:
    friend class EntityKeyIndex;
    Probe(const EntityKeyIndex* index, std::vector<const data::Column*> columns, size_t rows)
        : index_(index), columns_(std::move(columns)), rows_(rows) {}

    const EntityKeyIndex* index_;
    std::vector<const data::Column*> columns_;
    size_t rows_;
  };

  // Error when a key column is missing from `other` or typed differently
  // there ("join key 'origin' is int64 in the entity frame but string in the
  // feature frame").
  Result<Probe> Bind(const data::Frame& other, std::string_view other_label) const;

  // Key ids for all rows of `other` (Bind, then KeysOf), using up to
  // `threads` threads.
  Result<std::vector<int32_t>> Lookup(const data::Frame& other, std::string_view other_label,
                                      int threads) const;

 private:
  struct Tables;
  EntityKeyIndex();

  std::vector<std::string> key_columns_;
  std::string frame_label_;
  std::vector<data::Type> key_types_;
  std::vector<int32_t> row_keys_;
  std::vector<int64_t> first_rows_;
  std::unique_ptr<Tables> tables_;
};

}  // namespace kiln::features
