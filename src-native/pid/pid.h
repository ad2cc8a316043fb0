// Pid virtualization (pid.cc): the app-visible <-> kernel pid map.
#ifndef AMBER_PID_H
#define AMBER_PID_H
#include <stdint.h>
namespace amber {
namespace pid {
void set_map(const char* text);  // "APP:REAL,APP:REAL,..." from the coordinator's `pidmap` line
int32_t to_real(int32_t app);    // negative values (process groups) keep their sign
int32_t to_app(int32_t real);
}  // namespace pid
}  // namespace amber
#endif
