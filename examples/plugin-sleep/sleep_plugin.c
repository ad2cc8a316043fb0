/* Example amber plugin: wraps sleep(3), reports every checkpoint hook to the coordinator's event
 * stream, and publishes a key when the process is restarted.
 *
 *   cc -shared -fPIC -O2 -I node_modules/amber/src-native/include -o sleep_plugin.so sleep_plugin.c
 *   amber launch --plugin ./sleep_plugin.so -- ./app
 */
#include <stdio.h>
#include <unistd.h>

#include "amber/plugin.h"

static unsigned long calls; /* how often the application slept: part of its image, so it survives */

unsigned int sleep(unsigned int seconds) {
  static unsigned int (*next)(unsigned int);
  if (!next) next = AMBER_NEXT(sleep);
  calls++;
  return next(seconds);
}

static const char* const names[] = {"", "presuspend", "precheckpoint", "write", "resume", "restart",
                                    "thread_start", "exit"};

static void on_event(amber_event ev, const amber_event_ctx* ctx) {
  /* No stdio or malloc here: most hooks run while the application's threads are parked. */
  char data[64];
  int n = 0;
  unsigned long v = calls;
  char digits[24];
  int d = 0;
  do { digits[d++] = (char)('0' + v % 10); v /= 10; } while (v);
  const char* pre = "sleeps=";
  while (*pre) data[n++] = *pre++;
  while (d) data[n++] = digits[--d];
  data[n] = 0;
  amber_send_event("sleep-example", names[ev], data);
  if (ev == AMBER_EV_RESTART) {
    char key[48] = "sleep-example/restarted/";
    int k = 24;
    int vp = ctx->vpid;
    d = 0;
    do { digits[d++] = (char)('0' + vp % 10); vp /= 10; } while (vp);
    while (d) key[k++] = digits[--d];
    key[k] = 0;
    amber_publish(key, data, (size_t)n);
  }
}

static const char* const wraps[] = {"sleep", 0};
static const amber_plugin plugin = {AMBER_PLUGIN_API, "sleep-example", wraps, on_event};

__attribute__((constructor)) static void init(void) { amber_register_plugin(&plugin); }
