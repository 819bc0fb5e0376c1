// Dense and normalisation kernels: (batched) matmul with fused bias/activation, inference batch
// norm, bilinear resize and its gradient.
#include "common.h"

namespace tt {

// matmul(a, b, transposeA, transposeB, bias|null, activation|null, prelu|null, alpha)
TT_FN(matmul) {
  return guarded(env, "matmul", [&] {
    Args a(env, info, 8);
    at::Tensor x = to_compute(a.t(0)), y = to_compute(a.t(1));
    if (a.b(2)) x = x.transpose(-1, -2);
    if (a.b(3)) y = y.transpose(-1, -2);
    Epilogue ep(a, 4);
    bool fused_bias = ep.bias.defined() && x.dim() == 2 && y.dim() == 2;
    // The product in the compute precision, the bias and activation on its float32 result.
    // tfjs keeps int32 x int32 in int32: exact in float64 up to 2^53
    if (!x.is_floating_point()) {
      if (ep.bias.defined() || ep.activates()) throw std::runtime_error("an integer matmul takes no bias or activation");
      return ret_id(env, at::matmul(x.to(at::kDouble), y.to(at::kDouble)).round().to(at::kInt));
    }
    return ret_id(env, ep.apply(fp32(fused_bias ? at::addmm(to_compute(ep.bias), x, y) : at::matmul(x, y)), fused_bias));
  });
}

// batchNormInfer(x, mean, variance, offset|null, scale|null, eps): normalises the last axis.
TT_FN(batchNormInfer) {
  return guarded(env, "batchNormInfer", [&] {
    Args a(env, info, 6);
    at::Tensor x = a.t(0), mean = a.t(1), var = a.t(2), off = a.opt_t(3), scale = a.opt_t(4);
    double eps = a.f64(5);
    int64_t C = x.size(-1);
    auto per_channel = [&](const at::Tensor& t) { return !t.defined() || (t.dim() == 1 && t.size(0) == C); };
    if (x.dim() >= 2 && per_channel(mean) && per_channel(var) && per_channel(off) && per_channel(scale)) {
      auto y = at::batch_norm(x.movedim(-1, 1), scale, off, mean, var, false, 0.0, eps, false);
      return ret_id(env, y.movedim(1, -1));
    }
    at::Tensor y = (x - mean) * (var + eps).rsqrt();
    if (scale.defined()) y = y * scale;
    if (off.defined()) y = y + off;
    return ret_id(env, y);
  });
}

// Source rows/cols and weights of a bilinear resize along one axis, as tfjs computes them.
struct Lerp { at::Tensor lo, hi, frac; };
static Lerp lerp_axis(int64_t in, int64_t out, bool align, bool half, const at::TensorOptions& o) {
  double scale = (align && out > 1) ? double(in - 1) / double(out - 1) : double(in) / double(out);
  auto r = at::arange(out, o.dtype(at::kDouble));
  auto src = half ? (r + 0.5) * scale - 0.5 : r * scale;
  auto fl = src.floor();
  auto lo = fl.clamp_min(0).to(at::kLong);
  auto hi = src.ceil().clamp_max(in - 1).to(at::kLong);
  auto frac = (src - fl).to(at::kFloat);
  return {lo, hi, frac};
}

// resizeBilinear(x NHWC, newH, newW, alignCorners, halfPixelCenters)
TT_FN(resizeBilinear) {
  return guarded(env, "resizeBilinear", [&] {
    Args a(env, info, 5);
    at::Tensor x = a.t(0);
    if (!x.is_floating_point()) x = x.to(at::kFloat);
    int64_t oh = a.i64(1), ow = a.i64(2);
    bool align = a.b(3), half = a.b(4);
    auto lh = lerp_axis(x.size(1), oh, align, half, x.options());
    auto lw = lerp_axis(x.size(2), ow, align, half, x.options());
    auto fh = lh.frac.view({1, oh, 1, 1}), fw = lw.frac.view({1, 1, ow, 1});
    auto top = x.index_select(1, lh.lo), bot = x.index_select(1, lh.hi);
    auto rows = top + (bot - top) * fh;
    auto left = rows.index_select(2, lw.lo), right = rows.index_select(2, lw.hi);
    return ret_id(env, left + (right - left) * fw);
  });
}

// resizeBilinearGrad(dy, x, alignCorners, halfPixelCenters) -> dx with x's shape
TT_FN(resizeBilinearGrad) {
  return guarded(env, "resizeBilinearGrad", [&] {
    Args a(env, info, 4);
    at::Tensor dy = a.t(0), x = a.t(1);
    bool align = a.b(2), half = a.b(3);
    int64_t N = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3), oh = dy.size(1), ow = dy.size(2);
    auto lh = lerp_axis(H, oh, align, half, dy.options());
    auto lw = lerp_axis(W, ow, align, half, dy.options());
    auto fh = lh.frac.view({1, oh, 1, 1}), fw = lw.frac.view({1, 1, ow, 1});
    auto rows = at::zeros({N, oh, W, C}, dy.options());
    rows.index_add_(2, lw.lo, dy * (1 - fw));
    rows.index_add_(2, lw.hi, dy * fw);
    auto dx = at::zeros({N, H, W, C}, dy.options());
    dx.index_add_(1, lh.lo, rows * (1 - fh));
    dx.index_add_(1, lh.hi, rows * fh);
    return ret_id(env, dx);
  });
}

void init_nn(napi_env env, napi_value exports) {
  add_exports(env, exports, {
    {"matmul", matmul}, {"batchNormInfer", batchNormInfer}, {"resizeBilinear", resizeBilinear},
    {"resizeBilinearGrad", resizeBilinearGrad},
  });
}

}  // namespace tt
