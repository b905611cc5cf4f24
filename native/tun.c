/*
 * ustack's one native piece: opens a Linux TUN/TAP device and watches its file descriptor on
 * Node's own event loop. Everything above the fd (every protocol) is TypeScript; this file only
 * moves whole packets between the fd and JavaScript.
 *
 *   open(name, tap, multiQueue, offload) -> { handle, name }   TUNSETIFF with IFF_NO_PI; O_NONBLOCK.
 *       offload: IFF_VNET_HDR with checksum and TCPv4 segmentation offload (TUNSETOFFLOAD): every
 *       packet read starts with a 10-byte virtio_net_hdr, and every write takes one.
 *   start(handle, onPackets, onWritable, ends[, batch])   a uv_poll_t on the fd
 *       onPackets(buffer, count): `count` packets back to back in `buffer`, packet i ending at
 *       byte ends[i] (an Int32Array the caller owns). A read error: onPackets(null, -errno).
 *       With `batch` (a Uint8Array of at least MAX_FRAME bytes, `batchBytes` to fill it
 *       best) every batch is read straight into it and `buffer` is `batch` itself: the caller
 *       lends the packets during onPackets only and the same memory takes the next batch.
 *   write(handle, header, bytes) -> bytes written, or -errno (-EAGAIN: queue it, wait for
 *       writable); one writev of the virtio_net_hdr (empty without offload) and the packet
 *   wantWritable(handle, yes)   also wake on POLLOUT; onWritable() is then called once
 *   setRef(handle, yes)         whether the open device keeps the event loop alive
 *   close(handle)               stops polling and closes the fd (the device goes with it)
 *   steerByPorts(handle, linkHeaderLength)   a multi-queue device's queue choice for what the
 *       kernel sends us becomes the top 16 bits of (source port + destination port) * 0x9e3779b1
 *       (32-bit), mod queues, for TCP
 *       and UDP (unfragmented IPv4, IPv6 without extension headers), queue 0 for the rest: a small
 *       eBPF program (TUNSETSTEERINGEBPF) instead of the kernel's flow hash, which follows the
 *       sending socket's random txhash and so moves a flow to another queue after an RTO.
 *
 * Reads happen in batches: each wake-up reads until EAGAIN (at most MAX_BATCH packets) into one
 * slab: one call into JS per batch instead of one per packet (bench/tun-read.ts measured both;
 * this was faster). Given a `batch` (TunLink gives one: the stack copies whatever it keeps of a
 * frame), the slab is that memory and nothing is allocated or copied per batch. Without one
 * JavaScript gets a Buffer copy of the slab per batch: a batch of POOLED_MIN bytes or more is copied into a block this addon recycles (see
 * pool_take) rather than into a fresh allocation: JavaScript keeps views into a batch (TCP's
 * receive queue), so its memory cannot be reused until the Buffer is collected, but a fresh
 * allocation that large is a fresh mapping whose every page faults in the copy.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/bpf.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <stdint.h>

#define MAX_BATCH 256
/* Each read needs room for the largest packet the device could hold or the kernel truncates
 * it: 64 KiB of IP plus an Ethernet header (TAP) and a VLAN tag. */
#define MAX_FRAME (65536 + 64)
#define SLAB_SIZE (1024 * 1024)

/* References into JS held while polling: the handle itself (so it is not collected while the
 * loop still calls us), the two callbacks and the `ends` array. */
enum { REF_SELF, REF_ON_PACKETS, REF_ON_WRITABLE, REF_ENDS, REF_BATCH, REF_COUNT };

typedef struct {
  uv_poll_t poll;
  napi_env env;
  int fd;
  int events;    /* the uv_poll event mask currently requested */
  int polling;   /* uv_poll_init done: the handle must be uv_close()d before the struct is freed */
  int closed;    /* close() was called, or the environment is going away */
  int finalized; /* the JS handle object was garbage collected */
  napi_ref refs[REF_COUNT];
  napi_async_context async;
  int32_t *ends;
  unsigned char *slab;   /* where batches are read: our own SLAB_SIZE bytes, or start's `batch` */
  size_t slab_size;
  int own_slab;          /* slab is ours to free (no `batch` given) */
  char name[IFNAMSIZ];
} tun_t;

static void on_poll(uv_poll_t *handle, int status, int events);

/* Throws an Error shaped like Node's system errors (code, negative errno, syscall) whose message
 * says what to do about it. */
static napi_value throw_errno(napi_env env, int err, const char *syscall, const char *advice) {
  char text[512];
  napi_value error, code, message, number, call;
  snprintf(text, sizeof text, "%s: %s (%s)%s%s", syscall, uv_err_name(-err), strerror(err), advice ? ": " : "", advice ? advice : "");
  napi_create_string_utf8(env, uv_err_name(-err), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, -err, &number);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &call);
  napi_set_named_property(env, error, "errno", number);
  napi_set_named_property(env, error, "syscall", call);
  napi_throw(env, error);
  return NULL;
}

/* The struct lives until both the JS handle is collected and libuv has let go of the poll. */
static void free_if_done(tun_t *t) {
  if (t->finalized && !t->polling) {
    if (t->own_slab) free(t->slab);
    free(t);
  }
}

/* libuv is done with the poll handle. The references are dropped here, not in close(), because
 * close() may be called from inside one of the callbacks they hold. */
static void on_poll_closed(uv_handle_t *handle) {
  tun_t *t = handle->data;
  if (t->env != NULL) {
    for (int i = 0; i < REF_COUNT; i++)
      if (t->refs[i] != NULL) napi_delete_reference(t->env, t->refs[i]);
    napi_async_destroy(t->env, t->async);
  }
  t->polling = 0;
  free_if_done(t);
}

static void cleanup_hook(void *arg);

/* Stops polling and closes the fd. Idempotent. */
static void shutdown_tun(tun_t *t) {
  if (t->closed) return;
  t->closed = 1;
  if (t->polling) uv_close((uv_handle_t *)&t->poll, on_poll_closed); /* also stops it */
  close(t->fd);
  t->fd = -1;
  if (t->env != NULL) napi_remove_env_cleanup_hook(t->env, cleanup_hook, t);
}

/* The environment is being torn down (process exit, worker end): release the fd, touch no JS. */
static void cleanup_hook(void *arg) {
  tun_t *t = arg;
  t->env = NULL; /* also keeps shutdown_tun from unregistering the hook that is running */
  shutdown_tun(t);
}

static void finalize(napi_env env, void *data, void *hint) {
  tun_t *t = data;
  t->finalized = 1;
  shutdown_tun(t); /* only does something if never started: a started device holds REF_SELF */
  free_if_done(t);
}

/* Calls a JS callback from the event loop through napi_make_callback, so process.nextTick and
 * promise jobs run afterwards and a thrown exception reaches process 'uncaughtException'. */
static void call_js(tun_t *t, int ref, size_t argc, napi_value *argv) {
  napi_env env = t->env;
  napi_value callback, global, result, error;
  if (napi_get_reference_value(env, t->refs[ref], &callback) != napi_ok || callback == NULL) return;
  napi_get_global(env, &global);
  if (napi_make_callback(env, t->async, global, callback, argc, argv, &result) == napi_pending_exception) {
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error);
  }
}

/* A failure that would wake us forever: stop reading and tell JS once, as onPackets(null, -errno). */
static void report_read_error(tun_t *t, int err) {
  napi_value argv[2];
  t->events &= ~UV_READABLE;
  if (t->events == 0) uv_poll_stop(&t->poll);
  else uv_poll_start(&t->poll, t->events, on_poll);
  napi_get_null(t->env, &argv[0]);
  napi_create_int32(t->env, -err, &argv[1]);
  call_js(t, REF_ON_PACKETS, 2, argv);
}

/* Batch memory that is recycled: size classes POOL_UNIT << c (64 KiB to 1 MiB, a batch's
 * largest), each handed to JavaScript as an external Buffer whose finalizer gives the block
 * back. Node runs those finalizers on the JavaScript thread, but every worker thread has its own
 * (ustack up --queues), so the free lists are shared under a lock. bench:tun's ustack peer
 * (MTU 65000, kernel -> stack, perf): page faults in the copy of each batch into a new Buffer
 * were 16% of its main thread. What the pool keeps is bounded by POOL_BYTES; a block beyond it
 * is freed. A smaller batch is copied into a plain Buffer (below malloc's mmap threshold). */
#define POOLED_MIN (64 * 1024)
#define POOL_UNIT (64 * 1024)
#define POOL_CLASSES 5 /* 64, 128, 256, 512, 1024 KiB: SLAB_SIZE is the largest batch */
#define POOL_BYTES (32 * 1024 * 1024)
#define POOL_DEPTH (POOL_BYTES / POOL_UNIT)

static uv_once_t pool_once = UV_ONCE_INIT;
static uv_mutex_t pool_lock;
static void *pool_blocks[POOL_CLASSES][POOL_DEPTH];
static int pool_counts[POOL_CLASSES];
static size_t pool_held; /* bytes in the free lists */

static void pool_init(void) { uv_mutex_init(&pool_lock); }

static int pool_class(size_t length) {
  int c = 0;
  while (((size_t)POOL_UNIT << c) < length) c++;
  return c;
}

/* A block of class c from the free list, or a new one (NULL when malloc fails). */
static void *pool_take(int c) {
  void *block = NULL;
  uv_mutex_lock(&pool_lock);
  if (pool_counts[c] > 0) {
    block = pool_blocks[c][--pool_counts[c]];
    pool_held -= (size_t)POOL_UNIT << c;
  }
  uv_mutex_unlock(&pool_lock);
  return block != NULL ? block : malloc((size_t)POOL_UNIT << c);
}

/* The finalizer of a pooled Buffer (napi_finalize): the block goes back, or is freed. */
static void pool_give(napi_env env, void *block, void *hint) {
  int c = (int)(intptr_t)hint;
  size_t size = (size_t)POOL_UNIT << c;
  (void)env;
  uv_mutex_lock(&pool_lock);
  if (pool_held + size <= POOL_BYTES && pool_counts[c] < POOL_DEPTH) {
    pool_blocks[c][pool_counts[c]++] = block;
    pool_held += size;
    block = NULL;
  }
  uv_mutex_unlock(&pool_lock);
  free(block);
}

/* The batch's bytes as a Buffer: in a pooled block when large enough, else a plain copy. */
static void batch_buffer(napi_env env, const unsigned char *bytes, size_t length, napi_value *result) {
  void *copy;
  if (length >= POOLED_MIN) {
    int c = pool_class(length);
    void *block;
    uv_once(&pool_once, pool_init);
    block = pool_take(c);
    if (block != NULL) {
      memcpy(block, bytes, length);
      if (napi_create_external_buffer(env, length, block, pool_give, (void *)(intptr_t)c, result) == napi_ok) return;
      pool_give(env, block, (void *)(intptr_t)c); /* external buffers not allowed here: copy as below */
    }
  }
  napi_create_buffer_copy(env, length, bytes, &copy, result);
}

static void read_batch(tun_t *t) {
  size_t used = 0;
  int count = 0, error = 0;
  while (count < MAX_BATCH && t->slab_size - used >= MAX_FRAME) {
    ssize_t n = read(t->fd, t->slab + used, t->slab_size - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) error = errno;
      break;
    }
    used += (size_t)n;
    t->ends[count++] = (int32_t)used;
  }
  /* Whatever is left (a full batch) wakes us again on the next turn: uv_poll is level-triggered. */
  if (count > 0) {
    napi_value argv[2];
    if (t->own_slab) batch_buffer(t->env, t->slab, used, &argv[0]);
    else napi_get_reference_value(t->env, t->refs[REF_BATCH], &argv[0]);
    napi_create_int32(t->env, count, &argv[1]);
    call_js(t, REF_ON_PACKETS, 2, argv);
  }
  if (error && !t->closed) report_read_error(t, error);
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  tun_t *t = handle->data;
  napi_handle_scope scope;
  if (t->closed) return;
  napi_open_handle_scope(t->env, &scope);
  if (status < 0) {
    report_read_error(t, -status); /* libuv statuses are negative errnos */
  } else {
    if (events & UV_READABLE) read_batch(t);
    if ((events & UV_WRITABLE) && !t->closed && (t->events & UV_WRITABLE)) {
      /* One notification per request: JS asks again if its queue still does not fit. */
      t->events &= ~UV_WRITABLE;
      uv_poll_start(&t->poll, t->events, on_poll);
      call_js(t, REF_ON_WRITABLE, 0, NULL);
    }
  }
  napi_close_handle_scope(t->env, scope);
}

/* Reads the arguments of a call that starts with a handle; throws and returns NULL if bad. */
static tun_t *tun_args(napi_env env, napi_callback_info info, size_t expected, napi_value *argv) {
  size_t argc = expected;
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < expected ||
      napi_get_value_external(env, argv[0], &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, "expected a TUN handle from open() and the call's other arguments");
    return NULL;
  }
  return data;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 4, name_length = 0;
  napi_value argv[4], result, handle, name_value;
  char name[IFNAMSIZ] = {0};
  bool tap = false, multi_queue = false, offload = false;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &name_length) != napi_ok ||
      napi_get_value_bool(env, argv[1], &tap) != napi_ok || napi_get_value_bool(env, argv[2], &multi_queue) != napi_ok ||
      napi_get_value_bool(env, argv[3], &offload) != napi_ok) {
    napi_throw_type_error(env, NULL, "open(name: string, tap: boolean, multiQueue: boolean, offload: boolean)");
    return NULL;
  }
  /* O_CLOEXEC: children (ip, ping…) must not inherit the fd, or the device outlives close(). */
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == EACCES || err == EPERM) return throw_errno(env, err, "open /dev/net/tun", "run as root or give the process CAP_NET_ADMIN");
    if (err == ENOENT || err == ENODEV || err == ENXIO)
      return throw_errno(env, err, "open /dev/net/tun", "the TUN/TAP driver is missing: load it (modprobe tun) or create the node (mknod /dev/net/tun c 10 200)");
    return throw_errno(env, err, "open /dev/net/tun", NULL);
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = (tap ? IFF_TAP : IFF_TUN) | IFF_NO_PI | (multi_queue ? IFF_MULTI_QUEUE : 0) | (offload ? IFF_VNET_HDR : 0);
  memcpy(ifr.ifr_name, name, name_length); /* an empty name lets the kernel pick tunN / tapN */
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    const char *advice = NULL;
    close(fd);
    if (err == EPERM || err == EACCES) advice = "run as root or give the process CAP_NET_ADMIN";
    if (err == EBUSY) advice = "the name is taken by a device another open fd holds (this process or another): pick another name, or none to let the kernel choose";
    if (err == EINVAL) advice = "the name belongs to a device of another kind, or one opened with other flags (TUN/TAP, multi-queue)";
    return throw_errno(env, err, "ioctl TUNSETIFF", advice);
  }
  /* The kernel may then hand us (and take from us) TCP segments up to 64 KiB with a partial
   * checksum: the 10-byte virtio_net_hdr says how to finish or cut them. */
  int header_size = 10;
  if (offload && (ioctl(fd, TUNSETVNETHDRSZ, &header_size) < 0 || ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4) < 0)) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "ioctl TUNSETOFFLOAD", "this kernel's TUN driver does not take offloads: open the device without them");
  }
  tun_t *t = calloc(1, sizeof *t);
  unsigned char *slab = malloc(SLAB_SIZE);
  if (t == NULL || slab == NULL) {
    free(t);
    free(slab);
    close(fd);
    return throw_errno(env, ENOMEM, "malloc", NULL);
  }
  t->env = env;
  t->fd = fd;
  t->slab = slab;
  t->slab_size = SLAB_SIZE;
  t->own_slab = 1;
  memcpy(t->name, ifr.ifr_name, IFNAMSIZ - 1);
  if (napi_create_external(env, t, finalize, NULL, &handle) != napi_ok) {
    close(fd);
    free(slab);
    free(t);
    napi_throw_error(env, NULL, "napi_create_external failed");
    return NULL;
  }
  napi_add_env_cleanup_hook(env, cleanup_hook, t);
  napi_create_string_utf8(env, t->name, NAPI_AUTO_LENGTH, &name_value);
  napi_create_object(env, &result);
  napi_set_named_property(env, result, "handle", handle);
  napi_set_named_property(env, result, "name", name_value);
  return result;
}

static napi_value js_start(napi_env env, napi_callback_info info) {
  napi_value argv[5], resource_name;
  napi_valuetype batch_type;
  napi_typedarray_type type;
  size_t length, argc = 5, batch_length = 0;
  void *data, *batch = NULL;
  uv_loop_t *loop;
  tun_t *t = tun_args(env, info, 4, argv);
  if (t == NULL) return NULL;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL); /* argv[4]: undefined when not given */
  if (napi_typeof(env, argv[4], &batch_type) == napi_ok && batch_type != napi_undefined &&
      (napi_get_typedarray_info(env, argv[4], &type, &batch_length, &batch, NULL, NULL) != napi_ok || type != napi_uint8_array ||
       batch_length < MAX_FRAME)) {
    napi_throw_type_error(env, NULL, "start(handle, onPackets, onWritable, ends, batch?: Uint8Array of at least 65600 bytes)");
    return NULL;
  }
  if (t->closed || t->polling) {
    napi_throw_error(env, NULL, t->closed ? "the TUN device is closed" : "the TUN device is already started");
    return NULL;
  }
  if (napi_get_typedarray_info(env, argv[3], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_int32_array || length < MAX_BATCH) {
    napi_throw_type_error(env, NULL, "start(handle, onPackets, onWritable, ends: Int32Array(maxBatch))");
    return NULL;
  }
  napi_get_uv_event_loop(env, &loop);
  int status = uv_poll_init(loop, &t->poll, t->fd);
  if (status < 0) return throw_errno(env, -status, "uv_poll_init", NULL);
  t->poll.data = t;
  t->polling = 1;
  t->ends = data;
  for (int i = 0; i < REF_COUNT; i++)
    if (i != REF_BATCH || batch != NULL) napi_create_reference(env, argv[i], 1, &t->refs[i]);
  if (batch != NULL) {
    /* The reference keeps the memory alive (and where it is) while we poll. */
    free(t->slab);
    t->slab = batch;
    t->slab_size = batch_length;
    t->own_slab = 0;
  }
  napi_create_string_utf8(env, "ustack:tun", NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(env, NULL, resource_name, &t->async);
  t->events = UV_READABLE;
  status = uv_poll_start(&t->poll, t->events, on_poll);
  if (status < 0) return throw_errno(env, -status, "uv_poll_start", NULL);
  return NULL;
}

static napi_value js_write(napi_env env, napi_callback_info info) {
  napi_value argv[3], result;
  napi_typedarray_type types[2];
  struct iovec parts[2];
  ssize_t n = -EBADF;
  tun_t *t = tun_args(env, info, 3, argv);
  if (t == NULL) return NULL;
  for (int i = 0; i < 2; i++) {
    if (napi_get_typedarray_info(env, argv[i + 1], &types[i], &parts[i].iov_len, &parts[i].iov_base, NULL, NULL) != napi_ok || types[i] != napi_uint8_array) {
      napi_throw_type_error(env, NULL, "write(handle, header: Uint8Array, packet: Uint8Array)");
      return NULL;
    }
  }
  if (!t->closed) {
    do n = writev(t->fd, parts, 2);
    while (n < 0 && errno == EINTR);
    if (n < 0) n = -errno;
  }
  napi_create_int32(env, (int32_t)n, &result);
  return result;
}

static napi_value js_want_writable(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  bool yes = false;
  tun_t *t = tun_args(env, info, 2, argv);
  if (t == NULL || napi_get_value_bool(env, argv[1], &yes) != napi_ok || t->closed || !t->polling) return NULL;
  int events = yes ? (t->events | UV_WRITABLE) : (t->events & ~UV_WRITABLE);
  if (events != t->events) {
    t->events = events;
    if (events == 0) uv_poll_stop(&t->poll);
    else uv_poll_start(&t->poll, events, on_poll);
  }
  return NULL;
}

static napi_value js_set_ref(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  bool yes = true;
  tun_t *t = tun_args(env, info, 2, argv);
  if (t == NULL || napi_get_value_bool(env, argv[1], &yes) != napi_ok || t->closed || !t->polling) return NULL;
  if (yes) uv_ref((uv_handle_t *)&t->poll);
  else uv_unref((uv_handle_t *)&t->poll);
  return NULL;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  tun_t *t = tun_args(env, info, 1, argv);
  if (t != NULL) shutdown_tun(t);
  return NULL;
}

/* One eBPF instruction (struct bpf_insn) with its registers. */
static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  struct bpf_insn i = {.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
  return i;
}

static napi_value js_steer_by_ports(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t l2 = 0;
  tun_t *t = tun_args(env, info, 2, argv);
  if (t == NULL) return NULL;
  if (napi_get_value_int32(env, argv[1], &l2) != napi_ok || l2 < 0 || l2 > 64) {
    napi_throw_type_error(env, NULL, "steerByPorts(handle, linkHeaderLength: 0 to 64)");
    return NULL;
  }
  /* A socket filter run on each packet the kernel sends through the device; its return value
   * mod the number of queues picks the queue (tun_ebpf_select_queue). Loads are big-endian
   * reads relative to the packet's first byte (LD_ABS/LD_IND; r6 must hold the context). */
  enum { LDB = BPF_LD | BPF_ABS | BPF_B, LDH = BPF_LD | BPF_ABS | BPF_H, LDIH = BPF_LD | BPF_IND | BPF_H };
  struct bpf_insn program[] = {
      /* 0 */ insn(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0),
      /* 1 */ insn(LDB, 0, 0, 0, l2), /* version and IHL */
      /* 2 */ insn(BPF_ALU64 | BPF_MOV | BPF_X, 7, 0, 0, 0),
      /* 3 */ insn(BPF_ALU64 | BPF_AND | BPF_K, 7, 0, 0, 0xf),
      /* 4 */ insn(BPF_ALU64 | BPF_LSH | BPF_K, 7, 0, 0, 2), /* r7: the IPv4 header's length */
      /* 5 */ insn(BPF_ALU64 | BPF_RSH | BPF_K, 0, 0, 0, 4),
      /* 6 */ insn(BPF_JMP | BPF_JNE | BPF_K, 0, 0, 5, 4), /* not IPv4: to 12 */
      /* 7 */ insn(LDH, 0, 0, 0, l2 + 6),                  /* flags and fragment offset */
      /* 8 */ insn(BPF_ALU64 | BPF_AND | BPF_K, 0, 0, 0, 0x3fff),
      /* 9 */ insn(BPF_JMP | BPF_JNE | BPF_K, 0, 0, 15, 0), /* a fragment (MF or an offset): to 25, queue 0 */
      /* 10 */ insn(LDB, 0, 0, 0, l2 + 9),                 /* protocol */
      /* 11 */ insn(BPF_JMP | BPF_JA, 0, 0, 3, 0),         /* to 15 */
      /* 12 */ insn(BPF_JMP | BPF_JNE | BPF_K, 0, 0, 12, 6), /* not IPv6 either: to 25 */
      /* 13 */ insn(LDB, 0, 0, 0, l2 + 6),                 /* next header */
      /* 14 */ insn(BPF_ALU64 | BPF_MOV | BPF_K, 7, 0, 0, 40),
      /* 15 */ insn(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2, 6),  /* TCP: to 18 */
      /* 16 */ insn(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1, 17), /* UDP: to 18 */
      /* 17 */ insn(BPF_JMP | BPF_JA, 0, 0, 7, 0),         /* to 25 */
      /* 18 */ insn(LDIH, 0, 7, 0, l2),                    /* source port */
      /* 19 */ insn(BPF_ALU64 | BPF_MOV | BPF_X, 8, 0, 0, 0),
      /* 20 */ insn(LDIH, 0, 7, 0, l2 + 2),                /* destination port */
      /* 21 */ insn(BPF_ALU64 | BPF_ADD | BPF_X, 0, 8, 0, 0),
      /* 22 */ insn(BPF_ALU | BPF_MUL | BPF_K, 0, 0, 0, (int32_t)0x9e3779b1), /* mixed: Linux's connect() picks even ports */
      /* 23 */ insn(BPF_ALU | BPF_RSH | BPF_K, 0, 0, 0, 16),
      /* 24 */ insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
      /* 25 */ insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),
      /* 26 */ insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
  };
  char license[] = "GPL";
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  attr.insn_cnt = sizeof program / sizeof program[0];
  attr.insns = (uintptr_t)program;
  attr.license = (uintptr_t)license;
  int prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
  if (prog < 0) return throw_errno(env, errno, "bpf BPF_PROG_LOAD", "the steering program needs CAP_BPF (root) and a kernel with eBPF");
  int status = t->closed ? -1 : ioctl(t->fd, TUNSETSTEERINGEBPF, &prog);
  int err = errno;
  close(prog); /* the device holds its own reference */
  if (status < 0) return throw_errno(env, t->closed ? EBADF : err, "ioctl TUNSETSTEERINGEBPF", NULL);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value max_batch, batch_bytes;
  napi_property_descriptor functions[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"start", NULL, js_start, NULL, NULL, NULL, napi_default, NULL},
      {"write", NULL, js_write, NULL, NULL, NULL, napi_default, NULL},
      {"wantWritable", NULL, js_want_writable, NULL, NULL, NULL, napi_default, NULL},
      {"setRef", NULL, js_set_ref, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"steerByPorts", NULL, js_steer_by_ports, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions);
  napi_create_int32(env, MAX_BATCH, &max_batch);
  napi_set_named_property(env, exports, "maxBatch", max_batch);
  napi_create_int32(env, SLAB_SIZE, &batch_bytes);
  napi_set_named_property(env, exports, "batchBytes", batch_bytes);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
