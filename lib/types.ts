/**
 * Plain data shapes shared by the library modules, all part of the public contract (lib/index.ts
 * re-exports every one; the published declarations are generated from here).
 */

/** What the addon's readImage() reports. Addresses are hex strings ("0x7f...") because they do
 * not fit a JS number exactly. */
export interface ImageThread {
  tid: number;
  main: boolean;
  ckpt: boolean;
  fsBase: string;
  rseq: boolean;
}

export interface ImageRegion {
  start: string;
  end: string;
  /** "rwxp"-style, as in /proc/PID/maps. */
  prot: string;
  flags: string[];
  path: string;
  offset: string | number;
  chunks: number;
  storedBytes: number;
}

export interface ImageFd {
  fd: number;
  kind: string;
  path: string;
  flags: number | string;
  pos: number | string;
  /** Sockets (format 1.2): what the restart can rebuild. Addresses are raw sockaddr bytes, hex. */
  socket?: ImageSocket;
  /** Format 1.4: in no process's table — in flight inside a Unix socket's queue (SCM_RIGHTS), or a
   * connection waiting in a listener's accept queue; `fd` is then only an identity. */
  hidden?: boolean;
}

export interface ImageSocket {
  family: string;
  type: number;
  state: 'listen' | 'connected' | 'other';
  local: string;
  peer: string;
  /** bytes that were waiting to be read (saved) */
  inflightBytes: number;
  /** bytes still in the send queue (not saved) */
  sendQueueBytes: number;
  /** the socket's inode, and (Unix sockets, format 1.3) its peer's: 0 when unknown */
  inode: number | string;
  peerInode: number;
  /** IPPROTO_* (0 for Unix sockets) */
  protocol?: number;
  /** Format 1.4: the kernel's state (TCP_INFO state for TCP, sock_diag's for Unix sockets) */
  kernelState?: number;
  /** its peer's FIN arrived (or its receive side was shut) / it sent its own (shut its send side) */
  finReceived?: boolean;
  finSent?: boolean;
  /** the other end was closed (no descriptor held it) */
  peerGone?: boolean;
  /** a connection waiting in a listener's accept queue */
  pendingConnection?: boolean;
  /** options that differ from a new socket's, queued messages, a listener's saved pending connections */
  options?: number;
  messages?: number;
  pending?: number;
}

export interface ImageTimer {
  id: number;
  clockid: number;
  signo: number;
}

export interface ImageInfo {
  path: string;
  version: { major: number; minor: number };
  arch: string;
  pageSize: number;
  kernel: string;
  libc: string;
  hostname: string;
  vpid: number;
  parentVpid: number;
  pid: number;
  generation: number;
  /** ms since the epoch */
  time: number;
  fileSize: number;
  pagesTotal: number;
  pagesStored: number;
  cmdline: string[];
  cwd: string;
  exe: string;
  /** format 1.3: the pid the application knows this process by, its process group and session */
  appPid?: number;
  pgid?: number;
  sid?: number;
  /** the trailer's whole-image checksum (16 hex digits): what a manifest records to bind the image */
  imageXxh?: string;
  /** format 1.4: the id of the generation it was written for (32 hex digits) */
  generationId?: string;
  /** format 1.4: checksum of the program it holds (exe and cmdline, 16 hex digits) */
  programXxh?: string;
  threads: ImageThread[];
  regions: ImageRegion[];
  fds: ImageFd[];
  timers: ImageTimer[];
  chunks: number;
  storedBytes: number;
}

export interface VerifyResult {
  chunks: number;
  bytes: number;
}

/** The N-API addon's surface (src-native/addon). */
export interface Addon {
  readImage(path: string): ImageInfo;
  verifyImage(path: string): Promise<VerifyResult>;
  formatVersion: { major: number; minor: number };
  /** SO_PEERCRED of a connected Unix socket's fd (absent from stand-in addons). */
  peerCred?(fd: number): PeerCred;
  /** Writes text on Unix socket sock with descriptor fd attached (SCM_RIGHTS). */
  sendFd?(sock: number, text: string, fd: number): void;
  /** A connected pair of Unix stream sockets (close-on-exec). */
  socketPair?(): [number, number];
  /** The bytes a saved socket had waiting to be read. */
  socketInflight?(path: string, fd: number): Buffer;
  /** Which descriptors of frozen processes are one open file description (kcmp). */
  sharedFiles?(procs: Array<{ pid: number; image: string }>): Promise<{ groups: Array<Array<{ index: number; fd: number }>>; uncompared: number }>;
  /** Header and trailer only (never through a link, only a regular file): what binds an image. */
  readSeal?(path: string): ImageSeal;
}

/** What readSeal() reports: the values a manifest records for an image (issue 12). */
export interface ImageSeal {
  vpid: number;
  generation: number;
  /** format 1.4 */
  generationId?: string;
  programXxh?: string;
  imageXxh: string;
  fileSize: number;
  uid: number;
  mode: number;
}

export interface PeerCred {
  pid: number;
  uid: number;
  gid: number;
}

export type ProcessState =
  | 'running'
  | 'suspending'
  | 'suspended'
  | 'writing'
  | 'written'
  | 'resuming'
  | 'restarting'
  /** Known from a previous coordinator on this DIR; its agent has not reconnected yet. */
  | 'detached'
  | 'exited';

/** One registered process as the coordinator sees it (and as `status --json` prints it). */
export interface ProcessInfo {
  vpid: number;
  pid: number;
  /** Parent's vpid, 0 when the parent is not under amber. */
  parent: number;
  host: string;
  cmd: string;
  state: ProcessState;
}

export interface ManifestProcess {
  vpid: number;
  pid: number;
  parent: number;
  host: string;
  cmd: string;
  /** Image file name, relative to the manifest's directory. */
  image: string;
  bytes: number;
  /** the image's whole-image checksum (its trailer's image_xxh, 16 hex digits); absent before issue 12 */
  xxh?: string;
  /** checksum of the program the image holds (its header's program_xxh, 16 hex digits) */
  program?: string;
  /**
   * The credentials the kernel showed for a process that ran as another user than the root
   * coordinator, whose image file the coordinator made for it (setuid after launch): uids real,
   * effective, saved, fs; gids likewise; capabilities effective, permitted, inheritable, bounding,
   * ambient; supplementary groups — decimal, comma separated. The restorer refuses the image when
   * its own credentials record differs (`amber-restart --creds`).
   */
  creds?: string;
}

export interface Manifest {
  amber: 1;
  generation: number;
  /** ISO 8601 */
  time: string;
  /** The checkpoint directory (DIR) the generation was written in. */
  dir: string;
  /**
   * The generation's random id (32 hex digits), also in each image's header: restart refuses an
   * image of another generation. Absent in manifests written before issue 12 (nothing is bound).
   */
  id?: string;
  processes: ManifestProcess[];
  bytes: number;
  seconds: number;
  /**
   * Open file descriptions shared by several descriptors (dup, or inherited over fork): each
   * group keeps one shared offset at restart. Absent when there were none.
   */
  shares?: SharedDescriptor[][];
}

/** One descriptor of a shared open file description: the process (by vpid) and its fd. */
export interface SharedDescriptor {
  vpid: number;
  fd: number;
}

/** How a checkpoint is taken (the CLI's `amber checkpoint` flags, the API's options). */
export interface CheckpointMode {
  /** End the computation once the generation is durable (SIGKILL every process, no resume). */
  kill?: boolean;
  /**
   * Forked (copy-on-write): every process runs on as soon as all its state but its memory is
   * captured, while a forked copy of it writes the memory; the generation is reported only once
   * every image is durable. Same images as a stopped checkpoint. Ignored with `kill`.
   */
  forked?: boolean;
}

export interface CheckpointResult {
  generation: number;
  /** Absolute path of the generation's manifest.json. */
  manifest: string;
  /** Absolute paths of the images, in vpid order. */
  images: string[];
  bytes: number;
  seconds: number;
  /** Descriptors that will not survive a restart, by process and name (absent when none). */
  warnings?: string[];
}

export interface StatusResult {
  ok: true;
  /** listen: the TCP address when there is one, else the Unix socket; socket: the Unix socket. */
  coordinator: { pid: number; dir: string; listen: string; socket?: string; tcp?: string };
  /** Latest durable generation in DIR (0 = none). */
  generation: number;
  processes: ProcessInfo[];
}

export interface RestartResult {
  generation: number;
  processes: ProcessInfo[];
  /** Which copy this computation is, when it was started by a `copies` restart (1-based). */
  copy?: number;
}

export interface ExitStatus {
  /** Exit code, or null when the process was killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A plugin loaded in a process (hello's `plugins`, PROTOCOL.md v1.1). */
export interface PluginInfo {
  name: string;
  path: string;
  /** Symbols the plugin wraps. */
  wraps: string[];
}

export interface ProcessPlugins {
  vpid: number;
  pid: number;
  cmd: string;
  plugins: PluginInfo[];
}

export interface PluginsResult {
  processes: ProcessPlugins[];
}

/** A plugin's `event` message, re-emitted by the coordinator. */
export interface PluginEvent {
  vpid: number;
  pid: number;
  plugin: string;
  name: string;
  data: string;
}

/** Barrier progress: emitted as agents answer each phase. */
export interface ProgressEvent {
  generation: number;
  phase: 'suspend' | 'write' | 'resume';
  /** Processes that have answered this phase. */
  done: number;
  total: number;
  /** Image bytes written so far in this generation. */
  bytes: number;
  /** Seconds since the generation started. */
  seconds: number;
}
