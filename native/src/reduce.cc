// Reductions and scans: Sum/Mean/Max/Min/Prod/All/Any/ArgMax/ArgMin over axes, Cumsum/Cumprod,
// Softmax/LogSoftmax along the last axis, TopK.
#include "common.h"

namespace tt {

// Reduces one axis at a time (from the last) for ops ATen only reduces over a single dim.
template <typename F>
static at::Tensor per_axis(at::Tensor x, std::vector<int64_t> axes, bool keep, F f) {
  std::sort(axes.rbegin(), axes.rend());
  for (auto ax : axes) x = f(x, ax, keep);
  return x;
}

// reduce(op, x, axes, keepDims, outDtype)
TT_FN(reduce) {
  return guarded(env, "reduce", [&] {
    Args a(env, info, 5);
    std::string op = a.str(0);
    at::Tensor x = a.t(1);
    auto axes = a.ints(2);
    bool keep = a.b(3);
    auto out = dtype_of(a.str(4));
    for (auto& ax : axes) if (ax < 0) ax += x.dim();
    at::Tensor y;
    if (axes.empty()) {
      y = x.clone();
    } else if (op == "Sum") {
      y = at::sum(x, axes, keep, x.scalar_type() == at::kBool ? at::kInt : x.scalar_type());
    } else if (op == "Mean") {
      y = at::mean(x.is_floating_point() ? x : x.to(at::kFloat), axes, keep);
    } else if (op == "Max") {
      y = at::amax(x, axes, keep);
    } else if (op == "Min") {
      y = at::amin(x, axes, keep);
    } else if (op == "Prod") {
      y = per_axis(x, axes, keep, [](const at::Tensor& t, int64_t ax, bool k) { return at::prod(t, ax, k); });
    } else if (op == "All") {
      y = per_axis(x.to(at::kBool), axes, keep, [](const at::Tensor& t, int64_t ax, bool k) { return at::all(t, ax, k); });
    } else if (op == "Any") {
      y = per_axis(x.to(at::kBool), axes, keep, [](const at::Tensor& t, int64_t ax, bool k) { return at::any(t, ax, k); });
    } else if (op == "ArgMax" || op == "ArgMin") {
      if (axes.size() != 1) throw std::runtime_error(op + " reduces exactly one axis");
      // tfjs skips NaN (ATen takes it as the extreme) and accepts bool
      at::Tensor v = x.scalar_type() == at::kBool ? x.to(at::kInt) : x;
      bool max = op == "ArgMax";
      if (v.is_floating_point()) v = at::nan_to_num(v, max ? -INFINITY : INFINITY, INFINITY, -INFINITY);
      y = max ? at::argmax(v, axes[0], keep) : at::argmin(v, axes[0], keep);
    } else {
      throw std::runtime_error("unknown reduction " + op);
    }
    if (y.scalar_type() != out) y = y.to(out);
    return ret_id(env, y);
  });
}

// scan(op, x, axis, exclusive, reverse)
TT_FN(scan) {
  return guarded(env, "scan", [&] {
    Args a(env, info, 5);
    std::string op = a.str(0);
    at::Tensor x = a.t(1);
    int64_t ax = a.i64(2);
    bool exclusive = a.b(3), reverse = a.b(4);
    if (ax < 0) ax += x.dim();
    auto dt = x.scalar_type();
    if (reverse) x = x.flip({ax});
    at::Tensor y = op == "Cumsum" ? at::cumsum(x, ax, dt) : at::cumprod(x, ax, dt);
    if (exclusive) {
      // shift by one along ax, filling with the identity (0 for sums, 1 for products)
      auto n = x.size(ax);
      auto first = at::full_like(x.narrow(ax, 0, 1), op == "Cumsum" ? 0 : 1);
      y = at::cat({first, y.narrow(ax, 0, n - 1)}, ax);
    }
    if (reverse) y = y.flip({ax});
    return ret_id(env, y.contiguous());
  });
}

// softmax(x, dim, log)
TT_FN(softmax) {
  return guarded(env, "softmax", [&] {
    Args a(env, info, 3);
    at::Tensor x = a.t(0);
    int64_t dim = a.i64(1);
    return ret_id(env, a.b(2) ? at::log_softmax(x, dim) : at::softmax(x, dim));
  });
}

// topk(x, k, sorted) -> [values, indices(int32)]
TT_FN(topk) {
  return guarded(env, "topk", [&] {
    Args a(env, info, 3);
    // tfjs orders equal values by index (lower first); ATen's topk leaves ties in any order, so a
    // stable descending sort, cut to k
    int64_t k = a.i64(1);
    auto r = at::sort(a.t(0), true, -1, true);
    return ret_ids(env, {std::get<0>(r).narrow(-1, 0, k).contiguous(), std::get<1>(r).narrow(-1, 0, k).to(at::kInt)});
  });
}

void init_reduce(napi_env env, napi_value exports) {
  add_exports(env, exports, {{"reduce", reduce}, {"scan", scan}, {"softmax", softmax}, {"topk", topk}});
}

}  // namespace tt
