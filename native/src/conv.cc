// Convolutions on NHWC data viewed as channels-last NCHW. The HWIO filter is laid out once as a
// channels-last OIHW tensor and stored back in the table under the same handle (same values, new
// strides), so later calls, and the tensors the optimiser derives from it, need no re-layout.
#include "common.h"

namespace tt {

struct Geometry {
  std::vector<int64_t> stride, dil;
  int64_t top, bottom, left, right;
  bool symmetric() const { return top == bottom && left == right; }
};

static Geometry geometry(Args& a, size_t i) {
  auto s = a.ints(i), p = a.ints(i + 1), d = a.ints(i + 2);
  return {{s[0], s[1]}, {d[0], d[1]}, p[0], p[1], p[2], p[3]};
}

// The OIHW channels-last view of filter handle `id` (relaid once, then cached in the table).
static at::Tensor filter_oihw(int32_t id) {
  at::Tensor& w = get(id);
  at::Tensor o = oihw(w);
  if (!o.is_contiguous(at::MemoryFormat::ChannelsLast)) {
    o = o.contiguous(at::MemoryFormat::ChannelsLast);
    replace(id, o.permute({2, 3, 1, 0}));
  }
  return o;
}

// NCHW tensor n with g's padding written out (a copy, channels-last); negative pads crop.
static at::Tensor pad_explicitly(const at::Tensor& n, const Geometry& g, double value) {
  return at::constant_pad_nd(n, {g.left, g.right, g.top, g.bottom}, value).contiguous(at::MemoryFormat::ChannelsLast);
}
// NCHW view of x with asymmetric "same" padding (or any, when `explicit_pads`) applied explicitly
// (zero copy otherwise); sym_pad is the padding ATen is then to add itself.
static at::Tensor padded_input(const at::Tensor& x, const Geometry& g, double value = 0, bool explicit_pads = false) {
  at::Tensor n = nchw(x);
  return g.symmetric() && !explicit_pads ? n : pad_explicitly(n, g, value);
}
static std::vector<int64_t> sym_pad(const Geometry& g, bool explicit_pads = false) {
  return g.symmetric() && !explicit_pads ? std::vector<int64_t>{g.top, g.left} : std::vector<int64_t>{0, 0};
}

// conv2d(x, filter, strides, pads[t,b,l,r], dilations, bias|null, activation, prelu|null, alpha)
TT_FN(conv2d) {
  return guarded(env, "conv2d", [&] {
    Args a(env, info, 9);
    at::Tensor x = a.stored(0);
    auto w = filter_oihw(a.id(1));
    auto g = geometry(a, 2);
    Epilogue ep(a, 5);
    at::Tensor xin = to_compute(padded_input(x, g));
    // ATen expects a bias of [O]; tfjs allows a broadcastable one, applied after.
    bool native_bias = ep.bias.defined() && ep.bias.dim() == 1 && ep.bias.size(0) == w.size(0);
    at::Tensor y = at::convolution(xin, to_compute(w), native_bias ? c10::optional<at::Tensor>(to_compute(ep.bias)) : c10::nullopt,
                                   g.stride, sym_pad(g), g.dil, false, {0, 0}, 1);
    // stays in the compute dtype (the batch norm after it reads bf16 as autocast's does)
    return ret_id(env, ep.apply(nhwc(y), native_bias));
  });
}

// dx (NHWC, shape `in`) of a convolution with OIHW-CL weight w and `groups` groups, in the compute
// dtype (as autocast's backward hands the layer below a bf16 gradient).
static at::Tensor backprop_input(const at::Tensor& dy_nhwc, const at::Tensor& w, const std::vector<int64_t>& shape,
                                 const Geometry& g, int64_t groups) {
  at::Tensor dy = to_compute(nchw(dy_nhwc));
  int64_t ph = g.symmetric() ? 0 : g.top + g.bottom, pw = g.symmetric() ? 0 : g.left + g.right;
  auto in = at::empty({shape[0], shape[3], shape[1] + ph, shape[2] + pw},
                      dy.options().memory_format(at::MemoryFormat::ChannelsLast));
  auto r = at::convolution_backward(dy, in, to_compute(w), c10::nullopt, g.stride, sym_pad(g), g.dil, false, {0, 0}, groups,
                                    {true, false, false});
  at::Tensor dx = std::get<0>(r);
  if (!g.symmetric()) dx = dx.narrow(2, g.top, shape[1]).narrow(3, g.left, shape[2]);
  return nhwc(dx);
}

// The weight gradient, OIHW of shape `oihw_shape`, of a convolution of x (NHWC) with `groups` groups.
static at::Tensor backprop_filter(const at::Tensor& x_nhwc, const at::Tensor& dy_nhwc, std::vector<int64_t> oihw_shape,
                                  const Geometry& g, int64_t groups) {
  // oneDNN's (libtorch 1.13) bf16 weight gradient with its own padding at a stride above 1 comes
  // back with garbage, non-finite values where the image is smaller than the stride (a 1x1 input
  // at stride 2: a bf16 fit at 16 px diverged in layer4); padding explicitly avoids it.
  bool explicit_pads = compute_dtype() != at::kFloat && (g.stride[0] > 1 || g.stride[1] > 1) && g.top + g.bottom + g.left + g.right > 0;
  at::Tensor x = to_compute(padded_input(x_nhwc, g, 0, explicit_pads));
  at::Tensor dy = to_compute(nchw(dy_nhwc));
  auto w = at::empty(oihw_shape, x.options().memory_format(at::MemoryFormat::ChannelsLast));
  auto r = at::convolution_backward(dy, x, w, c10::nullopt, g.stride, sym_pad(g, explicit_pads), g.dil, false, {0, 0}, groups,
                                    {false, true, false});
  // The filter gradient goes back to float32: the master weights and AdamW stay fp32.
  return fp32(std::get<1>(r));
}

// conv2dBackpropInput(dy, filter, inputShape NHWC, strides, pads, dilations)
TT_FN(conv2dBackpropInput) {
  return guarded(env, "conv2dBackpropInput", [&] {
    Args a(env, info, 6);
    return ret_id(env, backprop_input(a.stored(0), filter_oihw(a.id(1)), a.ints(2), geometry(a, 3), 1));
  });
}

// conv2dBackpropFilter(x, dy, filterShape HWIO, strides, pads, dilations) -> HWIO view of OIHW-CL
TT_FN(conv2dBackpropFilter) {
  return guarded(env, "conv2dBackpropFilter", [&] {
    Args a(env, info, 6);
    auto fs = a.ints(2);
    return ret_id(env, backprop_filter(a.stored(0), a.stored(1), {fs[3], fs[2], fs[0], fs[1]}, geometry(a, 3), 1).permute({2, 3, 1, 0}));
  });
}

// A depthwise filter [H,W,C,M] as the OIHW-CL weight [C*M,1,H,W] of a convolution with C groups.
static at::Tensor depthwise_oihw(const at::Tensor& f) {
  return f.reshape({f.size(0), f.size(1), f.size(2) * f.size(3), 1}).permute({2, 3, 0, 1}).contiguous(at::MemoryFormat::ChannelsLast);
}

// depthwise(x, filter [H,W,C,M], strides, pads, dilations, bias|null, activation, prelu|null, alpha): groups = C
TT_FN(depthwiseConv2d) {
  return guarded(env, "depthwiseConv2d", [&] {
    Args a(env, info, 9);
    at::Tensor x = a.stored(0), f = a.t(1);
    auto g = geometry(a, 2);
    auto y = at::convolution(to_compute(padded_input(x, g)), to_compute(depthwise_oihw(f)), c10::nullopt, g.stride, sym_pad(g),
                             g.dil, false, {0, 0}, f.size(2));
    return ret_id(env, Epilogue(a, 5).apply(nhwc(y)));
  });
}

// depthwiseBackpropInput(dy, filter [H,W,C,M], inputShape NHWC, strides, pads, dilations)
TT_FN(depthwiseBackpropInput) {
  return guarded(env, "depthwiseBackpropInput", [&] {
    Args a(env, info, 6);
    at::Tensor f = a.t(1);
    return ret_id(env, backprop_input(a.stored(0), depthwise_oihw(f), a.ints(2), geometry(a, 3), f.size(2)));
  });
}

// depthwiseBackpropFilter(x, dy, filterShape [H,W,C,M], strides, pads, dilations)
TT_FN(depthwiseBackpropFilter) {
  return guarded(env, "depthwiseBackpropFilter", [&] {
    Args a(env, info, 6);
    auto fs = a.ints(2);
    at::Tensor dw = backprop_filter(a.stored(0), a.stored(1), {fs[2] * fs[3], 1, fs[0], fs[1]}, geometry(a, 3), fs[2]);
    // [C*M,1,H,W] -> [H,W,1,C*M] -> [H,W,C,M]
    return ret_id(env, dw.permute({2, 3, 1, 0}).reshape({fs[0], fs[1], fs[2], fs[3]}));
  });
}

// Whether ATen's own pool padding (symmetric, at most half the window) expresses g's.
static bool aten_pool_pads(const Geometry& g, const std::vector<int64_t>& k) {
  return g.symmetric() && 2 * g.top <= k[0] && 2 * g.left <= k[1];
}
// NCHW view of x, padded explicitly with `value` where ATen's pool padding cannot say it (negative
// pads crop: tfjs's round/ceil output sizes come as a grown or cut bottom/right).
static at::Tensor pool_input(const at::Tensor& x, const Geometry& g, const std::vector<int64_t>& k, double value) {
  at::Tensor n = nchw(x);
  return aten_pool_pads(g, k) ? n : pad_explicitly(n, g, value);
}
static std::vector<int64_t> pool_pad(const Geometry& g, const std::vector<int64_t>& k) {
  return aten_pool_pads(g, k) ? std::vector<int64_t>{g.top, g.left} : std::vector<int64_t>{0, 0};
}
// Per output cell, the share of its window inside the image: tfjs averages over those cells only.
static at::Tensor inside_share(const at::Tensor& x, const Geometry& g, const std::vector<int64_t>& k) {
  auto ones = at::ones({1, 1, x.size(1), x.size(2)}, x.options());
  auto padded = at::constant_pad_nd(ones, {g.left, g.right, g.top, g.bottom}, 0);
  return at::avg_pool2d(padded, k, g.stride, {0, 0}, false, true);
}

static Geometry pool_geometry(Args& a, size_t i) {
  Geometry g{a.ints(i), {1, 1}, 0, 0, 0, 0};
  auto p = a.ints(i + 1);
  g.top = p[0]; g.bottom = p[1]; g.left = p[2]; g.right = p[3];
  return g;
}

// pool(kind 'max'|'avg', x, ksize, strides, pads)
TT_FN(pool) {
  return guarded(env, "pool", [&] {
    Args a(env, info, 5);
    std::string kind = a.str(0);
    // a max is exact in any dtype: a half-precision activation is pooled as it is
    at::Tensor x = kind == "max" ? a.stored(1) : a.t(1);
    auto k = a.ints(2);
    Geometry g = pool_geometry(a, 3);
    at::Tensor y;
    if (kind == "max") {
      y = at::max_pool2d(pool_input(x, g, k, -INFINITY), k, g.stride, pool_pad(g, k));
    } else if (aten_pool_pads(g, k)) {
      y = at::avg_pool2d(nchw(x), k, g.stride, pool_pad(g, k), false, false);
    } else {
      y = at::avg_pool2d(pool_input(x, g, k, 0), k, g.stride, {0, 0}, false, true) / inside_share(x, g, k);
    }
    return ret_id(env, nhwc(y));
  });
}

// poolGrad(kind, dy, x, ksize, strides, pads)
TT_FN(poolGrad) {
  return guarded(env, "poolGrad", [&] {
    Args a(env, info, 6);
    std::string kind = a.str(0);
    at::Tensor x = kind == "max" ? a.stored(2) : a.t(2);
    at::Tensor dy = nchw(kind == "max" ? a.stored(1).to(x.scalar_type()) : a.t(1));
    auto k = a.ints(3);
    Geometry g = pool_geometry(a, 4);
    bool explicit_pads = !aten_pool_pads(g, k);
    at::Tensor dx;
    if (kind == "max") {
      at::Tensor xp = pool_input(x, g, k, -INFINITY);
      auto fw = at::max_pool2d_with_indices(xp, k, g.stride, pool_pad(g, k));
      dx = at::max_pool2d_with_indices_backward(dy, xp, k, g.stride, pool_pad(g, k), {1, 1}, false, std::get<1>(fw));
    } else if (!explicit_pads) {
      dx = at::avg_pool2d_backward(dy, nchw(x), k, g.stride, pool_pad(g, k), false, false, c10::nullopt);
    } else {
      at::Tensor xp = pool_input(x, g, k, 0);
      dx = at::avg_pool2d_backward(dy / inside_share(x, g, k), xp, k, g.stride, {0, 0}, false, true, c10::nullopt);
    }
    if (explicit_pads) {
      // back from the padded frame to the image (a cropped bottom/right comes back as zeros)
      dx = at::constant_pad_nd(dx, {-g.left, -g.right, -g.top, -g.bottom}, 0);
    }
    return ret_id(env, nhwc(dx));
  });
}

void init_conv(napi_env env, napi_value exports) {
  add_exports(env, exports, {
    {"conv2d", conv2d}, {"conv2dBackpropInput", conv2dBackpropInput},
    {"conv2dBackpropFilter", conv2dBackpropFilter}, {"depthwiseConv2d", depthwiseConv2d},
    {"depthwiseBackpropInput", depthwiseBackpropInput}, {"depthwiseBackpropFilter", depthwiseBackpropFilter},
    {"pool", pool}, {"poolGrad", poolGrad},
  });
}

}  // namespace tt
