{
  "targets": [{
    "target_name": "torch_backend",
    "sources": [
      "src/addon.cc", "src/tensors.cc", "src/elementwise.cc", "src/reduce.cc",
      "src/shape.cc", "src/conv.cc", "src/nn.cc", "src/fused.cc"
    ],
    "include_dirs": ["<!@(node find-libtorch.js --include)"],
    "defines": ["<!@(node find-libtorch.js --defines)"],
    "cflags_cc": ["-std=c++17", "-O2", "-fexceptions", "-Wno-unused-parameter", "-Wno-sign-compare"],
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++14", "-std=gnu++17"],
    "libraries": ["<!@(node find-libtorch.js --libdir)", "<!@(node find-libtorch.js --libs)"]
  }]
}
