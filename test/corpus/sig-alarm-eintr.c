/* A program that bounds a blocking read with alarm(): SIGALRM's handler is installed without
 * SA_RESTART, alarm(3), then read() on a pipe nobody writes. Across the checkpoint the alarm must
 * still fire (not lost, not early: >= 3 s after it was set) and the read must end with EINTR after
 * the handler ran once — the program's own interruption is not hidden by amber's re-issue. */
#define ALARM_SECS 3
#include "alarm-eintr.h"
