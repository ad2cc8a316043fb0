/* sig-alarm-eintr with alarm(1): the alarm usually fires while the checkpoint has the thread
 * parked or while the computation is down between checkpoint --kill and restart, when amber, not
 * the kernel, decides how the interrupted read goes on: it must end with EINTR after the handler
 * ran once (>= 1 s after the alarm was set), as the alarm alone would have ended it. */
#define ALARM_SECS 1
#include "alarm-eintr.h"
