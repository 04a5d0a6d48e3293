#pragma once
// Drivers turn one scalar kernel (expression_kernels.h) into the two
// functions of a node: a row function, which evaluates the children of one
// row and calls the kernel once, and a batch function, a tight loop over
// whole columns that calls the same kernel for every row. Nothing else
// computes values, so the two paths cannot disagree.

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "features/expression_kernels.h"
#include "features/expression_node.h"

namespace kiln::features::drivers {

using data::Type;

// C++ types a kernel takes (In) and produces (Out) for each column type.
template <Type T>
struct Physical {
  using In = int64_t;  // bool (0/1), int64, timestamp (µs)
  using Out = int64_t;
};
template <>
struct Physical<Type::kFloat64> {
  using In = double;
  using Out = double;
};
template <>
struct Physical<Type::kString> {
  using In = std::string_view;
  using Out = std::string;
};
template <Type T>
using In = typename Physical<T>::In;
template <Type T>
using Out = typename Physical<T>::Out;

template <class T>
T Read(const RowValue& v) {
  if constexpr (std::is_same_v<T, int64_t>) return v.i;
  if constexpr (std::is_same_v<T, double>) return v.f;
  if constexpr (std::is_same_v<T, std::string_view>) return v.s;
}

inline RowValue IntResult(bool ok, int64_t r) {
  RowValue v;
  v.valid = ok;
  v.i = ok ? r : 0;
  return v;
}
inline RowValue FloatResult(bool ok, double r) {
  RowValue v;
  v.valid = ok;
  v.f = ok ? r : 0.0;
  return v;
}
inline RowValue StringResult(bool ok, std::string_view r) {
  RowValue v;
  v.valid = ok;
  if (ok) v.s = r;
  return v;
}
template <class T>
RowValue MakeRowValue(bool ok, const T& r) {
  if constexpr (std::is_same_v<T, int64_t>) return IntResult(ok, r);
  if constexpr (std::is_same_v<T, double>) return FloatResult(ok, r);
  if constexpr (!std::is_same_v<T, int64_t> && !std::is_same_v<T, double>) {
    return StringResult(ok, std::string_view(r));
  }
}

// Read-only view of a batch argument for the loops. Numeric columns always
// have one entry per row; a string column may be broadcast (stride 0).
template <class T>
struct ArgView {
  explicit ArgView(const BatchColumn& c) : valid(c.column().validity().data()) {
    if constexpr (std::is_same_v<T, int64_t>) data = c.column().ints().data();
    if constexpr (std::is_same_v<T, double>) data = c.column().floats().data();
  }
  const T* data = nullptr;
  const uint8_t* valid;
  T Value(size_t row) const { return data[row]; }
  bool Valid(size_t row) const { return valid[row] != 0; }
};
template <>
struct ArgView<std::string_view> {
  explicit ArgView(const BatchColumn& c)
      : data(c.column().strings().data()), valid(c.column().validity().data()), stride(c.broadcast ? 0 : 1) {}
  const std::string* data;
  const uint8_t* valid;
  size_t stride;
  std::string_view Value(size_t row) const { return data[row * stride]; }
  bool Valid(size_t row) const { return valid[row * stride] != 0; }
};
// Validity only, for `is null` over any type.
struct ValidityView {
  explicit ValidityView(const BatchColumn& c)
      : valid(c.column().validity().data()), stride(c.broadcast ? 0 : 1) {}
  const uint8_t* valid;
  size_t stride;
  bool Valid(size_t row) const { return valid[row * stride] != 0; }
};

inline uint8_t* PrepareValidity(data::Column* out, size_t rows) {
  out->mutable_validity().assign(rows, 0);
  return out->mutable_validity().data();
}
template <class T>
T* PrepareData(data::Column* out, size_t rows) {
  if constexpr (std::is_same_v<T, int64_t>) {
    out->mutable_ints().assign(rows, 0);
    return out->mutable_ints().data();
  }
  if constexpr (std::is_same_v<T, double>) {
    out->mutable_floats().assign(rows, 0.0);
    return out->mutable_floats().data();
  }
  if constexpr (std::is_same_v<T, std::string>) {
    out->mutable_strings().assign(rows, std::string());
    return out->mutable_strings().data();
  }
}

// The row and batch functions of one node kind.
struct NodeFunctions {
  RowFunction row;
  BatchFunction batch;
};

// ---------------------------------------------------------------------------
// Null in, null out: the kernel K runs when every argument is present.

template <class K, Type R, Type... P>
struct NullPropagating {
  using ResultType = Out<R>;
  using Indices = std::make_index_sequence<sizeof...(P)>;

  static RowValue Row(const ExpressionNode& node, RowContext& context) {
    return RowImpl(node, context, Indices{});
  }
  static void Batch(const ExpressionNode& node, std::span<const BatchColumn> args, size_t rows,
                    data::Column* out) {
    BatchImpl(args, rows, out, Indices{});
  }

  template <size_t... I>
  static RowValue RowImpl(const ExpressionNode& node, RowContext& context, std::index_sequence<I...>) {
    const RowValue args[] = {EvaluateRowNode(*node.children[I], context)...};
    if (!(args[I].valid && ...)) return RowValue{};
    if constexpr (std::is_same_v<ResultType, std::string>) {
      std::string& r = context.scratch[node.scratch_slot];
      const bool ok = K::Apply(Read<In<P>>(args[I])..., &r);
      return StringResult(ok, r);
    } else {
      ResultType r{};
      const bool ok = K::Apply(Read<In<P>>(args[I])..., &r);
      return MakeRowValue(ok, r);
    }
  }

  template <size_t... I>
  static void BatchImpl(std::span<const BatchColumn> args, size_t rows, data::Column* out,
                        std::index_sequence<I...>) {
    const std::tuple<ArgView<In<P>>...> views{ArgView<In<P>>(args[I])...};
    uint8_t* __restrict valid = PrepareValidity(out, rows);
    ResultType* __restrict data = PrepareData<ResultType>(out, rows);
    if constexpr (std::is_same_v<ResultType, std::string>) {
      for (size_t row = 0; row < rows; ++row) {
        const bool ok =
            (std::get<I>(views).Valid(row) && ...) && K::Apply(std::get<I>(views).Value(row)..., &data[row]);
        if (!ok) data[row].clear();
        valid[row] = ok;
      }
    } else {
      // Branch-free: the kernel is total, so it may run on a null's payload.
      for (size_t row = 0; row < rows; ++row) {
        ResultType r{};
        const bool computed = K::Apply(std::get<I>(views).Value(row)..., &r);
        const bool ok = computed & (std::get<I>(views).Valid(row) & ...);
        valid[row] = ok;
        data[row] = ok ? r : ResultType{};
      }
    }
  }
};

template <class K, Type R, Type... P>
NodeFunctions NullPropagatingFunctions() {
  return {&NullPropagating<K, R, P...>::Row, &NullPropagating<K, R, P...>::Batch};
}

// ---------------------------------------------------------------------------
// Forms that look at nullness: and/or, is null, if, coalesce, in; and the
// n-ary folds least/greatest and concat.

template <bool kAnd>
struct Logic {
  static bool Kernel(bool av, int64_t a, bool bv, int64_t b, int64_t* r) {
    return kAnd ? kernels::And3(av, a, bv, b, r) : kernels::Or3(av, a, bv, b, r);
  }
  static RowValue Row(const ExpressionNode& node, RowContext& context) {
    const RowValue a = EvaluateRowNode(*node.children[0], context);
    const RowValue b = EvaluateRowNode(*node.children[1], context);
    int64_t r = 0;
    const bool ok = Kernel(a.valid, a.i, b.valid, b.i, &r);
    return IntResult(ok, r);
  }
  static void Batch(const ExpressionNode&, std::span<const BatchColumn> args, size_t rows,
                    data::Column* out) {
    const ArgView<int64_t> a(args[0]);
    const ArgView<int64_t> b(args[1]);
    uint8_t* __restrict valid = PrepareValidity(out, rows);
    int64_t* __restrict data = PrepareData<int64_t>(out, rows);
    for (size_t row = 0; row < rows; ++row) {
      int64_t r = 0;
      valid[row] = Kernel(a.Valid(row), a.Value(row), b.Valid(row), b.Value(row), &r);
      data[row] = r;
    }
  }
};

template <bool kIsNotNull>
struct NullTest {
  static int64_t Kernel(bool valid) { return kIsNotNull ? valid : !valid; }
  static RowValue Row(const ExpressionNode& node, RowContext& context) {
    return IntResult(true, Kernel(EvaluateRowNode(*node.children[0], context).valid));
  }
  static void Batch(const ExpressionNode&, std::span<const BatchColumn> args, size_t rows,
                    data::Column* out) {
    const ValidityView a(args[0]);
    uint8_t* valid = PrepareValidity(out, rows);
    int64_t* data = PrepareData<int64_t>(out, rows);
    for (size_t row = 0; row < rows; ++row) {
      valid[row] = 1;
      data[row] = Kernel(a.Valid(row));
    }
  }
};

// if(condition, then, else): a null condition takes else.
template <Type T>
struct Conditional {
  static RowValue Row(const ExpressionNode& node, RowContext& context) {
    const RowValue condition = EvaluateRowNode(*node.children[0], context);
    const bool take_then = kernels::TakesThenBranch(condition.valid, condition.i);
    return EvaluateRowNode(*node.children[take_then ? 1 : 2], context);
  }
  static void Batch(const ExpressionNode&, std::span<const BatchColumn> args, size_t rows,
                    data::Column* out) {
    const ArgView<int64_t> condition(args[0]);
    const ArgView<In<T>> a(args[1]);
    const ArgView<In<T>> b(args[2]);
    uint8_t* valid = PrepareValidity(out, rows);
    Out<T>* data = PrepareData<Out<T>>(out, rows);
    for (size_t row = 0; row < rows; ++row) {
      const bool take_then = kernels::TakesThenBranch(condition.Valid(row), condition.Value(row));
      const bool ok = take_then ? a.Valid(row) : b.Valid(row);
      valid[row] = ok;
      if (ok) data[row] = take_then ? a.Value(row) : b.Value(row);
    }
  }
};

// coalesce(a, b, …): the first present argument.
template <Type T>
struct Coalesce {
  static RowValue Row(const ExpressionNode& node, RowContext& context) {
    for (const auto& child : node.children) {
      const RowValue v = EvaluateRowNode(*child, context);
      if (v.valid) return v;
    }
    return RowValue{};
  }
  static void Batch(const ExpressionNode&, std::span<const BatchColumn> args, size_t rows,
                    data::Column* out) {
    std::vector<ArgView<In<T>>> views;
    for (const BatchColumn& arg : args) views.emplace_back(arg);
    uint8_t* valid = PrepareValidity(out, rows);
    Out<T>* data = PrepareData<Out<T>>(out, rows);
    for (size_t row = 0; row < rows; ++row) {
      for (const ArgView<In<T>>& view : views) {
        if (view.Valid(row)) {
          valid[row] = 1;
          data[row] = view.Value(row);
          break;
        }
      }
    }
  }
};

// x in (items…): children are x then the items, all of type T.
template <Type T>
struct InList {
  static RowValue Row(const ExpressionNode& node, RowContext& context) {
    const RowValue x = EvaluateRowNode(*node.children[0], context);
    bool acc_valid = true;
    int64_t acc = 0;
    for (size_t k = 1; k < node.children.size(); ++k) {
      const RowValue item = EvaluateRowNode(*node.children[k], context);
      acc_valid = kernels::InStep<In<T>>(acc_valid, acc, x.valid, Read<In<T>>(x), item.valid,
                                         Read<In<T>>(item), &acc);
    }
    return IntResult(acc_valid, acc);
  }
  static void Batch(const ExpressionNode&, std::span<const BatchColumn> args, size_t rows,
                    data::Column* out) {
    const ArgView<In<T>> x(args[0]);
    std::vector<ArgView<In<T>>> items;
    for (size_t k = 1; k < args.size(); ++k) items.emplace_back(args[k]);
    uint8_t* valid = PrepareValidity(out, rows);
    int64_t* data = PrepareData<int64_t>(out, rows);
    for (size_t row = 0; row < rows; ++row) {
      bool acc_valid = true;
      int64_t acc = 0;
      for (const ArgView<In<T>>& item : items) {
        acc_valid = kernels::InStep<In<T>>(acc_valid, acc, x.Valid(row), x.Value(row), item.Valid(row),
                                           item.Value(row), &acc);
      }
      valid[row] = acc_valid;
      data[row] = acc_valid ? acc : 0;
    }
  }
};

// Left fold of a binary kernel K(In<T>, In<T>) -> In<T> over 2+ arguments
// (least, greatest); null if any argument is null.
template <class K, Type T>
struct Fold {
  static RowValue Row(const ExpressionNode& node, RowContext& context) {
    RowValue acc = EvaluateRowNode(*node.children[0], context);
    if (!acc.valid) return RowValue{};
    In<T> value = Read<In<T>>(acc);
    for (size_t k = 1; k < node.children.size(); ++k) {
      const RowValue next = EvaluateRowNode(*node.children[k], context);
      if (!next.valid) return RowValue{};
      K::Apply(value, Read<In<T>>(next), &value);
    }
    return MakeRowValue(true, value);
  }
  static void Batch(const ExpressionNode&, std::span<const BatchColumn> args, size_t rows,
                    data::Column* out) {
    std::vector<ArgView<In<T>>> views;
    for (const BatchColumn& arg : args) views.emplace_back(arg);
    uint8_t* valid = PrepareValidity(out, rows);
    Out<T>* data = PrepareData<Out<T>>(out, rows);
    for (size_t row = 0; row < rows; ++row) {
      bool ok = views[0].Valid(row);
      In<T> value = views[0].Value(row);
      for (size_t k = 1; k < views.size() && ok; ++k) {
        ok = views[k].Valid(row);
        K::Apply(value, views[k].Value(row), &value);
      }
      valid[row] = ok;
      if (ok) data[row] = value;
    }
  }
};

struct Concat {
  static RowValue Row(const ExpressionNode& node, RowContext& context) {
    std::string& r = context.scratch[node.scratch_slot];
    r.clear();
    for (const auto& child : node.children) {
      const RowValue piece = EvaluateRowNode(*child, context);
      if (!piece.valid) return RowValue{};
      kernels::ConcatAppend(piece.s, &r);
    }
    return StringResult(true, r);
  }
  static void Batch(const ExpressionNode&, std::span<const BatchColumn> args, size_t rows,
                    data::Column* out) {
    std::vector<ArgView<std::string_view>> views;
    for (const BatchColumn& arg : args) views.emplace_back(arg);
    uint8_t* valid = PrepareValidity(out, rows);
    std::string* data = PrepareData<std::string>(out, rows);
    for (size_t row = 0; row < rows; ++row) {
      bool ok = true;
      for (const auto& view : views) ok = ok && view.Valid(row);
      valid[row] = ok;
      if (!ok) continue;
      for (const auto& view : views) kernels::ConcatAppend(view.Value(row), &data[row]);
    }
  }
};

template <class D>
NodeFunctions FunctionsOf() {
  return {&D::Row, &D::Batch};
}

}  // namespace kiln::features::drivers
