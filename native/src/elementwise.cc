// Element-wise kernels: one N-API entry for unary ops and one for binary ops, each selected by an
// op code (the addon exports the code tables so JS and C++ share one list), plus select and addN.
#include "common.h"

namespace tt {

static const std::vector<std::string> UNARY = {
  "Neg", "Abs", "Exp", "Log", "Sqrt", "Rsqrt", "Square", "Relu", "Relu6", "Sigmoid", "Tanh",
  "Floor", "Ceil", "Round", "Sign", "Step", "IsNan", "IsInf", "IsFinite", "Reciprocal", "Log1p",
  "Expm1", "Sin", "Cos", "Erf", "Softplus", "Elu", "Selu", "LogicalNot", "ZerosLike", "OnesLike",
  "LeakyRelu", "ClipByValue", "Identity", "EluGrad_unused", "Acos", "Asin", "Atan", "Sinh", "Cosh",
  "Tan", "Atanh", "Asinh", "Acosh",
};
static const std::vector<std::string> BINARY = {
  "Add", "Sub", "Multiply", "RealDiv", "FloorDiv", "Pow", "Maximum", "Minimum", "Equal", "NotEqual",
  "Greater", "GreaterEqual", "Less", "LessEqual", "LogicalAnd", "LogicalOr", "SquaredDifference",
  "Mod", "Atan2", "Prelu", "ReluGrad", "Relu6Grad", "EluGrad", "SigmoidGrad", "TanhGrad_unused",
  "LogicalXor",
};

static int index_of(const std::vector<std::string>& xs, const std::string& s) {
  for (size_t i = 0; i < xs.size(); i++) if (xs[i] == s) return (int)i;
  return -1;
}

// unary(code, x, p1, p2) where p1/p2 are the op's scalar attributes (alpha, clip bounds).
TT_FN(unary) {
  return guarded(env, "unary", [&] {
    Args a(env, info, 4);
    int code = (int)a.i64(0);
    const at::Tensor& x = a.t(1);
    auto p1 = [&] { return a.f64(2); };
    auto p2 = [&] { return a.f64(3); };
    at::Tensor y;
    switch (code) {
      case 0: y = x.neg(); break;
      case 1: y = x.abs(); break;
      case 2: y = x.exp(); break;
      case 3: y = x.log(); break;
      case 4: y = x.sqrt(); break;
      case 5: y = x.rsqrt(); break;
      case 6: y = x.square(); break;
      case 7: y = at::relu(x); break;
      case 8: y = at::clamp(x, 0, 6); break;
      case 9: y = x.sigmoid(); break;
      case 10: y = x.tanh(); break;
      case 11: y = x.floor(); break;
      case 12: y = x.ceil(); break;
      case 13: y = at::round(x); break;  // half to even, as tfjs
      case 14: y = x.sign(); break;
      case 15: {  // Step: x > 0 ? 1 : alpha, NaN stays NaN
        auto one = at::ones_like(x), alpha = at::full_like(x, p1());
        y = at::where(x.isnan(), x, at::where(x > 0, one, alpha));
        break;
      }
      case 16: y = x.isnan(); break;
      case 17: y = x.isinf(); break;
      case 18: y = x.isfinite(); break;
      case 19: y = x.reciprocal(); break;
      case 20: y = x.log1p(); break;
      case 21: y = x.expm1(); break;
      case 22: y = x.sin(); break;
      case 23: y = x.cos(); break;
      case 24: y = x.erf(); break;
      case 25: y = at::softplus(x); break;
      case 26: y = at::elu(x); break;
      case 27: y = at::selu(x); break;
      case 28: y = x.logical_not(); break;
      case 29: y = at::zeros_like(x, at::MemoryFormat::Contiguous); break;
      case 30: y = at::ones_like(x, at::MemoryFormat::Contiguous); break;
      case 31: y = at::leaky_relu(x.is_floating_point() ? x : x.to(at::kFloat), p1()); break;  // int -> float32, as tfjs
      case 32: y = at::clamp(x, p1(), p2()).to(x.scalar_type()); break;  // keeps int32 int32
      case 33: y = x.clone(); break;
      case 35: y = x.acos(); break;
      case 36: y = x.asin(); break;
      case 37: y = x.atan(); break;
      case 38: y = x.sinh(); break;
      case 39: y = x.cosh(); break;
      case 40: y = x.tan(); break;
      case 41: y = x.atanh(); break;
      case 42: y = x.asinh(); break;
      case 43: y = x.acosh(); break;
      default: throw std::runtime_error("unknown unary op code " + std::to_string(code));
    }
    return ret_id(env, y);
  });
}

// binary(code, a, b, outDtype): ATen broadcasting, result cast to the dtype tfjs expects.
TT_FN(binary) {
  return guarded(env, "binary", [&] {
    Args a(env, info, 4);
    int code = (int)a.i64(0);
    auto out = dtype_of(a.str(3));
    // The sum of two half-precision activations (the gradients tfjs adds where a block's input
    // branches, under bf16) stays half, as autograd adds them under autocast.
    at::Tensor sx = a.stored(1), sz = a.stored(2);
    if (code == 0 && out == at::kFloat && is_half(sx) && sx.scalar_type() == sz.scalar_type()) return ret_id(env, sx + sz);
    at::Tensor x = widened(sx), z = widened(sz);
    at::Tensor y;
    switch (code) {
      case 0: y = x + z; break;
      case 1: y = x - z; break;
      case 2: y = x * z; break;
      case 3: y = at::true_divide(x, z); break;
      case 4: y = at::div(x, z, "floor"); break;
      case 5: y = at::pow(x.to(out), z.to(out)); break;
      case 6: y = at::maximum(x, z); break;
      case 7: y = at::minimum(x, z); break;
      case 8: y = at::eq(x, z); break;
      case 9: y = at::ne(x, z); break;
      case 10: y = at::gt(x, z); break;
      case 11: y = at::ge(x, z); break;
      case 12: y = at::lt(x, z); break;
      case 13: y = at::le(x, z); break;
      case 14: y = at::logical_and(x, z); break;
      case 15: y = at::logical_or(x, z); break;
      case 16: { auto d = x - z; y = d * d; break; }
      case 17: y = at::remainder(x, z); break;  // sign of the divisor, as tfjs Mod
      case 18: y = at::atan2(x, z); break;
      case 19: y = at::where(x > 0, x, x * z); break;  // Prelu(x, alpha)
      case 20: y = at::threshold_backward(x, z, 0); break;  // ReluGrad(dy, x): one pass, as PyTorch
      case 21: y = at::where((z > 0).logical_and(z <= 6), x, at::zeros_like(x)); break;
      case 22: y = at::where(z < 0, x * (z + 1), x); break;  // EluGrad(dy, y)
      case 23: y = x * z * (1 - z); break;  // SigmoidGrad(y, dy) as dy * y * (1 - y)
      case 25: y = at::logical_xor(x, z); break;
      default: throw std::runtime_error("unknown binary op code " + std::to_string(code));
    }
    if (y.scalar_type() != out) y = y.to(out);
    return ret_id(env, y);
  });
}

// select(cond, a, b)
TT_FN(select) {
  return guarded(env, "select", [&] {
    Args a(env, info, 3);
    at::Tensor c = a.t(0), x = a.t(1), y = a.t(2);
    // tfjs Select with a rank-1 condition picks whole rows.
    if (c.dim() == 1 && x.dim() > 1) {
      std::vector<int64_t> sh(x.dim(), 1);
      sh[0] = c.size(0);
      c = c.reshape(sh);
    }
    return ret_id(env, at::where(c.to(at::kBool), x, y));
  });
}

// addN([ids]) -> sum, accumulated in place into one fresh buffer.
TT_FN(addN) {
  return guarded(env, "addN", [&] {
    Args a(env, info, 1);
    auto ids = a.ids(0);
    if (ids.empty()) throw std::runtime_error("AddN needs at least one tensor");
    at::Tensor acc = widened_copy(get(ids[0]));
    for (size_t k = 1; k < ids.size(); k++) acc.add_(get(ids[k]));
    return ret_id(env, acc);
  });
}

static napi_value names(napi_env env, const std::vector<std::string>& xs) {
  napi_value arr;
  check(env, napi_create_array_with_length(env, xs.size(), &arr));
  for (size_t k = 0; k < xs.size(); k++) check(env, napi_set_element(env, arr, k, ret_str(env, xs[k])));
  return arr;
}

void init_elementwise(napi_env env, napi_value exports) {
  add_exports(env, exports, {{"unary", unary}, {"binary", binary}, {"select", select}, {"addN", addN}});
  check(env, napi_set_named_property(env, exports, "unaryOps", names(env, UNARY)));
  check(env, napi_set_named_property(env, exports, "binaryOps", names(env, BINARY)));
  (void)index_of;
}

}  // namespace tt
