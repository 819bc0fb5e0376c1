// Layout kernels: transpose, slicing, concat/stack/split, pad, tile, reverse, gather, one-hot.
#include "common.h"

namespace tt {

TT_FN(transpose) {
  return guarded(env, "transpose", [&] { Args a(env, info, 2); return ret_id(env, a.t(0).permute(a.ints(1)).contiguous()); });
}

// stridedSlice(x, begin, end, strides, finalShape): bounds already normalised by tfjs's slice_util
// (begin/end clamped, one entry per dim); negative strides walk backwards.
TT_FN(stridedSlice) {
  return guarded(env, "stridedSlice", [&] {
    Args a(env, info, 5);
    at::Tensor x = a.t(0);
    auto b = a.ints(1), e = a.ints(2), s = a.ints(3), fin = a.ints(4);
    for (int64_t d = 0; d < (int64_t)b.size() && d < x.dim(); d++) {
      int64_t n = x.size(d);
      if (s[d] > 0) {
        int64_t lo = std::max<int64_t>(0, std::min(b[d], n)), hi = std::max<int64_t>(lo, std::min(e[d], n));
        x = x.slice(d, lo, hi, s[d]);
      } else {
        // walk from b down to (exclusive) e: flip, then slice forward
        int64_t lo = std::min(b[d], n - 1), hi = std::max<int64_t>(e[d], -1);
        int64_t fb = n - 1 - lo, fe = n - 1 - hi;
        if (fe < fb) fe = fb;
        x = x.flip({d}).slice(d, fb, fe, -s[d]);
      }
    }
    return ret_id(env, x.reshape(fin).contiguous());
  });
}

// slice(x, begin, size)
TT_FN(slice) {
  return guarded(env, "slice", [&] {
    Args a(env, info, 3);
    at::Tensor x = a.t(0);
    auto b = a.ints(1), sz = a.ints(2);
    for (int64_t d = 0; d < (int64_t)b.size(); d++) {
      int64_t len = sz[d] < 0 ? x.size(d) - b[d] : sz[d];
      x = x.narrow(d, b[d], len);
    }
    return ret_id(env, x.contiguous());
  });
}

TT_FN(concat) {
  return guarded(env, "concat", [&] {
    Args a(env, info, 2);
    std::vector<at::Tensor> ts;
    for (auto id : a.ids(0)) ts.push_back(widened(get(id)));
    return ret_id(env, at::cat(ts, a.i64(1)));
  });
}
TT_FN(stack) {
  return guarded(env, "stack", [&] {
    Args a(env, info, 2);
    std::vector<at::Tensor> ts;
    for (auto id : a.ids(0)) ts.push_back(widened(get(id)));
    return ret_id(env, at::stack(ts, a.i64(1)));
  });
}
// unstack(x, axis) -> [ids]
TT_FN(unstack) {
  return guarded(env, "unstack", [&] {
    Args a(env, info, 2);
    std::vector<at::Tensor> out;
    for (auto& t : a.t(0).unbind(a.i64(1))) out.push_back(t.contiguous());
    return ret_ids(env, out);
  });
}
// split(x, sizes, axis) -> [ids]
TT_FN(split) {
  return guarded(env, "split", [&] {
    Args a(env, info, 3);
    std::vector<at::Tensor> out;
    for (auto& t : at::split_with_sizes(a.t(0), a.ints(1), a.i64(2))) out.push_back(t.contiguous());
    return ret_ids(env, out);
  });
}

// pad(x, paddings [before0, after0, before1, ...], value, mode: 'constant'|'reflect'|'symmetric')
TT_FN(pad) {
  return guarded(env, "pad", [&] {
    Args a(env, info, 4);
    at::Tensor x = a.t(0);
    auto p = a.ints(1);
    std::string mode = a.str(3);
    if (mode == "constant") {
      // ATen lists pads from the last dim backwards
      std::vector<int64_t> tp;
      for (int64_t d = x.dim() - 1; d >= 0; d--) { tp.push_back(p[2 * d]); tp.push_back(p[2 * d + 1]); }
      return ret_id(env, at::constant_pad_nd(x, tp, a.f64(2)));
    }
    // Mirror pads: build each dim by concatenating flipped edges (reflect excludes the edge).
    int64_t off = mode == "reflect" ? 1 : 0;
    for (int64_t d = 0; d < x.dim(); d++) {
      int64_t before = p[2 * d], after = p[2 * d + 1], n = x.size(d);
      if (!before && !after) continue;
      std::vector<at::Tensor> parts;
      if (before) parts.push_back(x.narrow(d, off, before).flip({d}));
      parts.push_back(x);
      if (after) parts.push_back(x.narrow(d, n - after - off, after).flip({d}));
      x = at::cat(parts, d);
    }
    return ret_id(env, x.contiguous());
  });
}

TT_FN(tile) {
  return guarded(env, "tile", [&] { Args a(env, info, 2); return ret_id(env, a.t(0).repeat(a.ints(1))); });
}
TT_FN(reverse) {
  return guarded(env, "reverse", [&] { Args a(env, info, 2); return ret_id(env, a.t(0).flip(a.ints(1))); });
}
TT_FN(broadcastTo) {
  return guarded(env, "broadcastTo", [&] { Args a(env, info, 2); return ret_id(env, a.t(0).expand(a.ints(1)).contiguous()); });
}

// gather(x, indices, axis, batchDims): tfjs GatherV2 output shape x[:axis] + idx[batchDims:] + x[axis+1:]
TT_FN(gather) {
  return guarded(env, "gather", [&] {
    Args a(env, info, 4);
    at::Tensor x = a.t(0), idx = a.t(1).to(at::kLong);
    int64_t axis = a.i64(2), bd = a.i64(3);
    if (bd != 0) throw std::runtime_error("GatherV2 with batchDims is not supported by the torch backend");
    auto flat = at::index_select(x, axis, idx.reshape({-1}));
    std::vector<int64_t> shape(x.sizes().begin(), x.sizes().begin() + axis);
    for (auto s : idx.sizes()) shape.push_back(s);
    for (int64_t d = axis + 1; d < x.dim(); d++) shape.push_back(x.size(d));
    return ret_id(env, flat.reshape(shape));
  });
}

// unsortedSegmentSum(x, segmentIds, numSegments): [numSegments, ...x.shape[ids.rank:]]; as TensorFlow,
// rows whose id is outside [0, numSegments) are dropped
TT_FN(unsortedSegmentSum) {
  return guarded(env, "unsortedSegmentSum", [&] {
    Args a(env, info, 3);
    at::Tensor x = a.t(0), ids = a.t(1).to(at::kLong);
    int64_t n = a.i64(2);
    std::vector<int64_t> rows{ids.numel()}, shape{n};
    for (int64_t d = ids.dim(); d < x.dim(); d++) { rows.push_back(x.size(d)); shape.push_back(x.size(d)); }
    at::Tensor flat = x.reshape(rows), id = ids.reshape({-1});
    at::Tensor keep = (id >= 0).logical_and(id < n).nonzero().squeeze(1);
    auto y = at::zeros(shape, x.options());
    y.index_add_(0, id.index_select(0, keep), flat.index_select(0, keep));
    return ret_id(env, y);
  });
}

// oneHot(indices, depth, on, off, dtype)
TT_FN(oneHot) {
  return guarded(env, "oneHot", [&] {
    Args a(env, info, 5);
    at::Tensor idx = a.t(0).to(at::kLong);
    int64_t depth = a.i64(1);
    double on = a.f64(2), off = a.f64(3);
    auto dt = dtype_of(a.str(4));
    std::vector<int64_t> shape(idx.sizes().begin(), idx.sizes().end());
    shape.push_back(depth);
    auto y = at::full(shape, off, at::TensorOptions().dtype(dt).device(idx.device()));
    // out-of-range indices (tfjs: -1 etc.) give an all-`off` row
    auto valid = (idx >= 0).logical_and(idx < depth);
    auto safe = at::where(valid, idx, at::zeros_like(idx)).unsqueeze(-1);
    auto src = at::where(valid.unsqueeze(-1), at::full_like(safe, 1, at::TensorOptions().dtype(dt)) * on,
                         at::full_like(safe, 1, at::TensorOptions().dtype(dt)) * off);
    y.scatter_(-1, safe, src.to(dt));
    return ret_id(env, y);
  });
}

void init_shape(napi_env env, napi_value exports) {
  add_exports(env, exports, {
    {"transpose", transpose}, {"stridedSlice", stridedSlice}, {"slice", slice}, {"concat", concat},
    {"stack", stack}, {"unstack", unstack}, {"split", split}, {"pad", pad}, {"tile", tile},
    {"reverse", reverse}, {"broadcastTo", broadcastTo}, {"gather", gather}, {"oneHot", oneHot},
    {"unsortedSegmentSum", unsortedSegmentSum},
  });
}

}  // namespace tt
