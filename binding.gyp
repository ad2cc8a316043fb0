# node-gyp build (used by `npm install` through node-gyp-build, and by prebuildify).
# CMakeLists.txt builds the same three artifacts for development, unit tests and sanitizers. Both
# take their source lists and include directories from scripts/native-build.cjs (files by folder).
{
  "variables": {
    "amber_warn": ["-Wall", "-Wextra", "-Werror", "-Wno-missing-field-initializers"],
  },
  "targets": [
    {
      # The N-API addon: image reading/verification for inspect/restart.
      "target_name": "amber",
      "sources": ["<!@(node scripts/native-build.cjs sources addon)"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/native-build.cjs include)",
      ],
      "defines": ["AMBER_ADDON", "NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++20", "-fexceptions", "<@(amber_warn)"],
    },
    {
      # The in-process agent, LD_PRELOADed into every process of a computation.
      "target_name": "libamber",
      "type": "shared_library",
      "product_name": "amber",
      "product_prefix": "lib",
      "product_extension": "so",
      "sources": ["<!@(node scripts/native-build.cjs sources agent)"],
      "include_dirs": ["<!@(node scripts/native-build.cjs include)"],
      "defines": ["AMBER_AGENT"],
      "cflags": ["-fPIC", "-fvisibility=hidden", "-fno-exceptions", "<@(amber_warn)"],
      "cflags_cc!": ["-std=gnu++17"],
      # No libstdc++ at run time (-fno-threadsafe-statics, --as-needed): every page a library adds
      # is a page in every image and in every launch.
      "cflags_cc": ["-std=c++20", "-fno-rtti", "-fno-threadsafe-statics"],
      "ldflags": ["-Wl,-z,now", "-Wl,--as-needed"],
      "libraries": ["-ldl", "-lpthread"],
    },
    {
      # The restorer: static PIE, no libc (see PITFALLS 1 and src-native/restore/README.md).
      "target_name": "amber-restart",
      "type": "executable",
      "sources": ["<!@(node scripts/native-build.cjs sources restorer)"],
      "include_dirs": ["<!@(node scripts/native-build.cjs include)"],
      "defines": ["AMBER_RESTORER"],
      "cflags!": ["-pthread", "-fno-omit-frame-pointer"],
      "cflags_cc!": ["-std=gnu++17", "-pthread"],
      "cflags": ["-fPIE", "-ffreestanding", "-fno-stack-protector", "-fno-builtin", "-fno-exceptions",
                 "-fno-asynchronous-unwind-tables", "-fvisibility=hidden",
                 "-O2", "<@(amber_warn)"],
      "cflags_cc": ["-std=c++20", "-fno-rtti"],
      "ldflags!": ["-pthread", "-rdynamic"],
      "ldflags": ["-nostdlib", "-static-pie", "-Wl,--no-dynamic-linker", "-Wl,-z,noexecstack",
                  "-Wl,--build-id=none", "-Wl,-e,amber_start"],
      "libraries!": ["-lpthread"],
    },
  ],
}
