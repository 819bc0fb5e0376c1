// The tensor table and host transfers: upload (copy in once), download (copy out on read),
// dispose, reshape/cast/fill, and what the addon knows about itself (version, threads, devices).
#include "common.h"
#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <malloc.h>
#include <unordered_map>
#include <cstring>

namespace tt {

static std::unordered_map<int32_t, at::Tensor> table;
static int32_t next_id = 1;
static at::Device g_device = at::kCPU;

int32_t put(at::Tensor t) {
  int32_t id = next_id++;
  if (next_id == INT32_MAX) next_id = 1;
  table.emplace(id, std::move(t));
  return id;
}
at::Tensor& get(int32_t id) {
  auto it = table.find(id);
  if (it == table.end()) throw std::runtime_error("unknown tensor handle " + std::to_string(id) + " (disposed?)");
  return it->second;
}
void replace(int32_t id, at::Tensor t) { get(id) = std::move(t); }
bool drop(int32_t id) { return table.erase(id) > 0; }
size_t live_count() { return table.size(); }
at::Device device() { return g_device; }
void set_device(at::Device d) { g_device = d; }
static at::ScalarType g_compute = at::kFloat;
at::ScalarType compute_dtype() { return g_compute; }
void set_compute_dtype(at::ScalarType t) { g_compute = t; }

at::ScalarType dtype_of(const std::string& n) {
  if (n == "float32") return at::kFloat;
  if (n == "int32") return at::kInt;
  if (n == "bool") return at::kBool;
  throw std::runtime_error("dtype '" + n + "' is not supported by the torch backend");
}
const char* dtype_name(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "float32";
    case at::kInt: return "int32";
    case at::kBool: return "bool";
    case at::kBFloat16: case at::kHalf: return "float32";  // a half-precision activation reads as float32
    default: return "other";
  }
}

void check(napi_env env, napi_status s) {
  if (s != napi_ok) {
    const napi_extended_error_info* info;
    napi_get_last_error_info(env, &info);
    throw std::runtime_error(std::string("N-API: ") + (info && info->error_message ? info->error_message : "error"));
  }
}

Args::Args(napi_env e, napi_callback_info info, size_t n) : env(e), v(n) {
  size_t argc = n;
  check(env, napi_get_cb_info(env, info, &argc, v.data(), nullptr, nullptr));
  if (argc < n) v.resize(argc);
}
bool Args::is_nullish(size_t i) {
  if (i >= v.size()) return true;
  napi_valuetype t;
  check(env, napi_typeof(env, v[i], &t));
  return t == napi_null || t == napi_undefined;
}
int32_t Args::id(size_t i) { return static_cast<int32_t>(i64(i)); }
at::Tensor Args::stored(size_t i) { return get(id(i)); }
at::Tensor Args::opt_stored(size_t i) { return is_nullish(i) ? at::Tensor() : get(id(i)); }
at::Tensor Args::t(size_t i) { return widened(stored(i)); }
at::Tensor Args::opt_t(size_t i) { return widened(opt_stored(i)); }
int64_t Args::i64(size_t i) {
  if (i >= v.size()) throw std::runtime_error("missing argument " + std::to_string(i));
  int64_t x;
  check(env, napi_get_value_int64(env, v[i], &x));
  return x;
}
double Args::f64(size_t i) {
  if (i >= v.size()) throw std::runtime_error("missing argument " + std::to_string(i));
  double x;
  check(env, napi_get_value_double(env, v[i], &x));
  return x;
}
bool Args::b(size_t i) {
  if (is_nullish(i)) return false;
  bool x;
  check(env, napi_get_value_bool(env, v[i], &x));
  return x;
}
std::string Args::str(size_t i) {
  size_t len;
  check(env, napi_get_value_string_utf8(env, v[i], nullptr, 0, &len));
  std::string s(len, '\0');
  check(env, napi_get_value_string_utf8(env, v[i], &s[0], len + 1, &len));
  return s;
}
std::vector<int64_t> Args::ints(size_t i) {
  uint32_t n;
  check(env, napi_get_array_length(env, v[i], &n));
  std::vector<int64_t> out(n);
  for (uint32_t k = 0; k < n; k++) {
    napi_value e;
    check(env, napi_get_element(env, v[i], k, &e));
    check(env, napi_get_value_int64(env, e, &out[k]));
  }
  return out;
}
std::vector<int32_t> Args::ids(size_t i) {
  auto xs = ints(i);
  return std::vector<int32_t>(xs.begin(), xs.end());
}

// Every kernel result is a handle; its dtype and shape go to JS through one shared Int32Array
// (`meta`: [count, then per output: dtype code, rank, dims...]) instead of extra calls per output.
static int32_t* meta = nullptr;
static const size_t META_LEN = 4096;
static int32_t dtype_code(at::ScalarType t) {
  switch (t) {
    case at::kFloat: case at::kBFloat16: case at::kHalf: return 0;
    case at::kInt: return 1;
    case at::kBool: return 2;
    default: return 3;
  }
}
// tfjs has no int64/float64: results in those types come back as int32/float32. Half-precision
// results (conv/batch-norm activations under bf16/fp16) stay as they are and read as float32.
static at::Tensor to_tfjs_dtype(at::Tensor t) {
  switch (t.scalar_type()) {
    case at::kFloat: case at::kInt: case at::kBool: case at::kBFloat16: case at::kHalf: return t;
    case at::kLong: case at::kShort: case at::kChar: case at::kByte: return t.to(at::kInt);
    default: return t.to(at::kFloat);
  }
}
static void write_meta(const std::vector<at::Tensor>& ts) {
  size_t pos = 1;
  for (const auto& t : ts) {
    if (pos + 2 + t.dim() > META_LEN) throw std::runtime_error("too many outputs for the meta buffer");
    meta[pos++] = dtype_code(t.scalar_type());
    meta[pos++] = (int32_t)t.dim();
    for (auto d : t.sizes()) meta[pos++] = (int32_t)d;
  }
  meta[0] = (int32_t)ts.size();
}
napi_value ret_id(napi_env env, const at::Tensor& t0) {
  at::Tensor t = to_tfjs_dtype(t0);
  write_meta({t});
  napi_value r;
  check(env, napi_create_int32(env, put(t), &r));
  return r;
}
napi_value ret_ids(napi_env env, const std::vector<at::Tensor>& ts0) {
  std::vector<at::Tensor> ts;
  for (const auto& t : ts0) ts.push_back(to_tfjs_dtype(t));
  write_meta(ts);
  napi_value arr;
  check(env, napi_create_array_with_length(env, ts.size(), &arr));
  for (size_t k = 0; k < ts.size(); k++) {
    napi_value r;
    check(env, napi_create_int32(env, put(ts[k]), &r));
    check(env, napi_set_element(env, arr, k, r));
  }
  return arr;
}
napi_value ret_i64(napi_env env, int64_t x) { napi_value r; check(env, napi_create_int64(env, x, &r)); return r; }
napi_value ret_f64(napi_env env, double x) { napi_value r; check(env, napi_create_double(env, x, &r)); return r; }
napi_value ret_bool(napi_env env, bool x) { napi_value r; check(env, napi_get_boolean(env, x, &r)); return r; }
napi_value ret_str(napi_env env, const std::string& s) {
  napi_value r;
  check(env, napi_create_string_utf8(env, s.c_str(), s.size(), &r));
  return r;
}

void add_exports(napi_env env, napi_value exports, const std::vector<Export>& fns) {
  for (const auto& f : fns) {
    napi_value fn;
    check(env, napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, nullptr, &fn));
    check(env, napi_set_named_property(env, exports, f.name, fn));
  }
}

// upload(typedArray, shape, dtype) -> handle. One copy into memory ATen owns.
TT_FN(upload) {
  return guarded(env, "upload", [&] {
    Args a(env, info, 3);
    napi_typedarray_type tt_;
    size_t len;
    void* data;
    napi_value ab;
    size_t off;
    check(env, napi_get_typedarray_info(env, a.v[0], &tt_, &len, &data, &ab, &off));
    auto dt = dtype_of(a.str(2));
    size_t want = (dt == at::kBool) ? 1 : 4;
    size_t have = (tt_ == napi_uint8_array || tt_ == napi_int8_array || tt_ == napi_uint8_clamped_array) ? 1 : 4;
    auto shape = a.ints(1);
    at::Tensor t;
    if (want == have) {
      t = at::from_blob(data, shape, at::TensorOptions().dtype(dt)).clone();
    } else {
      // tfjs may hand an int32 tensor a Float32Array (or bool a Int32Array): convert via its real type.
      at::ScalarType src = have == 1 ? at::kByte : (tt_ == napi_float32_array ? at::kFloat : at::kInt);
      t = at::from_blob(data, shape, at::TensorOptions().dtype(src)).to(dt);
    }
    if (g_device != at::kCPU) t = t.to(g_device);
    return ret_id(env, t);
  });
}

// download(handle) -> Float32Array | Int32Array | Uint8Array (a fresh host copy).
TT_FN(download) {
  return guarded(env, "download", [&] {
    Args a(env, info, 1);
    at::Tensor t = a.t(0);
    if (t.scalar_type() != at::kFloat && t.scalar_type() != at::kInt && t.scalar_type() != at::kBool) t = t.to(at::kFloat);
    t = t.to(at::kCPU).contiguous();
    size_t n = t.numel(), es = t.element_size();
    void* buf;
    napi_value ab, out;
    check(env, napi_create_arraybuffer(env, n * es, &buf, &ab));
    if (n) std::memcpy(buf, t.data_ptr(), n * es);
    napi_typedarray_type ty = t.scalar_type() == at::kFloat ? napi_float32_array
                              : t.scalar_type() == at::kInt ? napi_int32_array : napi_uint8_array;
    check(env, napi_create_typedarray(env, ty, n, ab, 0, &out));
    return out;
  });
}

TT_FN(dispose) {
  return guarded(env, "dispose", [&] { Args a(env, info, 1); return ret_bool(env, drop(a.id(0))); });
}
TT_FN(liveCount) {
  return guarded(env, "liveCount", [&] { return ret_i64(env, (int64_t)live_count()); });
}
TT_FN(liveBytes) {
  return guarded(env, "liveBytes", [&] {
    int64_t bytes = 0;
    for (auto& kv : table) bytes += kv.second.numel() * kv.second.element_size();
    return ret_i64(env, bytes);
  });
}
TT_FN(shapeOf) {
  return guarded(env, "shapeOf", [&] {
    Args a(env, info, 1);
    at::Tensor t = a.stored(0);
    auto sizes = t.sizes();
    napi_value arr;
    check(env, napi_create_array_with_length(env, sizes.size(), &arr));
    for (size_t k = 0; k < sizes.size(); k++) check(env, napi_set_element(env, arr, k, ret_i64(env, sizes[k])));
    return arr;
  });
}
TT_FN(dtypeOf) {
  return guarded(env, "dtypeOf", [&] { Args a(env, info, 1); return ret_str(env, dtype_name(a.stored(0).scalar_type())); });
}

TT_FN(reshape) {
  // a view: a half-precision activation stays one
  return guarded(env, "reshape", [&] { Args a(env, info, 2); return ret_id(env, a.stored(0).reshape(a.ints(1))); });
}
TT_FN(cast) {
  return guarded(env, "cast", [&] {
    Args a(env, info, 2);
    auto dt = dtype_of(a.str(1));
    at::Tensor x = a.stored(0);
    // tfjs truncates float -> int32 toward zero, like ATen's to(); a cast to the dtype tfjs already
    // sees (float32 for a half-precision activation) is a copy
    return ret_id(env, (is_half(x) ? at::kFloat : x.scalar_type()) == dt ? widened_copy(x) : x.to(dt));
  });
}
TT_FN(clone) {
  return guarded(env, "clone", [&] { Args a(env, info, 1); return ret_id(env, widened_copy(a.stored(0))); });
}
// fill(shape, value, dtype)
TT_FN(fill) {
  return guarded(env, "fill", [&] {
    Args a(env, info, 3);
    auto opts = at::TensorOptions().dtype(dtype_of(a.str(2))).device(g_device);
    return ret_id(env, at::full(a.ints(0), a.f64(1), opts));
  });
}
// range(start, stop, step, dtype)
TT_FN(range) {
  return guarded(env, "range", [&] {
    Args a(env, info, 4);
    auto opts = at::TensorOptions().dtype(dtype_of(a.str(3))).device(g_device);
    return ret_id(env, at::arange(a.f64(0), a.f64(1), a.f64(2), at::TensorOptions().dtype(at::kDouble).device(g_device)).to(opts));
  });
}

TT_FN(setThreads) {
  return guarded(env, "setThreads", [&] {
    Args a(env, info, 1);
    at::set_num_threads((int)a.i64(0));
    return ret_i64(env, at::get_num_threads());
  });
}

// Which libtorch this is and what it can do (for doctor / Show Backend Info).
TT_FN(about) {
  return guarded(env, "about", [&] {
    napi_value o;
    check(env, napi_create_object(env, &o));
    auto set = [&](const char* k, napi_value v) { check(env, napi_set_named_property(env, o, k, v)); };
    set("threads", ret_i64(env, at::get_num_threads()));
    set("cuda", ret_bool(env, at::hasCUDA()));
    set("mkldnn", ret_bool(env, at::hasMKLDNN()));
    set("mkldnnBf16", ret_bool(env, at::hasMKLDNN() && at::globalContext().userEnabledMkldnn()));
    set("device", ret_str(env, g_device.str()));
    set("parallel", ret_str(env, at::get_parallel_info()));
    return o;
  });
}

// useDevice('cuda' | 'cpu') -> the device tensors are placed on from now on.
TT_FN(useDevice) {
  return guarded(env, "useDevice", [&] {
    Args a(env, info, 1);
    set_device(at::Device(a.str(0)));
    return ret_str(env, g_device.str());
  });
}

static const char* precision_name(at::ScalarType t) {
  return t == at::kBFloat16 ? "bf16" : t == at::kHalf ? "fp16" : "fp32";
}

// setComputePrecision('fp32' | 'bf16' | 'fp16') -> the precision conv/matmul now compute in.
// fp16 is refused on the CPU: libtorch 1.13 has no fp16 convolution or matmul there (slow_conv2d_cpu
// and addmm_impl_cpu_ are "not implemented for 'Half'"), so it would fail at the first conv.
TT_FN(setComputePrecision) {
  return guarded(env, "setComputePrecision", [&] {
    Args a(env, info, 1);
    std::string p = a.str(0);
    at::ScalarType t;
    if (p == "fp32") t = at::kFloat;
    else if (p == "bf16") t = at::kBFloat16;
    else if (p == "fp16") t = at::kHalf;
    else throw std::runtime_error("unknown precision '" + p + "' (fp32, bf16 or fp16)");
    if (t == at::kHalf && g_device.is_cpu())
      throw std::runtime_error("fp16 needs a CUDA GPU: libtorch has no fp16 convolution or matmul on the CPU; use bf16 on the CPU (--bf16, learn.toBf16())");
    set_compute_dtype(t);
    return ret_str(env, precision_name(t));
  });
}

TT_FN(computePrecision) {
  return guarded(env, "computePrecision", [&] { return ret_str(env, precision_name(g_compute)); });
}

// Hands the freed memory the allocator keeps back to the kernel, once a job is done. Under a
// preloaded jemalloc (purging off during a job, src/trainer/backend/allocator.ts) every arena is
// purged; under glibc its heaps are trimmed. -> which allocator it asked.
TT_FN(releaseFreeMemory) {
  return guarded(env, "releaseFreeMemory", [&] {
    using mallctl_fn = int (*)(const char*, void*, size_t*, void*, size_t);
    auto mallctl = reinterpret_cast<mallctl_fn>(dlsym(RTLD_DEFAULT, "mallctl"));
    if (mallctl) {
      // MALLCTL_ARENAS_ALL (jemalloc 5) names every arena
      if (mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0) != 0) throw std::runtime_error("jemalloc refused arena.4096.purge");
      return ret_str(env, "jemalloc");
    }
    malloc_trim(0);
    return ret_str(env, "glibc");
  });
}

void init_tensors(napi_env env, napi_value exports) {
  // A V8-owned buffer (external buffers are refused inside Electron's memory cage), kept alive
  // by a reference for the life of the module.
  void* data;
  napi_value ab, arr;
  check(env, napi_create_arraybuffer(env, META_LEN * sizeof(int32_t), &data, &ab));
  check(env, napi_create_typedarray(env, napi_int32_array, META_LEN, ab, 0, &arr));
  napi_ref keep;
  check(env, napi_create_reference(env, ab, 1, &keep));
  meta = static_cast<int32_t*>(data);
  check(env, napi_set_named_property(env, exports, "meta", arr));
  add_exports(env, exports, {
    {"upload", upload}, {"download", download}, {"dispose", dispose}, {"liveCount", liveCount},
    {"liveBytes", liveBytes}, {"shapeOf", shapeOf}, {"dtypeOf", dtypeOf}, {"reshape", reshape},
    {"cast", cast}, {"clone", clone}, {"fill", fill}, {"range", range}, {"setThreads", setThreads},
    {"about", about}, {"useDevice", useDevice}, {"setComputePrecision", setComputePrecision},
    {"computePrecision", computePrecision}, {"releaseFreeMemory", releaseFreeMemory},
  });
}

}  // namespace tt
