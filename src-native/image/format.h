/*
 * amber image format, version 1 — the ONE definition shared by the writer (agent), the restorer
 * (freestanding, no libc) and the reader (addon, amber inspect). Plain C, fixed-width POD only,
 * little-endian x86-64. Anything that changes a layout here bumps AMBER_FORMAT_MAJOR.
 *
 * File layout (all offsets absolute, in bytes):
 *
 *   [0, 4096)                 amber_header (zero padded to one page)
 *   [meta_off, +meta_size)    metadata: a sequence of sections, each amber_section + payload,
 *                             8-byte aligned; checksum meta_xxh
 *   [data_off, +data_size)    chunk data, every chunk starts page aligned (so the restorer can
 *                             read straight into place, and a future lazy restore can mmap it)
 *   [file_size - 64, file_size) amber_trailer
 *
 * Integrity: the header carries its own checksum (header_xxh, computed with that field zeroed),
 * the metadata checksum and the file size; every chunk carries the checksum of its bytes; the
 * trailer's image_xxh covers header_xxh, meta_xxh and every chunk checksum in table order, so a
 * reader that has checked the chunks it uses has checked the whole image.
 * Checksums are XXH3_64bits (libxxhash) with seed 0.
 */
#ifndef AMBER_IMAGE_FORMAT_H
#define AMBER_IMAGE_FORMAT_H

#include <stdint.h>

#define AMBER_IMAGE_MAGIC "AMBERIMG"   /* 8 bytes, no NUL stored */
#define AMBER_TRAILER_MAGIC "AMBEREND" /* 8 bytes, no NUL stored */
#define AMBER_FORMAT_MAJOR 1u
#define AMBER_FORMAT_MINOR 9u  /* 1.1: pipe/eventfd/epoll/timerfd/signalfd state in amber_fd; 1.2: sockets;
                                  1.3: process group, session, controlling terminal, ptys;
                                  1.4: generation_id and program_xxh in the header; the launcher's
                                  stdio by identity (AMBER_FD_STDIO); socket state (amber_sockx:
                                  options, queued messages, closing states, pending connections),
                                  descriptors in no table (AMBER_FD_HIDDEN); deleted files and memfds
                                  (FILEDATA), locks and leases, /proc and namespace paths, pidfd,
                                  inotify, epoll targets by inode;
                                  1.5: amber_process_ext (PROCEXT: oom_score_adj, zombies, SysV ids and
                                  semaphore undo), region VmFlags (amber_region.vmflags);
                                  1.6: per thread scheduling and no_new_privs (AMBER_THR_SCHED,
                                  AMBER_THR_NO_NEW_PRIVS), per mm THP and membarrier (mm_state), AIO
                                  rings (AMBER_REG_AIO), MAP_DROPPABLE (AMBER_VM_DROPPABLE);
                                  1.7: netlink sockets (amber_nlsock after the amber_sockinfo),
                                  mq_notify registrations (AMBER_MQ_NOTIFY, amber_mq_notify);
                                  1.8: Linux AIO requests in flight (amber_process_ext.aio_reqs,
                                  amber_aio_req[] in STRINGS);
                                  1.9: fanotify instances (AMBER_ANON_FANOTIFY, amber_fanotify_mark) */
#define AMBER_HEADER_SIZE 4096u
#define AMBER_TRAILER_SIZE 64u
#define AMBER_ARCH_X86_64 1u
#define AMBER_PAGE_SIZE 4096u
/* Chunks are split at this size so they can later be compressed in parallel and fetched lazily. */
#define AMBER_CHUNK_MAX (1u << 20)

#define AMBER_MAX_AUXV 64u     /* (type, value) pairs */
#define AMBER_NSIG 65u         /* signals 1..64; index 0 unused */
#define AMBER_NRLIMIT 16u
#define AMBER_MAX_THREADS 1024u

/* A string stored in the STRINGS section: byte offset into it and length (no NUL counted). */
typedef struct amber_str {
  uint32_t off;
  uint32_t len;
} amber_str;

typedef struct amber_header {
  char magic[8];             /* AMBER_IMAGE_MAGIC */
  uint16_t major;            /* readers reject an unknown major */
  uint16_t minor;            /* readers accept a newer minor (fields only added at the end) */
  uint32_t header_size;      /* AMBER_HEADER_SIZE */
  uint32_t arch;             /* AMBER_ARCH_X86_64 */
  uint32_t page_size;
  /* CPU: the signal frames inside the image hold XSAVE state for these features. */
  uint64_t xcr0;
  uint32_t xsave_size;       /* CPUID.(EAX=0xD,ECX=0).EBX at checkpoint */
  uint32_t cpuid1_ecx, cpuid1_edx, cpuid7_ebx, cpuid7_ecx;
  uint32_t flags;            /* AMBER_HDR_* */
  char kernel_release[72];   /* uname -r, NUL terminated */
  char libc_version[32];     /* gnu_get_libc_version(), NUL terminated */
  char hostname[72];
  int32_t vpid;              /* virtual pid given by the coordinator */
  int32_t parent_vpid;
  int32_t real_pid;          /* kernel pid at checkpoint */
  uint32_t generation;
  int64_t time_ns;           /* CLOCK_REALTIME at checkpoint */
  uint64_t meta_off, meta_size, meta_xxh;
  uint64_t data_off, data_size;
  uint64_t file_size;
  uint64_t handoff_addr;     /* address of the agent's amber_handoff inside the saved memory */
  uint64_t pages_total;      /* pages mapped in saved regions */
  uint64_t pages_stored;     /* pages whose bytes are in chunks */
  uint64_t header_xxh;       /* XXH3 of the header page with this field zeroed */
  /* Format 1.4 (zero in older images): what binds the image to its generation. The manifest
   * records the generation id and each image's image_xxh, size and program_xxh; a reader refuses
   * an image whose values differ (another generation, another computation, another program). */
  uint8_t generation_id[16]; /* random id the coordinator chose for the generation (suspend G ID) */
  uint64_t program_xxh;      /* XXH3 of the PROCESS record's exe, one NUL byte, then its cmdline */
} amber_header;

typedef struct amber_trailer {
  char magic[8];             /* AMBER_TRAILER_MAGIC */
  uint64_t file_size;
  uint64_t image_xxh;        /* XXH3 over (header_xxh, meta_xxh, chunk[0].xxh, ...) as uint64 LE */
  uint64_t nchunks;
  uint64_t reserved[4];
} amber_trailer;

/* Metadata sections. */
enum {
  AMBER_SEC_PROCESS = 1,     /* one amber_process */
  AMBER_SEC_THREADS = 2,     /* amber_thread[count] */
  AMBER_SEC_REGIONS = 3,     /* amber_region[count] */
  AMBER_SEC_CHUNKS = 4,      /* amber_chunk[count], sorted by addr */
  AMBER_SEC_FDS = 5,         /* amber_fd[count] */
  AMBER_SEC_STRINGS = 6,     /* bytes */
  AMBER_SEC_TIMERS = 7,      /* amber_timer[count] */
  AMBER_SEC_PLUGIN = 8,      /* name (amber_str) + bytes; reserved for plugins */
  AMBER_SEC_FILEDATA = 9,    /* amber_extent[count] (format 1.4): bytes of files that exist nowhere else */
  AMBER_SEC_PROCEXT = 10,    /* one amber_process_ext (format 1.5) */
};

typedef struct amber_section {
  uint32_t type;
  uint32_t count;            /* number of records (1 for PROCESS, bytes for STRINGS) */
  uint64_t size;             /* payload bytes following this header, padded to 8 */
} amber_section;

typedef struct amber_sigaction_k {
  uint64_t handler;          /* kernel struct sigaction layout (x86-64) */
  uint64_t flags;
  uint64_t restorer;
  uint64_t mask;
} amber_sigaction_k;

typedef struct amber_itimer {
  int64_t interval_sec, interval_usec, value_sec, value_usec;
} amber_itimer;

typedef struct amber_process {
  /* mm fields for prctl(PR_SET_MM, PR_SET_MM_MAP) */
  uint64_t start_code, end_code, start_data, end_data, start_brk, brk, start_stack;
  uint64_t arg_start, arg_end, env_start, env_end;
  uint64_t auxv[2 * AMBER_MAX_AUXV];
  uint32_t auxv_words;       /* uint64 words used in auxv, including the AT_NULL pair */
  uint32_t personality;
  uint32_t umask;
  uint32_t suspend_signal;   /* the agent's real-time signal */
  struct { uint64_t cur, max; } rlimits[AMBER_NRLIMIT];
  amber_sigaction_k sigactions[AMBER_NSIG];
  amber_itimer itimers[3];   /* ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF */
  amber_str cmdline;         /* argv joined by NUL */
  amber_str cwd;
  amber_str exe;
  uint64_t pending_signals;  /* process-wide pending set (ShdPnd); 1.4: pending again at restart */
  /* Format 1.3 (zero in older images: the restorer then leaves group and session alone). Pids
   * here are the application's (the pids the processes had when first launched). */
  int32_t app_pid;           /* this process */
  int32_t pgid;              /* its process group */
  int32_t sid;               /* its session */
  int32_t tpgid;             /* foreground process group of its controlling terminal, 0 if none */
  uint64_t ctty_rdev;        /* controlling terminal (tty_nr of /proc/PID/stat, stat's st_rdev encoding), 0 if none */
  char comm[16];             /* format 1.4: the process name (PR_SET_NAME), NUL padded; empty before */
  uint32_t proc_flags;       /* format 1.4: AMBER_PROC_* */
  uint32_t pad0;
  uint64_t reserved[2];
} amber_process;
/* Process state added in 1.5, in a section of its own (AMBER_SEC_PROCEXT, one record): a 1.4
 * reader skips it as a newer minor's section, and a 1.5 reader of an older image sees it all
 * zero. Later process state goes into its reserved words. */
typedef struct amber_process_ext {
  int32_t oom_score_adj;     /* with AMBER_PROC_EXT: /proc/PID/oom_score_adj */
  uint32_t nzombies;         /* with AMBER_PROC_ZOMBIES: amber_zombie[nzombies] at zombies_addr in */
  uint64_t zombies_addr;     /*   the agent's memory (restored with it; the restorer fills new_pid) */
  amber_str sysv_ids;        /* SysV message queues and semaphore sets the process got (msgget, semget)
                                and that existed at checkpoint: amber_sysv_id[] in STRINGS */
  amber_str sem_undo;        /* the process's SysV semaphore undo adjustments (semadj), amber_semadj[]
                                in STRINGS; zero when none */
  uint32_t mm_state;         /* AMBER_MM_*: process-wide (per mm) kernel settings */
  uint32_t membarrier;       /* with AMBER_MM_VALID: membarrier(MEMBARRIER_CMD_GET_REGISTRATIONS) */
  amber_str creds;           /* the process's credentials: one amber_creds followed by its
                                supplementary groups (uint32_t[ngroups]) in STRINGS; zero in older
                                images (the restorer then leaves the restart's own) */
  /* The clocks when the checkpoint began (before any timer was read: timerfds, interval and POSIX
   * timers, whose values are times left), and the boot they ran on (boot_id, 16 bytes): a timer's
   * deadline stands through the time the computation was down (proc/timers.cc amber_time_left).
   * Zero in older images: timers are armed again with the time that was left. */
  int64_t clock_real_ns, clock_mono_ns, clock_boot_ns;
  uint8_t boot_id[16];
  /* Threads whose working directory and umask are not the checkpoint thread's (they, or the main
   * thread, called unshare(CLONE_FS)): amber_thread_fs[] in STRINGS; zero when every thread
   * shares one (thread/thread.cc). In a reserved word: older images have none. */
  amber_str thread_fs;
  /* Format 1.8 (a reserved word before: zero in older images): Linux AIO requests submitted and
   * not completed at the checkpoint, amber_aio_req[] in STRINGS in submission order (mem/aio.cc);
   * the restorer submits them again on their rebuilt context. */
  amber_str aio_reqs;
  uint64_t reserved[1];
} amber_process_ext;
/* Format 1.8: one Linux AIO request in flight at the checkpoint (mem/aio.cc). The kernel shows no
 * request in flight: the agent's io_submit/io_cancel wrappers keep them. The iocb is the copy the
 * agent took when the program submitted it (the kernel had copied it then too: the program may
 * reuse that memory while the request runs); it is submitted again from its original address (the
 * completion's obj is that address), the bytes the program has there put back afterwards. */
typedef struct amber_aio_req {
  uint64_t ctx;              /* the context's id: the address of its ring (an AMBER_REG_AIO region) */
  uint64_t iocb;             /* the iocb's address in the program (event.obj) */
  uint32_t seen_tail;        /* ring slot up to which the agent had seen completions: an event of
                                this request in [seen_tail, the saved tail) means it completed while
                                the image was written (then it is not submitted again) */
  uint32_t reserved0;
  uint64_t reserved1;
  uint8_t cb[64];            /* struct iocb as submitted (aio_key zero, as the kernel leaves it) */
} amber_aio_req;
/* A thread with a working directory and umask of its own (thread/thread.cc). Threads with the
 * same group share one (they called unshare(CLONE_FS) once, then made each other with CLONE_FS);
 * a thread not listed shares the checkpoint thread's, the process's cwd and umask. */
typedef struct amber_thread_fs {
  uint32_t thread;           /* its index in the thread table */
  uint32_t group;            /* 1, 2, ...: the same number, the same fs */
  uint32_t umask;
  uint32_t pad;
  amber_str cwd;             /* absolute, in STRINGS */
} amber_thread_fs;
enum {
  AMBER_MM_VALID = 1,        /* mm_state and membarrier were captured */
  AMBER_MM_THP_DISABLE = 2,  /* PR_GET_THP_DISABLE was 1 */
  AMBER_MM_MDWE = 4,         /* PR_GET_MDWE had PR_MDWE_REFUSE_EXEC_GAIN (memory-deny-write-execute) */
  AMBER_MM_MDWE_NO_INHERIT = 8, /* ... and PR_MDWE_NO_INHERIT */
  AMBER_MM_MCL_FUTURE = 16,  /* mlockall(MCL_FUTURE) in force: every new mapping is locked */
  AMBER_MM_MCL_ONFAULT = 32, /* ... with MCL_ONFAULT (locked as touched, not populated) */
};
/* A process's credentials (proc/creds.cc): ids, supplementary groups, capabilities, securebits
 * and its dumpable flag, as the process had them when the checkpoint stopped it. Ids are as the
 * writer's user namespace shows them. */
typedef struct amber_creds {
  uint32_t uid[4];           /* real, effective, saved, filesystem */
  uint32_t gid[4];           /* real, effective, saved, filesystem */
  uint64_t cap_effective, cap_permitted, cap_inheritable;
  uint64_t cap_bounding;     /* the bounding set, capabilities 0..63 */
  uint64_t cap_ambient;
  uint32_t securebits;       /* PR_GET_SECUREBITS (SECBIT_KEEP_CAPS is PR_SET_KEEPCAPS) */
  int32_t dumpable;          /* PR_GET_DUMPABLE as the program had it (0, 1 or 2) */
  uint32_t ngroups;          /* supplementary groups following this record */
  uint32_t pad;
} amber_creds;
#define AMBER_MAX_GROUPS 65536u
/* A child that exited and was not reaped yet (proc/zombie.cc). */
typedef struct amber_zombie {
  int32_t app_pid;           /* the pid the application knows it by */
  int32_t code;              /* waitid's si_code: CLD_EXITED, CLD_KILLED, CLD_DUMPED */
  int32_t status;            /* waitid's si_status: exit status or signal */
  int32_t new_pid;           /* its kernel pid now (the checkpoint's; the restorer's after a restart) */
} amber_zombie;
/* A SysV IPC object a process uses, by its kernel-chosen id (ipc/msg.cc): the restart refuses
 * when it is gone (a new one would get another id). */
typedef struct amber_sysv_id {
  int32_t id;
  uint32_t kind;             /* 1 message queue, 2 semaphore set */
} amber_sysv_id;
/* One SysV semaphore undo adjustment of a process: what the kernel adds to semaphore num of set
 * id when the process exits (ipc/sem.cc). */
typedef struct amber_semadj {
  int32_t id;
  uint32_t num;
  int32_t adj;
  uint32_t pad;
} amber_semadj;
/* The writer knew the identities of the launcher's stdin/stdout/stderr: the descriptors marked
 * AMBER_FD_STDIO are exactly those, and any other descriptor (0-2 included) is the process's own.
 * Without it (older images) descriptors 0-2 of the root become the restart's by number. */
#define AMBER_PROC_STDIO_KNOWN 1u
/* oom_score_adj and each thread's comm, pdeathsig and personality were captured (zero-filled
 * reserved space in older images: then the restorer leaves them as they are). */
#define AMBER_PROC_EXT 2u
/* PR_SET_CHILD_SUBREAPER was set. */
#define AMBER_PROC_SUBREAPER 4u
/* zombies_addr/nzombies hold the process's unreaped children. */
#define AMBER_PROC_ZOMBIES 8u
/* The main thread had ended (pthread_exit) while others ran: no thread is AMBER_THR_MAIN, and the
 * restorer's main thread exits once it has made the others (a zombie leader again). */
#define AMBER_PROC_MAIN_EXITED 16u

/* Callee-saved state captured inside the suspend handler (see agent/ctx.S, restore/). */
typedef struct amber_ctx {
  uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip;
  uint32_t mxcsr;
  uint16_t fpucw;
  uint16_t pad;
} amber_ctx;

enum {
  AMBER_THR_MAIN = 1,        /* the thread-group leader */
  AMBER_THR_CKPT = 2,        /* the agent's checkpoint thread */
  AMBER_THR_SCHED = 4,       /* timerslack, nice, policy and ioprio below were captured */
  AMBER_THR_NO_NEW_PRIVS = 8,/* PR_GET_NO_NEW_PRIVS was 1 (per thread: set on the thread that asked) */
  /* The thread's own machine-check kill policy (PR_MCE_KILL_SET; PR_MCE_KILL_GET was not
   * PR_MCE_KILL_DEFAULT): EARLY when AMBER_THR_MCE_EARLY is set too, else LATE. */
  AMBER_THR_MCE_SET = 16,
  AMBER_THR_MCE_EARLY = 32,
};

typedef struct amber_thread {
  int32_t tid;               /* kernel tid at checkpoint */
  int32_t vtid;
  uint32_t flags;            /* AMBER_THR_* */
  uint32_t rseq_len;         /* 0 = not registered */
  uint64_t fs_base, gs_base;
  amber_ctx ctx;
  uint64_t rseq_addr;
  uint32_t rseq_sig;
  int32_t ss_flags;          /* sigaltstack */
  uint64_t ss_sp, ss_size;
  uint64_t ctid_addr;        /* glibc's cached tid (struct pthread.tid); 0 if unknown */
  uint64_t clear_tid_addr;   /* set_tid_address value; pthreads: same as ctid_addr */
  uint64_t sigmask;          /* blocked set inside the handler (all app signals restored by sigreturn) */
  char comm[16];             /* with AMBER_PROC_EXT: the thread's name (PR_GET_NAME), NUL padded */
  uint32_t pdeathsig;        /* with AMBER_PROC_EXT: PR_GET_PDEATHSIG (per thread) */
  uint32_t personality;      /* with AMBER_PROC_EXT: personality(0xffffffff) (per thread) */
  /* with AMBER_THR_SCHED: what the kernel keeps per thread for scheduling, read by the thread */
  uint32_t timerslack;       /* PR_GET_TIMERSLACK in ns; with bit 31 set, in us (2^31 ns and over) */
  int8_t nice;               /* getpriority; for SCHED_FIFO and SCHED_RR the real-time priority */
  uint8_t policy;            /* sched_getscheduler: the policy in bits 0-6, SCHED_RESET_ON_FORK bit 7 */
  uint16_t ioprio;           /* ioprio_get(IOPRIO_WHO_PROCESS, the thread) */
} amber_thread;

enum {
  AMBER_REG_SHARED = 1u << 0,    /* MAP_SHARED (else private) */
  AMBER_REG_FILE = 1u << 1,      /* backed by the file at path */
  AMBER_REG_STACK = 1u << 2,     /* [stack]: mapped MAP_GROWSDOWN */
  AMBER_REG_HEAP = 1u << 3,      /* [heap] */
  AMBER_REG_VDSO = 1u << 4,      /* [vdso]: never stored, moved into place */
  AMBER_REG_VVAR = 1u << 5,      /* [vvar] */
  AMBER_REG_VVAR_VCLOCK = 1u << 6,
  AMBER_REG_VSYSCALL = 1u << 7,  /* fixed by the kernel, ignored */
  AMBER_REG_NODATA = 1u << 8,    /* contents not saved (agent scratch): restored zero-filled */
  AMBER_REG_ALLDATA = 1u << 9,   /* every page stored (deleted file, image file, shared anon) */
  AMBER_REG_DELETED = 1u << 10,  /* backing file was deleted */
  AMBER_REG_AIO = 1u << 11,      /* (1.6) the ring of an AIO context of this process (mem/aio.cc) */
};

typedef struct amber_region {
  uint64_t start, end;       /* [start, end), page aligned */
  uint32_t prot;             /* PROT_READ|PROT_WRITE|PROT_EXEC */
  uint32_t flags;            /* AMBER_REG_* */
  uint64_t file_off;
  uint64_t dev, inode;
  uint64_t file_size;        /* of the backing file at checkpoint */
  int64_t mtime_sec, mtime_nsec;
  amber_str path;            /* backing file, or "[heap]" etc. */
  uint32_t first_chunk, nchunks;
  uint64_t vmflags;          /* AMBER_VM_*: what smaps' VmFlags said (0 in images before it was kept) */
  uint64_t reserved;
} amber_region;

/* amber_region.vmflags: the mapping's properties beyond prot and flags, read from the VmFlags line
 * of /proc/self/smaps at checkpoint and set again at restart (mmap flags, madvise, mlock). Unknown
 * bits are ignored by a restorer that does not know them. */
enum {
  AMBER_VM_NORESERVE = 1u << 0,   /* nr: MAP_NORESERVE (no commit charge) */
  AMBER_VM_DONTDUMP = 1u << 1,    /* dd: MADV_DONTDUMP */
  AMBER_VM_DONTFORK = 1u << 2,    /* dc: MADV_DONTFORK */
  AMBER_VM_WIPEONFORK = 1u << 3,  /* wf: MADV_WIPEONFORK */
  AMBER_VM_LOCKED = 1u << 4,      /* lo: mlock */
  AMBER_VM_LOCKONFAULT = 1u << 5, /* lf: mlock2(MLOCK_ONFAULT) */
  AMBER_VM_HUGEPAGE = 1u << 6,    /* hg: MADV_HUGEPAGE */
  AMBER_VM_NOHUGEPAGE = 1u << 7,  /* nh: MADV_NOHUGEPAGE */
  AMBER_VM_MERGEABLE = 1u << 8,   /* mg: MADV_MERGEABLE */
  AMBER_VM_SEQ = 1u << 9,         /* sr: MADV_SEQUENTIAL */
  AMBER_VM_RAND = 1u << 10,       /* rr: MADV_RANDOM */
  AMBER_VM_MAYWRITE = 1u << 11,   /* mw: a shared file mapping whose file was open for writing */
  AMBER_VM_DONTEXPAND = 1u << 12, /* de */
  AMBER_VM_DROPPABLE = 1u << 13,  /* dp: MAP_DROPPABLE (1.6) */
  AMBER_VM_UFFD_MISSING = 1u << 14, /* um: registered with a userfaultfd for missing pages (1.6) */
  AMBER_VM_UFFD_WP = 1u << 15,    /* uw: ... for write protection */
  AMBER_VM_UFFD_MINOR = 1u << 16, /* ui: ... for minor faults */
  AMBER_VM_GROWSDOWN = 1u << 17,  /* gd: MAP_GROWSDOWN (a hand-made stack; the main [stack] is AMBER_REG_STACK) */
};

enum { AMBER_CODEC_RAW = 0 };

typedef struct amber_chunk {
  uint64_t addr;             /* virtual address of the first byte */
  uint64_t len;              /* bytes, page multiple, <= AMBER_CHUNK_MAX */
  uint64_t file_off;         /* page aligned offset of the stored bytes */
  uint64_t stored_len;       /* == len for AMBER_CODEC_RAW */
  uint32_t codec;
  uint32_t region;           /* index into the region table */
  uint64_t xxh;              /* XXH3 of the len uncompressed bytes */
} amber_chunk;

enum {
  AMBER_FD_FILE = 1,         /* regular file: reopened at path, flags, offset */
  AMBER_FD_DIR = 2,
  AMBER_FD_CHR = 3,          /* character device (/dev/null, a tty ...) */
  AMBER_FD_PIPE = 4,
  AMBER_FD_SOCKET = 5,
  AMBER_FD_ANON = 6,         /* anon_inode: eventfd, epoll, timerfd, signalfd ... */
  AMBER_FD_OTHER = 7,
  AMBER_FD_AGENT = 8,        /* the agent's own (coordinator socket): not restored */
};

/* Subkinds of AMBER_FD_PIPE (0: data is the bytes in flight, as one stream). */
enum {
  AMBER_PIPE_PACKETS = 1,    /* the bytes in flight are packets (written through an O_DIRECT end:
                                each read returns one): data = for each, uint32 length + bytes */
};

/* Kinds of AMBER_FD_ANON descriptors (format 1.1). */
enum {
  AMBER_ANON_UNKNOWN = 0,
  AMBER_ANON_EVENTFD = 1,    /* extra = count; fd_flags bit 8 = EFD_SEMAPHORE; format 1.4: inode =
                                1<<63 | its eventfd-id (every eventfd shares one anonymous inode) */
  AMBER_ANON_EPOLL = 2,      /* data = amber_epoll_entry[] (its interest list) */
  AMBER_ANON_TIMERFD = 3,    /* data = one amber_timerfd */
  AMBER_ANON_SIGNALFD = 4,   /* extra = signal mask */
  AMBER_ANON_PIDFD = 5,      /* format 1.4: extra = the app pid it refers to (0: not the computation's) */
  AMBER_ANON_INOTIFY = 6,    /* format 1.4: data = amber_inotify_watch records, each followed by its path */
  AMBER_ANON_USERFAULTFD = 7,/* format 1.6: extra = its API features (fd_flags AMBER_FD_UFFD_API: handshake done) */
  AMBER_ANON_FANOTIFY = 8,   /* format 1.9: extra = its fanotify_init flags as fdinfo shows them
                                (low 32 bits) | event_f_flags << 32;
                                data = amber_fanotify_mark records, each followed by its path */
};
#define AMBER_FD_SEMAPHORE 0x100u
/* Format 1.4 fd_flags bits: the bytes of a deleted file or memfd could not be read (named at
 * checkpoint, /dev/null at restart); a character device that is a terminal (TCGETS works). */
#define AMBER_FD_NODATA 0x800u
#define AMBER_FD_TTY 0x400u
/* Format 1.6: a userfaultfd whose API handshake was made (its features in extra). */
#define AMBER_FD_UFFD_API 0x4000u
/* Kinds of AMBER_FD_CHR descriptors (format 1.3). A pseudo-terminal is rebuilt as a new pair at
 * restart (its number may differ): every master and slave descriptor that named the same pty gets
 * the new master or slave; data = one amber_ptyinfo, then (master only) the output the slave side
 * had written that the master had not read yet: it is read at checkpoint and written back at once
 * (the processes are frozen), and written into the new pair at restart; then (AMBER_PTY_INPUT) the
 * input the slave side had not read yet, the same way. */
enum {
  AMBER_CHR_OTHER = 0,       /* reopened at its path */
  AMBER_CHR_PTMX = 1,        /* a pty master; extra = the pty's index (/dev/pts/N) */
  AMBER_CHR_PTS = 2,         /* a pty slave; extra = the pty's index */
};
typedef struct amber_ptyinfo {
  uint8_t termios[60];       /* kernel struct termios2 (TCGETS2), 44 bytes used */
  uint16_t winsize[4];       /* TIOCGWINSZ */
  uint32_t flags;            /* AMBER_PTY_* */
  uint32_t out_len;          /* bytes of pending output after this record */
} amber_ptyinfo;
enum { AMBER_PTY_TERMIOS = 1u, AMBER_PTY_WINSIZE = 2u, AMBER_PTY_INPUT = 4u,
       AMBER_PTY_PACKET = 8u /* the master is in packet mode (TIOCPKT) */,
       AMBER_PTY_STOPPED_TCO = 16u /* the slave's output is stopped by tcflow(TCOOFF) */,
       AMBER_PTY_STOPPED_XOFF = 32u /* ... by the stop character (^S, IXON) */ };
/* AMBER_PTY_INPUT (master only; the record's layout is unchanged): after the output bytes, to the
 * end of data, the input the master had written that the slave side had not read yet, as entries:
 * a little-endian uint16_t header (bits 0-12 the length, at most AMBER_PTYIN_MAX; bits 13-15 the
 * AMBER_PTYIN_* type) then that many bytes. The saved termios says how they were read:
 * canonical (ICANON without EXTPROC): LINE entries, each exactly what one read() returned (a line
 * ended by EOF has no terminator; an empty one is a bare EOF), then at most one PARTIAL entry, the
 * line being edited; otherwise RAW entries, the bytes in order. */
enum { AMBER_PTYIN_LINE = 0, AMBER_PTYIN_PARTIAL = 1, AMBER_PTYIN_RAW = 2 };
#define AMBER_PTYIN_MAX 4096u

/* Format 1.4: a descriptor in no process's table (fd_flags AMBER_FD_HIDDEN): one in flight inside a
 * Unix socket's queue (SCM_RIGHTS), or a connection waiting in a listener's accept queue. Its `fd`
 * is only an identity (AMBER_FD_HIDDEN_BASE + k, above any real number); the socket records that
 * hold it name it by its index in the FDS table. A restorer puts it at no number. */
#define AMBER_FD_HIDDEN 0x200u
#define AMBER_FD_HIDDEN_BASE 0x40000000

/* fd_flags bits 12-13 (format 1.4): j + 1 when the descriptor is the same file as the launcher's
 * stdin (j = 0), stdout (1) or stderr (2) — what `amber launch`, or the restart since, gave the
 * computation. The restart's own descriptor j takes its place, whatever its number: stdio follows
 * identity, not descriptor number (a daemon's stdout redirected to its log stays its log). */
#define AMBER_FD_STDIO_SHIFT 12u
#define AMBER_FD_STDIO_MASK (3u << AMBER_FD_STDIO_SHIFT)
/* Kinds of AMBER_FD_FILE and AMBER_FD_DIR descriptors (format 1.4; 0 before). */
enum {
  AMBER_FILE_PATH = 0,       /* reopened at path (a symlink opened O_PATH|O_NOFOLLOW: mode S_IFLNK) */
  AMBER_FILE_DELETED = 1,    /* unlinked while open: recreated unlinked in the same directory, with the
                                bytes of its FILEDATA extents, its size and mode */
  AMBER_FILE_MEMFD = 2,      /* memfd_create: name = path without "/memfd:" and " (deleted)",
                                extra = its seals (F_GET_SEALS), bytes in FILEDATA */
  AMBER_FILE_PROC = 3,       /* under /proc/<pid>/: extra = the app pid of <pid> (0: not one of the
                                computation's processes: reopened as it is, if it still exists) */
  AMBER_FILE_NSFS = 4,       /* a namespace file (path "net:[4026531840]"): /proc/self/ns/<type> */
  AMBER_FILE_MQUEUE = 5,     /* a POSIX message queue (path "/name", mqueue filesystem): data = one
                                amber_mqueue, then curmsgs x (amber_mq_msg + len bytes, padded to 8) */
};
typedef struct amber_mqueue {
  uint64_t maxmsg, msgsize, curmsgs;  /* mq_attr; O_NONBLOCK is the descriptor's status flag */
  uint64_t reserved;
} amber_mqueue;
typedef struct amber_mq_msg {
  uint32_t prio, len;        /* then len bytes; messages in the order they are received */
} amber_mq_msg;
/* Format 1.7: amber_mqueue.reserved bit AMBER_MQ_NOTIFY: the process of this image was registered
 * for the queue's notification (mq_notify) at checkpoint; one amber_mq_notify follows the messages
 * (an older reader stops after curmsgs messages and never sees it). The restorer registers again,
 * from the restored process, before the program runs. */
#define AMBER_MQ_NOTIFY 1ull
typedef struct amber_mq_notify {
  int32_t notify;            /* SIGEV_SIGNAL (0), SIGEV_NONE (1), or SIGEV_THREAD (2) as the agent
                                registers it (ipc/mqueue.cc): signo is then the descriptor of the
                                agent's netlink socket, and the 32-byte cookie sival then zeros */
  int32_t signo;
  uint64_t sival;            /* sigev_value: the si_value of the signal (SIGEV_THREAD: the cookie's
                                first 8 bytes, slot and sequence of the agent's helper) */
  uint64_t reserved[2];
} amber_mq_notify;
/* Locks and leases held through a FILE or DIR descriptor (format 1.4): its data is amber_lock[].
 * POSIX locks belong to the process, OFD locks, flock locks and leases to the open file
 * description: each is taken again through the same descriptor before the process runs. */
enum { AMBER_LOCK_POSIX = 1, AMBER_LOCK_OFD = 2, AMBER_LOCK_FLOCK = 3, AMBER_LOCK_LEASE = 4 };
typedef struct amber_lock {
  uint16_t type;             /* AMBER_LOCK_* */
  uint16_t mode;             /* F_RDLCK 0, F_WRLCK 1 */
  uint32_t pad;
  int64_t start;             /* byte range (POSIX, OFD): [start, end], end -1 = to end of file */
  int64_t end;
} amber_lock;

/* An inotify watch (format 1.4), in the data of an AMBER_ANON_INOTIFY descriptor: the watch
 * descriptor number the application knows, its mask, the watched inode, then path_len bytes of
 * the absolute path it was added with (padded to 8). */
typedef struct amber_inotify_watch {
  int32_t wd;
  uint32_t mask;
  uint64_t dev, inode;       /* stat of the watched file when the watch was added */
  uint32_t path_len;
  uint32_t pad;
} amber_inotify_watch;

/* A fanotify mark (format 1.9), in the data of an AMBER_ANON_FANOTIFY descriptor: what it marks
 * (AMBER_FAN_*), the FAN_MARK_* flags it is added again with (IGNORED_SURV_MODIFY, EVICTABLE and
 * IGNORE as the kernel shows them, DONT_FOLLOW and ONLYDIR as the program added it), its event and
 * ignore masks as the kernel shows them, the object's identity when it was marked (inode: st_dev
 * and inode; mount: 0 and the mount id; filesystem: st_dev and 0), then path_len bytes of the
 * absolute path it was marked at (padded to 8). */
enum { AMBER_FAN_INODE = 1, AMBER_FAN_MOUNT = 2, AMBER_FAN_FILESYSTEM = 3 };
typedef struct amber_fanotify_mark {
  uint32_t type;             /* AMBER_FAN_* */
  uint32_t flags;            /* FAN_MARK_* */
  uint64_t mask, ignored_mask;
  uint64_t dev, inode;
  uint32_t path_len;
  uint32_t pad;
} amber_fanotify_mark;

/* FILEDATA (format 1.4): the bytes of a file that exists nowhere else (deleted while open, a memfd),
 * by extent: holes between extents are not stored and come back as holes. Sorted by (fd, offset),
 * disjoint; each extent's bytes are stored page aligned in the data area after the chunks and
 * checked by their own checksum (covered by meta_xxh, as chunk checksums are by the trailer). */
typedef struct amber_extent {
  uint32_t fd;               /* index into the fd table */
  uint32_t flags;            /* 0 */
  uint64_t offset;           /* in the file */
  uint64_t len;              /* bytes, 0 < len <= AMBER_CHUNK_MAX */
  uint64_t file_off;         /* page aligned, inside [data_off, data_off + data_size) */
  uint64_t xxh;              /* XXH3 of the len bytes */
  uint64_t reserved;
} amber_extent;

typedef struct amber_fd {
  int32_t fd;
  uint32_t kind;             /* AMBER_FD_* */
  int32_t flags;             /* open(2) flags from fdinfo */
  uint32_t fd_flags;         /* FD_CLOEXEC, AMBER_FD_SEMAPHORE */
  uint64_t pos;
  uint32_t mode;             /* st_mode */
  uint32_t subkind;          /* AMBER_ANON_* (format 1.1; 0 before) */
  uint64_t dev, inode, size;
  amber_str path;            /* readlink(/proc/self/fd/N) */
  amber_str data;            /* format 1.1: in-flight pipe bytes (read end), epoll/timerfd records */
  uint64_t extra;            /* format 1.1: pipe size, eventfd count, signalfd mask */
} amber_fd;

/* AMBER_FD_SOCKET (format 1.2): subkind says what the restorer can rebuild; data holds one
 * amber_sockinfo followed by the bytes that were waiting in the socket's receive queue (peeked,
 * not consumed). A connected pair whose two ends are both in the computation is rebuilt as a new
 * connection (over loopback for TCP) carrying those bytes; a listener is bound again. */
enum {
  AMBER_SOCK_OTHER = 0,      /* before 1.4: not rebuilt; 1.4: neither listening nor connected
                                (unbound, bound, a datagram socket with no default peer) */
  AMBER_SOCK_LISTEN = 1,
  AMBER_SOCK_CONNECTED = 2,  /* has a peer (stream: connected; datagram: a default destination) */
};
typedef struct amber_sockinfo {
  uint16_t family, pad0;
  int32_t type;              /* SOCK_STREAM, SOCK_DGRAM, ... */
  int32_t protocol;
  uint32_t local_len, peer_len;
  uint32_t inflight_len;     /* bytes after this struct in data */
  uint32_t sndq;             /* bytes still in the send queue at checkpoint (not saved) */
  uint32_t peer_ino;         /* format 1.3, Unix sockets: the peer's inode (sock_diag), 0 unknown;
                                the socket's own inode is amber_fd.inode */
  uint8_t local[128], peer[128];
} amber_sockinfo;

/* Format 1.4: after the queued bytes (inflight_len), one amber_sockx, then what it counts, in this
 * order: nopts amber_sockopt; nmsgs messages, each an amber_sockmsg followed by addr_len bytes of
 * the sender's address, then (datagrams, seqpackets) len bytes of data, then nfds uint32 FDS-table
 * indexes of the descriptors it carries; then npending uint32 FDS-table indexes (a listener's
 * connections not accepted yet, oldest first). Nothing is aligned: read with memcpy
 * (image/sockrec.h parses it). A stream socket's messages only mark where its queued bytes carry
 * descriptors or credentials: their data is the queued bytes, in order (sum of len = inflight_len).
 * Images before 1.4 have no amber_sockx (data ends with the queued bytes). */
#define AMBER_SOCKX_MAGIC 0x58534b41u /* "AKSX" */
enum {
  AMBER_SOCKX_BOUND = 1u << 0,      /* bound (by bind, autobind or connect): bind again to local */
  AMBER_SOCKX_PENDING = 1u << 1,    /* a connection in a listener's accept queue (hidden record) */
  AMBER_SOCKX_NODATA = 1u << 2,     /* pending, its unread bytes not saved (a checkpoint the program
                                       survives cannot accept it): reset at restart */
  AMBER_SOCKX_PEER_GONE = 1u << 3,  /* the other end was closed (no descriptor holds it) */
  AMBER_SOCKX_REMOTE = 1u << 4,     /* the other end is on another host or outside the computation */
  AMBER_SOCKX_SNDQ_LOST = 1u << 5,  /* bytes in the send queue (sockinfo.sndq) were not saved */
  AMBER_SOCKX_TRUNC = 1u << 6,      /* a queued message's descriptors could not all be saved */
  AMBER_SOCKX_DRAINED = 1u << 7,    /* TCP, a checkpoint that ends the program: the queue was read
                                       to the end, so it holds what the peer's send queue held */
  AMBER_SOCKX_SNDQ = 1u << 8,       /* TCP: sockinfo.sndq bytes were in the send queue; saved only
                                       if the peer (in the computation) has AMBER_SOCKX_DRAINED */
  AMBER_SOCKX_BACKLOG0 = 1u << 9,   /* a listener whose backlog is known to be 0 (listen(0): one
                                       pending connection fills it), not unknown */
  AMBER_SOCKX_UNLINKED = 1u << 10,  /* a Unix socket bound to a path that no longer names it (the
                                       program unlinked its socket file): a restart binds there
                                       again, rebuilds what connects by the name, then removes the
                                       file it made. (No version change: a reader that ignores the
                                       bit leaves the file, as before it.) */
};
typedef struct amber_sockx {
  uint32_t magic;            /* AMBER_SOCKX_MAGIC */
  uint32_t size;             /* bytes from this record to the end of the pending list */
  uint32_t state;            /* kernel socket state: TCP_INFO tcpi_state / unix_diag udiag_state */
  uint32_t shutdown;         /* sk_shutdown: 1 receive side closed (by us, or FIN received), 2 send side */
  uint32_t flags;            /* AMBER_SOCKX_* */
  uint32_t nopts, nmsgs, npending;
  uint32_t backlog;          /* a listener's listen() backlog, 0 unknown (AMBER_SOCKX_BACKLOG0: 0) */
  int32_t peek_off;          /* SO_PEEK_OFF (-1: off) */
  uint32_t unsaved;          /* a listener: connections waiting to be accepted that were not saved */
  /* (1.6, a reserved word before) a Unix socket bound to an absolute path: its socket file's
   * st_mode with AMBER_SOCKX_PATH_MODE set, and owner; 0 unknown. A restart binds again, then
   * puts them back (a server's chmod after bind, the user a root-started server switched to). */
  uint32_t path_mode;
  uint32_t path_uid, path_gid;
  /* (reserved words before) TCP urgent data: urg_mark is the urgent mark's offset in the queued
   * bytes plus one (0: no mark). With AMBER_SOCKX_URG_BYTE in urg, its low 8 bits are the urgent
   * byte not yet read with MSG_OOB (not among the queued bytes); without it the urgent byte is the
   * queued byte at the mark (SO_OOBINLINE). A restart sends the bytes before the mark, then the
   * urgent byte with MSG_OOB, then the rest. */
  uint32_t urg_mark;
  uint32_t urg;
} amber_sockx;
#define AMBER_SOCKX_PATH_MODE 0x80000000u
#define AMBER_SOCKX_URG_BYTE 0x100u
/* An option whose value differed from a new socket's: set again (before bind) at restart. */
typedef struct amber_sockopt {
  int32_t level, name;
  uint32_t len;              /* bytes of val used */
  uint32_t pad;
  uint8_t val[16];
} amber_sockopt;
enum {
  AMBER_SOCKMSG_CREDS = 1u,  /* pid/uid/gid: the SCM_CREDENTIALS it carried */
};
typedef struct amber_sockmsg {
  uint32_t len;              /* data bytes */
  uint32_t addr_len;         /* sender address bytes (0: none/unnamed) */
  uint32_t nfds;             /* descriptors carried (SCM_RIGHTS) */
  uint32_t flags;            /* AMBER_SOCKMSG_* */
  int32_t pid, uid, gid;
  uint32_t pad;
} amber_sockmsg;

/* Format 1.7: a socket of family AF_NETLINK (fd/netlink.cc). Its data: one amber_sockinfo (local
 * and peer are struct sockaddr_nl: family, pad, nl_pid, nl_groups; inflight_len 0), then one
 * amber_nlsock, then ngroups uint32 words of its multicast membership bitmap (group g is bit
 * g - 1), then nopts amber_sockopt (SOL_SOCKET and SOL_NETLINK options that differ from a new
 * socket's). Images before 1.7 hold the amber_sockinfo alone: not rebuilt. */
#define AMBER_NLSOCK_MAGIC 0x4b534c4eu /* "NLSK" */
enum {
  AMBER_NLSOCK_BOUND = 1u << 0,     /* has a port id (bind, or autobind by a send): bound to it again */
  AMBER_NLSOCK_QUEUED = 1u << 1,    /* messages were waiting in its receive queue: not saved (a
                                       kernel-fed queue cannot be refilled), named at checkpoint */
  AMBER_NLSOCK_GROUPS_CUT = 1u << 2,/* more groups than the bitmap read holds: named at checkpoint */
  AMBER_NLSOCK_DUMPING = 1u << 3,   /* a kernel dump was in progress (sock_diag NDIAG_FLAG_CB_RUNNING):
                                       its rest is lost, named at checkpoint */
};
typedef struct amber_nlsock {
  uint32_t magic;            /* AMBER_NLSOCK_MAGIC */
  uint32_t size;             /* bytes from this record to the end of the options */
  uint32_t portid;           /* nl_pid of getsockname (0: none yet) */
  uint32_t flags;            /* AMBER_NLSOCK_* */
  uint32_t ngroups;          /* uint32 words of membership bitmap that follow */
  uint32_t nopts;            /* amber_sockopt after the bitmap */
  uint32_t queued;           /* AMBER_NLSOCK_QUEUED: bytes of the first waiting message */
  uint32_t reserved[5];
} amber_nlsock;

typedef struct amber_epoll_entry {
  int32_t tfd;
  uint32_t events;
  uint64_t data;
} amber_epoll_entry;
/* Format 1.4: the epoll's data is extra = n amber_epoll_entry, then n amber_epoll_target (tfd is
 * then the descriptor that holds the target now, found by its inode: the number it was added
 * with may since have been closed or dup2'd over). */
typedef struct amber_epoll_target {
  uint64_t dev, inode;       /* of the target file (st_dev encoding) */
  uint32_t flags;            /* AMBER_EPOLL_* */
  int32_t added_fd;          /* the number it was added with (fdinfo tfd) */
} amber_epoll_target;
enum {
  AMBER_EPOLL_PENDING = 1u,  /* its event was ready and not yet collected at checkpoint */
  AMBER_EPOLL_DISARMED = 2u, /* EPOLLONESHOT that already fired */
};

typedef struct amber_timerfd {
  int32_t clockid;
  int32_t settime_flags;
  uint64_t ticks;            /* expirations not yet read */
  int64_t value_sec, value_nsec, interval_sec, interval_nsec;
} amber_timerfd;

typedef struct amber_timer {
  int32_t id;                /* kernel timer id, restored exactly */
  int32_t clockid;
  int32_t signo;
  int32_t notify;            /* SIGEV_SIGNAL / SIGEV_THREAD_ID / SIGEV_NONE */
  int32_t tid;               /* target thread for SIGEV_THREAD_ID (kernel tid at checkpoint) */
  int32_t pad;
  uint64_t sival;
  int64_t value_sec, value_nsec, interval_sec, interval_nsec;
} amber_timer;

/*
 * Restart hand-off: a struct inside the agent's own memory (header.handoff_addr). The restorer
 * fills it after memory is back and before any thread resumes; the agent reads it on its restart
 * path. It is the only channel between the two.
 */
#define AMBER_HANDOFF_MAGIC 0x46464f444e414841ull /* "AHANDOFF": v1, ends at new_tids */
#define AMBER_HANDOFF_MAGIC2 0x32464f444e414841ull /* "AHANDOF2": v2, adds token */
#define AMBER_HANDOFF_MAGIC3 0x33464f444e414841ull /* "AHANDOF3": v3, adds the restart's stdio ids */
typedef struct amber_handoff {
  uint64_t magic;
  volatile uint32_t restored;   /* 1 once the restorer has brought the process back */
  int32_t new_pid;
  uint64_t blob_addr, blob_len; /* the restorer's own mapping, for the agent to unmap */
  char coord[256];              /* AMBER_COORD of the restart (the coordinator to join) */
  char image[512];              /* the image restored from */
  int32_t new_tids[AMBER_MAX_THREADS]; /* indexed like the thread table */
  /* v2 (AMBER_HANDOFF_MAGIC2) only: the restorer must not write past new_tids of a v1 agent. */
  char token[80];               /* AMBER_TOKEN of the restart (TCP coordinators) */
  /* v3 (AMBER_HANDOFF_MAGIC3) only: the restart's own stdin/stdout/stderr (st_dev, st_ino; set[j]
   * 0 when fd j was closed): the launcher's stdio of the restored computation from now on. */
  uint64_t stdio_dev[3], stdio_ino[3];
  uint32_t stdio_set[3];
  /* v3, in what was padding (zero from an agent or restorer that does not know it): +1, a
   * connection to the restart's coordinator the restorer made while it still had the restart's
   * credentials, for a process it switched to other ids (proc/creds.cc): that user may not connect
   * to a root coordinator's socket itself; 0 none. */
  uint32_t coord_fd1;
} amber_handoff;

#ifdef __cplusplus
static_assert(sizeof(amber_header) <= AMBER_HEADER_SIZE, "header fits a page");
static_assert(sizeof(amber_trailer) == AMBER_TRAILER_SIZE, "trailer size");
static_assert(sizeof(amber_chunk) == 48, "chunk record size");
static_assert(sizeof(amber_extent) == 48, "extent record size");
static_assert(sizeof(amber_thread) == 192 && sizeof(amber_process_ext) == 112, "thread and process-ext records (reserved words used in place)");
static_assert(sizeof(amber_thread_fs) == 24, "thread fs record");
static_assert(sizeof(amber_aio_req) == 96, "AIO request record");
static_assert(sizeof(amber_nlsock) == 48 && sizeof(amber_mq_notify) == 32, "netlink and mq_notify records");
static_assert(sizeof(amber_lock) == 24 && sizeof(amber_inotify_watch) == 32 && sizeof(amber_epoll_target) == 24 &&
                  sizeof(amber_fanotify_mark) == 48,
              "descriptor data records");
#endif

#endif
