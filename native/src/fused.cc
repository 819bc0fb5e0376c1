// Fused training kernels, each replacing a chain of tiny tfjs ops on the hot path: batch norm
// forward/backward (ATen's native batch norm), softmax cross-entropy with its gradient, and the
// AdamW update of every parameter in one call.
#include "common.h"

namespace tt {

// Channels on dim 1, as ATen's batch norm wants: NHWC -> NCHW view, [N,C] stays.
static at::Tensor channels_first(const at::Tensor& x) { return x.dim() == 2 ? x : x.movedim(-1, 1); }
static at::Tensor channels_last(const at::Tensor& x) { return x.dim() == 2 ? x : x.movedim(1, -1); }

// bnTrain(x, gamma, beta, eps, residual|null, relu) -> [y, batchMean, batchVariance(biased), invstd]
// with y = relu?(bn(x) + residual?), written into the batch norm's own output: as PyTorch's
// in-place `out += identity; relu_(out)`, no separate tensor holds bn(x) or the sum. A bf16/fp16 x
// (a conv's output under mixed precision) gives a y of its dtype, statistics in fp32, as ATen's
// mixed-type batch norm (and so autocast) does.
TT_FN(bnTrain) {
  return guarded(env, "bnTrain", [&] {
    Args a(env, info, 6);
    at::Tensor x = a.stored(0), gamma = a.t(1), beta = a.t(2);
    double eps = a.f64(3);
    at::Tensor residual = a.opt_stored(4);
    auto r = at::native_batch_norm(channels_first(x), gamma, beta, c10::nullopt, c10::nullopt, true, 0.0, eps);
    at::Tensor y = std::get<0>(r);
    if (residual.defined()) y.add_(channels_first(residual));
    if (a.b(5)) y.relu_();
    at::Tensor invstd = std::get<2>(r);
    at::Tensor var = invstd.pow(-2).sub_(eps);
    return ret_ids(env, {channels_last(y), std::get<1>(r), var, invstd});
  });
}

// bnTrainGrad(dy, x, gamma, mean, invstd, eps, y|null) -> [dx, dgamma, dbeta, dz]: with the fused
// op's output y (a relu after it), dz = dy where y > 0, else 0, is the gradient of bn(x) + residual
// (so also the residual's), and the batch norm backward runs on it; without, dz is dy.
TT_FN(bnTrainGrad) {
  return guarded(env, "bnTrainGrad", [&] {
    Args a(env, info, 7);
    at::Tensor x = a.stored(1), gamma = a.t(2), mean = a.t(3), invstd = a.t(4);
    // ATen's mixed-type backward wants dy in x's dtype (a gradient summed in fp32 by tfjs meets a bf16 x)
    at::Tensor dy = a.stored(0).to(x.scalar_type());
    at::Tensor y = a.opt_stored(6);
    at::Tensor dz = y.defined() ? at::threshold_backward(dy, y.to(x.scalar_type()), 0) : dy;
    auto r = at::native_batch_norm_backward(channels_first(dz), channels_first(x), gamma, c10::nullopt, c10::nullopt,
                                            mean, invstd, true, a.f64(5), {true, true, true});
    return ret_ids(env, {channels_last(std::get<0>(r)), std::get<1>(r), std::get<2>(r), dz});
  });
}

// xent(logits [N,C], targets int [N]) -> [loss per item [N], logSoftmax (saved for the gradient)]
TT_FN(xent) {
  return guarded(env, "xent", [&] {
    Args a(env, info, 2);
    at::Tensor logits = a.t(0), y = a.t(1).to(at::kLong);
    auto lsm = at::log_softmax(logits, 1);
    auto loss = lsm.gather(1, y.unsqueeze(1)).squeeze(1).neg();
    return ret_ids(env, {loss, lsm});
  });
}

// xentGrad(dloss [N], logSoftmax [N,C], targets [N]) -> dlogits = (softmax - onehot) * dloss
TT_FN(xentGrad) {
  return guarded(env, "xentGrad", [&] {
    Args a(env, info, 3);
    at::Tensor dl = a.t(0), lsm = a.t(1), y = a.t(2).to(at::kLong);
    auto g = lsm.exp();
    g.scatter_add_(1, y.unsqueeze(1), at::full({lsm.size(0), 1}, -1.0, g.options()));
    return ret_id(env, g.mul_(dl.unsqueeze(1)));
  });
}

// Whether `t` is the only owner of its memory: no other table entry or view shares the storage.
static bool sole_owner(const at::Tensor& t) {
  return t.use_count() == 1 && t.storage().use_count() == 1;
}

// adamw(params, grads, expAvgs, expAvgSqs, hyper [lr, mom, wd, debias1, debias2] per param,
//       sqrMom, eps, inPlace [bool per param]) -> [newParams..., newExpAvgs..., newExpAvgSqs...]
// Same maths, in the same order, as src/trainer/learner/optimizer.ts; outputs keep each input's
// memory layout (so a conv filter stays in its channels-last form). Where JS says no other tfjs
// tensor holds p, m and v (inPlace[k]) and no other native tensor shares their memory, the update
// is written into them and the outputs are new handles to the same tensors: a step then touches
// one scratch buffer per param instead of allocating nine param-sized tensors (fresh pages cost
// more than the arithmetic: 550 ms of a 1100 ms resnet34 step).
TT_FN(adamw) {
  return guarded(env, "adamw", [&] {
    Args a(env, info, 8);
    auto ps = a.ids(0), gs = a.ids(1), ms = a.ids(2), vs = a.ids(3);
    napi_value hyper = a.v[4];
    double sqr = a.f64(5), eps = a.f64(6);
    size_t n = ps.size();
    if (gs.size() != n || ms.size() != n || vs.size() != n) throw std::runtime_error("adamw: list lengths differ");
    std::vector<bool> may(n, false);
    if (!a.is_nullish(7)) {
      for (size_t k = 0; k < n; k++) {
        napi_value e;
        bool f = false;
        check(env, napi_get_element(env, a.v[7], (uint32_t)k, &e));
        check(env, napi_get_value_bool(env, e, &f));
        may[k] = f;
      }
    }
    std::vector<at::Tensor> np(n), nm(n), nv(n);
    for (size_t k = 0; k < n; k++) {
      double h[5];
      for (int j = 0; j < 5; j++) {
        napi_value e;
        check(env, napi_get_element(env, hyper, (uint32_t)(k * 5 + j), &e));
        check(env, napi_get_value_double(env, e, &h[j]));
      }
      double lr = h[0], mom = h[1], wd = h[2], d1 = h[3], d2 = h[4];
      const at::Tensor &p = get(ps[k]), g = widened(get(gs[k])), &m = get(ms[k]), &v = get(vs[k]);
      bool in_place = may[k] && sole_owner(p) && p.is_same_size(g) && p.is_non_overlapping_and_dense() &&
                      !p.is_same(m) && !p.is_same(v) && !m.is_same(v);
      if (in_place) {
        // Everything in p's memory order: a conv filter is a channels-last OIHW view while its
        // moments start as contiguous HWIO zeros (and the gradient may come in a third order);
        // mixed strides make every one of the nine passes a strided transpose. A moment in
        // another order (or shared) is re-laid once into a new tensor, and updated in place after.
        auto like_p = [&](const at::Tensor& t) { return t.strides() == p.strides() ? t : at::empty_like(p).copy_(t); };
        at::Tensor gp = like_p(g);
        at::Tensor m2 = sole_owner(m) ? like_p(m) : at::empty_like(p).copy_(m);
        at::Tensor v2 = sole_owner(v) ? like_p(v) : at::empty_like(p).copy_(v);
        at::Tensor p2 = p;
        at::Tensor tmp = at::mul(gp, 1 - mom);
        m2.mul_(mom).add_(tmp);
        at::mul_out(tmp, gp, gp).mul_(1 - sqr);
        v2.mul_(sqr).add_(tmp);
        at::div_out(tmp, v2, d2).sqrt_().add_(eps);
        at::div_out(tmp, m2, tmp).mul_(lr / d1);
        if (wd != 0) p2.mul_(1 - lr * wd);
        p2.sub_(tmp);
        np[k] = p2; nm[k] = m2; nv[k] = v2;
        continue;
      }
      at::Tensor m2 = at::mul(m, mom).add_(at::mul(g, 1 - mom));
      at::Tensor v2 = at::mul(v, sqr).add_(at::mul(at::square(g), 1 - sqr));
      at::Tensor denom = at::div(v2, d2).sqrt_().add_(eps);
      at::Tensor step = at::div(m2, denom).mul_(lr / d1);
      at::Tensor p2 = wd != 0 ? at::mul(p, 1 - lr * wd) : p.clone();
      p2.sub_(step);
      np[k] = p2; nm[k] = m2; nv[k] = v2;
    }
    std::vector<at::Tensor> all;
    all.insert(all.end(), np.begin(), np.end());
    all.insert(all.end(), nm.begin(), nm.end());
    all.insert(all.end(), nv.begin(), nv.end());
    return ret_ids(env, all);
  });
}

void init_fused(napi_env env, napi_value exports) {
  add_exports(env, exports, {
    {"bnTrain", bnTrain}, {"bnTrainGrad", bnTrainGrad}, {"xent", xent}, {"xentGrad", xentGrad}, {"adamw", adamw},
  });
}

}  // namespace tt
