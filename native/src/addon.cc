// Entry point of the torch addon: registers each op family's functions on the module.
#include "common.h"

namespace tt {
void init_tensors(napi_env, napi_value);
void init_elementwise(napi_env, napi_value);
void init_reduce(napi_env, napi_value);
void init_shape(napi_env, napi_value);
void init_conv(napi_env, napi_value);
void init_nn(napi_env, napi_value);
void init_fused(napi_env, napi_value);
}  // namespace tt

static napi_value Init(napi_env env, napi_value exports) {
  // tfjs does autograd itself: ATen never needs to record a graph. All calls come from Node's
  // main thread, so one guard for the life of the process covers them.
  static c10::InferenceMode* no_autograd = new c10::InferenceMode();
  (void)no_autograd;
  tt::init_tensors(env, exports);
  tt::init_elementwise(env, exports);
  tt::init_reduce(env, exports);
  tt::init_shape(env, exports);
  tt::init_conv(env, exports);
  tt::init_nn(env, exports);
  tt::init_fused(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
