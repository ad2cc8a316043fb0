/*
 * amber plugin API (C ABI), version 1.
 *
 * A plugin is a shared object loaded with the agent into every process of a computation
 * (`amber launch --plugin ./p.so`, or `launch(cmd, { plugins })`). It can
 *
 *  - wrap library calls: define the function itself (say `unsigned sleep(unsigned)`) and reach the
 *    next definition with AMBER_NEXT(sleep) (dlsym(RTLD_NEXT), resolved from the plugin's own
 *    object, so the agent's own wrappers are still reached); list the wrapped names in `wraps` so
 *    `amber plugins` and the TS API can show them;
 *  - hook checkpoint events: `event(ev, ctx)` runs on the agent's checkpoint thread;
 *  - publish and look up keys through the coordinator (to swap ids at restart), from event hooks;
 *  - hold off checkpoints around code that must not be split (amber_critical_enter/exit).
 *
 * Register from a constructor:
 *
 *   static const char* wraps[] = { "sleep", 0 };
 *   static void on_event(amber_event ev, const amber_event_ctx* c) { ... }
 *   static const amber_plugin me = { AMBER_PLUGIN_API, "example", wraps, on_event };
 *   __attribute__((constructor)) static void init(void) { amber_register_plugin(&me); }
 *
 * Rules for hooks: PRESUSPEND and EXIT run while the application runs normally (anything goes;
 * the last chance for work that needs the application's own threads, e.g. a Node target).
 * PRECHECKPOINT, WRITE and RESTART run while every application thread is parked at an arbitrary
 * point: a parked thread may hold any lock, so no malloc, no stdio, no locks there — raw system
 * calls and the amber_* functions only. RESUME runs after the threads were released.
 */
#ifndef AMBER_PLUGIN_H
#define AMBER_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AMBER_PLUGIN_API 1u

typedef enum amber_event {
  AMBER_EV_PRESUSPEND = 1,    /* a checkpoint is about to stop the threads */
  AMBER_EV_PRECHECKPOINT = 2, /* all threads parked; before the image is written */
  AMBER_EV_WRITE = 3,         /* the image was written (ctx->image names it) */
  AMBER_EV_RESUME = 4,        /* threads released after a checkpoint */
  AMBER_EV_RESTART = 5,       /* restored, rejoined the coordinator, threads still parked */
  AMBER_EV_THREAD_START = 6,  /* reserved */
  AMBER_EV_EXIT = 7,          /* the process is exiting normally */
} amber_event;

typedef struct amber_event_ctx {
  uint32_t generation;
  int32_t vpid;
  const char* image; /* WRITE: the image path; RESTART: the image restored from; else NULL */
} amber_event_ctx;

typedef struct amber_plugin {
  uint32_t api;                /* AMBER_PLUGIN_API */
  const char* name;
  const char* const* wraps;    /* NULL-terminated names of wrapped functions, or NULL */
  void (*event)(amber_event ev, const amber_event_ctx* ctx); /* may be NULL */
} amber_plugin;

/* Implemented by libamber.so. Return 0 or a negative errno. */
int amber_register_plugin(const amber_plugin* p);
/* Key/value through the coordinator (from event hooks only: they run on the thread that owns the
 * coordinator connection). lookup returns the value's length (copied up to cap) or -ENOENT;
 * wait != 0 blocks until some process publishes the key. */
int amber_publish(const char* key, const void* value, size_t len);
int amber_lookup(const char* key, void* buf, size_t cap, int wait);
/* A plugin event for the coordinator's typed event stream (any thread; short strings). */
int amber_send_event(const char* plugin, const char* name, const char* data);
/* No checkpoint starts while any thread is inside a critical section (nesting allowed). */
void amber_critical_enter(void);
void amber_critical_exit(void);
/* 1 when this process is running under amber with a coordinator. */
int amber_active(void);

#ifdef __cplusplus
}
#endif

/* The next definition of a wrapped function, looked up from the calling object. */
#include <dlfcn.h>
#define AMBER_NEXT(fn) ((__typeof__(&fn))dlsym(RTLD_NEXT, #fn))

#endif
