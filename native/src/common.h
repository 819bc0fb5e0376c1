// Shared plumbing of the torch addon: the tensor table (tfjs data ids map to integer handles that
// own an at::Tensor), argument decoding and error translation. Each op family lives in its own
// file and registers its functions through an `init_<family>` hook (see addon.cc).
#pragma once
#include <node_api.h>
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <string>
#include <vector>
#include <stdexcept>

namespace tt {

// ---- tensor table -------------------------------------------------------------------------
int32_t put(at::Tensor t);
at::Tensor& get(int32_t id);
void replace(int32_t id, at::Tensor t);
bool drop(int32_t id);
size_t live_count();
at::Device device();
void set_device(at::Device d);

// ---- compute precision (autocast for conv and matmul) ----------------------------------------
// fp32 by default; setComputePrecision('bf16' | 'fp16') makes the conv and matmul kernels compute
// in that dtype. As under PyTorch's autocast, a conv's output and its input gradient then stay in
// that half precision (half the memory and traffic of every activation between conv and batch
// norm), while weights, their gradients, the loss and every other kernel stay fp32. tfjs is told
// such a tensor is float32, and to every kernel but conv and batch norm it is one: Args::t widens
// it (see `widened`), download hands float32. One setting for the process: all calls come from
// Node's main thread.
at::ScalarType compute_dtype();
void set_compute_dtype(at::ScalarType t);
inline bool is_half(const at::Tensor& t) {
  return t.defined() && (t.scalar_type() == at::kBFloat16 || t.scalar_type() == at::kHalf);
}
// A floating tensor in the compute dtype (a half-precision activation back in fp32 once fp32 is on
// again); others unchanged.
inline at::Tensor to_compute(const at::Tensor& t) {
  at::ScalarType d = compute_dtype();
  return (t.defined() && t.is_floating_point() && t.scalar_type() != d) ? t.to(d) : t;
}
// A tensor as tfjs sees it: a half-precision activation as float32.
inline at::Tensor widened(const at::Tensor& t) { return is_half(t) ? t.to(at::kFloat) : t; }
// A new tensor holding t as tfjs sees it, in one copy (widening already copies a half-precision one).
inline at::Tensor widened_copy(const at::Tensor& t) { return is_half(t) ? t.to(at::kFloat) : t.clone(); }
// A kernel's result back in float32 (memory layout kept).
inline at::Tensor fp32(const at::Tensor& t) { return t.scalar_type() == at::kFloat ? t : t.to(at::kFloat); }

// ---- dtypes: tfjs knows float32, int32, bool ----------------------------------------------
at::ScalarType dtype_of(const std::string& name);
const char* dtype_name(at::ScalarType t);

// ---- argument decoding ----------------------------------------------------------------------
struct Args {
  napi_env env;
  std::vector<napi_value> v;
  Args(napi_env e, napi_callback_info info, size_t n);
  at::Tensor t(size_t i);                   // a tensor handle, as tfjs sees it (widened)
  at::Tensor opt_t(size_t i);               // handle or null/undefined -> undefined tensor
  at::Tensor stored(size_t i);              // as stored: maybe a half-precision activation
  at::Tensor opt_stored(size_t i);
  int32_t id(size_t i);
  int64_t i64(size_t i);
  double f64(size_t i);
  bool b(size_t i);
  std::string str(size_t i);
  std::vector<int64_t> ints(size_t i);
  std::vector<int32_t> ids(size_t i);
  bool is_nullish(size_t i);
};

// A fused conv's or matmul's epilogue, args i..i+3: bias|null, activation|null, prelu|null, alpha.
// The kernel adds the bias itself where ATen can fuse it (then passes bias_done); apply() runs the
// rest, in float32 where a bias is added (as autocast runs elementwise ops in fp32).
struct Epilogue {
  at::Tensor bias, prelu;
  std::string act;
  double alpha;
  Epilogue(Args& a, size_t i)
      : bias(a.opt_t(i)), prelu(a.opt_t(i + 2)), act(a.is_nullish(i + 1) ? "" : a.str(i + 1)),
        alpha(a.is_nullish(i + 3) ? 0.2 : a.f64(i + 3)) {}
  bool activates() const { return !act.empty() && act != "linear"; }
  at::Tensor apply(at::Tensor y, bool bias_done = false) const {
    // a half-precision result stays so only through a plain ReLU
    if (is_half(y) && ((bias.defined() && !bias_done) || (activates() && act != "relu"))) y = fp32(y);
    if (bias.defined() && !bias_done) y = y + bias;
    if (!activates()) return y;
    if (act == "relu") return y.relu_();
    if (act == "relu6") return y.clamp_(0, 6);
    if (act == "elu") return at::elu(y);
    if (act == "sigmoid") return y.sigmoid_();
    if (act == "leakyrelu") return at::leaky_relu(y, alpha);
    if (act == "prelu") return at::where(y > 0, y, y * prelu);
    throw std::runtime_error("activation '" + act + "' is not supported by the torch backend");
  }
};

napi_value ret_id(napi_env env, const at::Tensor& t);
napi_value ret_ids(napi_env env, const std::vector<at::Tensor>& ts);
napi_value ret_i64(napi_env env, int64_t x);
napi_value ret_f64(napi_env env, double x);
napi_value ret_str(napi_env env, const std::string& s);
napi_value ret_bool(napi_env env, bool b);
void check(napi_env env, napi_status s);

// Runs `body`, turning C++ and c10 exceptions into JS errors that name the op.
template <typename F>
napi_value guarded(napi_env env, const char* op, F&& body) {
  try {
    return body();
  } catch (const c10::Error& e) {
    std::string msg = std::string("torch ") + op + ": " + e.what_without_backtrace();
    napi_throw_error(env, nullptr, msg.c_str());
  } catch (const std::exception& e) {
    std::string msg = std::string("torch ") + op + ": " + e.what();
    napi_throw_error(env, nullptr, msg.c_str());
  }
  return nullptr;
}

using Fn = napi_value (*)(napi_env, napi_callback_info);
struct Export { const char* name; Fn fn; };
void add_exports(napi_env env, napi_value exports, const std::vector<Export>& fns);

// NHWC (tfjs) <-> NCHW view (ATen); no copy, channels-last strides when the source is contiguous.
inline at::Tensor nchw(const at::Tensor& nhwc) { return nhwc.permute({0, 3, 1, 2}); }
inline at::Tensor nhwc(const at::Tensor& nchw_t) { return nchw_t.permute({0, 2, 3, 1}); }
// HWIO (tfjs filter) -> OIHW view.
inline at::Tensor oihw(const at::Tensor& hwio) { return hwio.permute({3, 2, 0, 1}); }

}  // namespace tt

#define TT_FN(name) static napi_value name(napi_env env, napi_callback_info info)
