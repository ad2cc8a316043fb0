# node-gyp build (used by `npm install` through node-gyp-build, and by prebuildify).
# CMakeLists.txt builds the same three artifacts for development, unit tests and sanitizers;
# keep the source lists of both in step.
{
  "variables": {
    "amber_warn": ["-Wall", "-Wextra", "-Werror", "-Wno-missing-field-initializers"],
  },
  "targets": [
    {
      # The N-API addon: image reading/verification for inspect/restart.
      "target_name": "amber",
      "sources": [
        "src-native/addon/addon.cc",
        "src-native/addon/peercred.cc",
        "src-native/addon/shares.cc",
        "src-native/image/reader.cc",
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "src-native",
        "src-native/include",
      ],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS"],
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
      "sources": [
        "src-native/agent/agent.cc",
        "src-native/agent/wrappers.cc",
        "src-native/agent/writer.cc",
        "src-native/agent/plugins.cc",
        "src-native/agent/ctx.S",
        "src-native/pid/pid.cc",
        "src-native/pid/calls.cc",
        "src-native/pid/proc.cc",
        "src-native/pid/session.cc",
        "src-native/agent/exec.cc",
      ],
      "include_dirs": ["src-native", "src-native/include"],
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
      "sources": [
        "src-native/restore/start.S",
        "src-native/restore/restore.cc",
      ],
      "include_dirs": ["src-native", "src-native/include"],
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
