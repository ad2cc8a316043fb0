// The plugin runtime behind amber/plugin.h: registry, event hooks, publish/lookup through the
// coordinator, plugin events, critical sections. Built-in virtualizations use the same calls.
#include <dlfcn.h>
#include <errno.h>
#include <string.h>

#include "agent/agent.h"
#include "amber/plugin.h"
#include "sys/sys.h"

namespace amber {
namespace {

constexpr uint32_t kMaxPlugins = 32;
struct Entry {
  const amber_plugin* p;
  char path[256];
};
Entry g_plugins[kMaxPlugins];
volatile uint32_t g_nplugins;

void hex(sys::Out& o, const void* v, size_t n) {
  const unsigned char* b = static_cast<const unsigned char*>(v);
  for (size_t i = 0; i < n; i++) o.c("0123456789abcdef"[b[i] >> 4]).c("0123456789abcdef"[b[i] & 15]);
}

int unhex(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  return -1;
}

}  // namespace

uint32_t plugins_count() { return g_nplugins; }

void plugins_json(char* buf, size_t cap, size_t* len) {
  sys::Out o(buf, cap);
  o.c('[');
  for (uint32_t i = 0; i < g_nplugins; i++) {
    const amber_plugin* p = g_plugins[i].p;
    if (i) o.c(',');
    o.s("{\"name\":\"").j(p->name ? p->name : "", p->name ? sys::slen(p->name) : 0)
        .s("\",\"path\":\"").j(g_plugins[i].path, sys::slen(g_plugins[i].path)).s("\",\"wraps\":[");
    for (uint32_t k = 0; p->wraps && p->wraps[k]; k++) {
      if (k) o.c(',');
      o.c('"').j(p->wraps[k], sys::slen(p->wraps[k])).c('"');
    }
    o.s("]}");
  }
  o.c(']');
  *len = o.len;
}

void plugins_event(int ev, const char* image) {
  amber_event_ctx ctx{g.generation, g.vpid, image};
  for (uint32_t i = 0; i < g_nplugins; i++)
    if (g_plugins[i].p->event) g_plugins[i].p->event(static_cast<amber_event>(ev), &ctx);
}

void critical_wait_clear() {
  for (int i = 0; i < 10000 && __atomic_load_n(&g.critical, __ATOMIC_ACQUIRE) > 0; i++) {
    sys::ktimespec ts{0, 1000000};
    sys::futex_wait(reinterpret_cast<volatile uint32_t*>(&g.critical),
                    (uint32_t)__atomic_load_n(&g.critical, __ATOMIC_ACQUIRE), &ts);
  }
}

}  // namespace amber

using amber::g;

extern "C" {

__attribute__((visibility("default"))) int amber_register_plugin(const amber_plugin* p) {
  if (!p || p->api != AMBER_PLUGIN_API) return -EINVAL;
  uint32_t i = __atomic_fetch_add(&amber::g_nplugins, 1u, __ATOMIC_SEQ_CST);
  if (i >= amber::kMaxPlugins) { amber::g_nplugins = amber::kMaxPlugins; return -ENOSPC; }
  amber::g_plugins[i].p = p;
  Dl_info info{};
  if (dladdr(p, &info) && info.dli_fname) {
    size_t n = strlen(info.dli_fname);
    if (n >= sizeof amber::g_plugins[i].path) n = sizeof amber::g_plugins[i].path - 1;
    memcpy(amber::g_plugins[i].path, info.dli_fname, n);
  }
  // Registered after our hello (constructor order across preloads is not ours to choose): tell
  // the coordinator.
  if (g.active && g.coord_fd >= 0) {
    char buf[2048];
    sys::Out o(buf, sizeof buf);
    o.s("{\"t\":\"plugins\",\"plugins\":");
    size_t n = 0;
    amber::plugins_json(buf + o.len, sizeof buf - o.len - 4, &n);
    o.len += n;
    o.s("}\n");
    amber::coord_send(buf, o.len);
  }
  return 0;
}

__attribute__((visibility("default"))) int amber_active(void) { return g.active && g.coord_fd >= 0; }

__attribute__((visibility("default"))) int amber_publish(const char* key, const void* value, size_t len) {
  if (!amber_active()) return -ENOTCONN;
  char buf[2048];
  if (sys::slen(key) + len * 2 > sizeof buf - 64) return -E2BIG;
  sys::Out o(buf, sizeof buf);
  o.s("{\"t\":\"publish\",\"key\":\"").j(key, sys::slen(key)).s("\",\"value\":\"");
  amber::hex(o, value, len);
  o.s("\"}\n");
  return amber::coord_send(buf, o.len) ? 0 : -EIO;
}

__attribute__((visibility("default"))) int amber_lookup(const char* key, void* out, size_t cap, int wait) {
  if (!amber_active()) return -ENOTCONN;
  if (sys::gettid() != g.ckpt_tid) return -EPERM;  // only the checkpoint thread reads replies
  char buf[1024];
  sys::Out o(buf, sizeof buf);
  o.s("{\"t\":\"lookup\",\"key\":\"").j(key, sys::slen(key)).s("\",\"wait\":").s(wait ? "true" : "false").s("}\n");
  if (!amber::coord_send(buf, o.len)) return -EIO;
  size_t kn = sys::slen(key);
  for (;;) {
    char line[1024];
    if (!amber::coord_read_line(line, sizeof line)) return -EIO;
    if (sys::sstarts(line, "novalue ") && !memcmp(line + 8, key, kn) && !line[8 + kn]) return -ENOENT;
    if (sys::sstarts(line, "value ") && !memcmp(line + 6, key, kn) && line[6 + kn] == ' ') {
      const char* h = line + 7 + kn;
      size_t n = 0;
      unsigned char* dst = static_cast<unsigned char*>(out);
      while (h[0] && h[1]) {
        int a = amber::unhex(h[0]), b = amber::unhex(h[1]);
        if (a < 0 || b < 0) break;
        if (n < cap) dst[n] = (unsigned char)(a * 16 + b);
        n++;
        h += 2;
      }
      return (int)n;
    }
    // Not ours (a coordinator command): keep it for the main loop.
    memcpy(g.pending, line, sizeof line < sizeof g.pending ? sizeof line : sizeof g.pending);
    g.pending[sizeof g.pending - 1] = 0;
    g.has_pending = true;
  }
}

__attribute__((visibility("default"))) int amber_send_event(const char* plugin, const char* name, const char* data) {
  if (!amber_active()) return -ENOTCONN;
  char buf[2048];
  sys::Out o(buf, sizeof buf);
  o.s("{\"t\":\"event\",\"plugin\":\"").j(plugin, sys::slen(plugin)).s("\",\"name\":\"").j(name, sys::slen(name))
      .s("\",\"data\":\"").j(data ? data : "", data ? sys::slen(data) : 0).s("\"}\n");
  return amber::coord_send(buf, o.len) ? 0 : -EIO;
}

__attribute__((visibility("default"))) void amber_critical_enter(void) {
  __atomic_add_fetch(&g.critical, 1, __ATOMIC_SEQ_CST);
}

__attribute__((visibility("default"))) void amber_critical_exit(void) {
  if (__atomic_sub_fetch(&g.critical, 1, __ATOMIC_SEQ_CST) <= 0)
    sys::futex_wake(reinterpret_cast<volatile uint32_t*>(&g.critical), 0x7fffffff);
}

}  // extern "C"
