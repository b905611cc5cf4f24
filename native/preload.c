/*
 * libustack-preload.so: `ustack run` puts this library in LD_PRELOAD so that an unmodified,
 * dynamically linked Linux program's AF_INET sockets are ustack's, not the kernel's.
 *
 * Each AF_INET socket the program makes is a real descriptor: a UNIX stream socket connected to
 * the `ustack run` process (the path in USTACK_RUN_SOCKET), which bridges it to a TCP or UDP
 * socket of its stack (src/run/). So poll, select, epoll, blocking reads in threads, fork and
 * SO_RCVTIMEO work on it as on any socket, without being emulated here. The calls that are not
 * data — bind, listen, accept, connect, getsockname, setsockopt... — go as small requests over a
 * control connection (one per thread, so a thread blocked in connect() holds up no other), and
 * return Linux's errno. All protocol work stays in TypeScript; this file only carries calls.
 *
 * TCP data is the stream itself. UDP (and SOCK_RAW, whose datagrams are IP packets) keeps
 * datagram boundaries and addresses with a 12-byte header before each datagram (length, IPv4
 * address, port), which the calls here add and remove.
 * Everything that is not AF_INET (AF_UNIX, AF_NETLINK, AF_INET6...) goes to the kernel untouched,
 * except AF_INET6, which fails with EAFNOSUPPORT (see docs/run.md) so that no program silently
 * runs on the kernel's IPv6 stack.
 *
 * The protocol (little-endian, as the host): src/run/protocol.ts is the other half.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <unistd.h>

/* ---- the protocol (src/run/protocol.ts) ------------------------------------------------- */

enum { HELLO_CONTROL = 1, HELLO_DATA = 2 };
enum {
  OP_SOCKET = 1,
  OP_BIND = 2,
  OP_LISTEN = 3,
  OP_ACCEPT = 4,
  OP_CONNECT = 5,
  OP_GETSOCKNAME = 6,
  OP_GETPEERNAME = 7,
  OP_SETSOCKOPT = 8,
  OP_GETSOCKOPT = 9,
  OP_SHUTDOWN = 10,
  OP_STATUS = 11,
  OP_RESOLVE = 12,
  OP_HOSTNAME = 13,
  OP_REPORT = 14,
};

struct hello {
  uint32_t kind;
  int32_t id;
};

struct request {
  uint32_t op;
  int32_t id;
  int32_t a, b, c;
  uint32_t addr; /* network byte order, as in sockaddr_in */
  uint16_t port; /* host byte order */
  uint16_t pad;
  uint32_t len; /* bytes of payload after this header */
};

struct response {
  int32_t result;
  int32_t error; /* a Linux errno, 0 on success */
  int32_t a;
  uint32_t addr;
  uint16_t port;
  uint16_t pad;
  uint32_t len;
};

/* Before each UDP datagram on a data connection, both ways. */
struct datagram_header {
  uint32_t len;
  uint32_t addr;
  uint16_t port;
  uint16_t pad;
};

#define MAX_DATAGRAM 65507
#define MAX_FD 65536

/* ---- what the program's descriptors are ------------------------------------------------ */

enum { KIND_NONE = 0, KIND_TCP = 1, KIND_UDP = 2 };

struct entry {
  int kind;
  int type;             /* SOCK_STREAM, SOCK_DGRAM or SOCK_RAW: raw sockets travel as datagrams */
  int id;               /* the socket's descriptor inside the ustack process */
  int listening;
  int udp_connected;
  int connecting;       /* a non-blocking connect's filler still sits in the send buffer */
  int saved_sndbuf;     /* SO_SNDBUF before the filler shrank it */
  pthread_mutex_t read_lock; /* one framed UDP read at a time */
};

static struct entry table[MAX_FD];
static char control_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static char hostname_override[256];
static int enabled;
static __thread int control_fd = -1;
static __thread pid_t control_pid;
static unsigned char is_control[MAX_FD];

/* The libc functions this library stands in front of. */
static int (*real_socket)(int, int, int);
static int (*real_bind)(int, const struct sockaddr *, socklen_t);
static int (*real_listen)(int, int);
static int (*real_accept4)(int, struct sockaddr *, socklen_t *, int);
static int (*real_connect)(int, const struct sockaddr *, socklen_t);
static int (*real_close)(int);
static int (*real_shutdown)(int, int);
static int (*real_getsockname)(int, struct sockaddr *, socklen_t *);
static int (*real_getpeername)(int, struct sockaddr *, socklen_t *);
static int (*real_setsockopt)(int, int, int, const void *, socklen_t);
static int (*real_getsockopt)(int, int, int, void *, socklen_t *);
static ssize_t (*real_send)(int, const void *, size_t, int);
static ssize_t (*real_sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
static ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
static ssize_t (*real_recv)(int, void *, size_t, int);
static ssize_t (*real_recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
static ssize_t (*real_recvmsg)(int, struct msghdr *, int);
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_readv)(int, const struct iovec *, int);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static int (*real_dup)(int);
static int (*real_dup2)(int, int);
static int (*real_dup3)(int, int, int);
static int (*real_fcntl)(int, int, ...);
static int (*real_ioctl)(int, unsigned long, ...);
static int (*real_gethostname)(char *, size_t);
static int (*real_getaddrinfo)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
static long (*real_syscall)(long, ...);

#define LOAD(name) real_##name = dlsym(RTLD_NEXT, #name)

static void child_after_fork(void) {
  /* The control connection belongs to the parent's thread: the child opens its own. */
  if (control_fd >= 0) {
    is_control[control_fd] = 0;
    real_close(control_fd);
  }
  control_fd = -1;
}

__attribute__((constructor)) static void init(void) {
  LOAD(socket); LOAD(bind); LOAD(listen); LOAD(accept4); LOAD(connect); LOAD(close); LOAD(shutdown);
  LOAD(getsockname); LOAD(getpeername); LOAD(setsockopt); LOAD(getsockopt); LOAD(send); LOAD(sendto);
  LOAD(sendmsg); LOAD(recv); LOAD(recvfrom); LOAD(recvmsg); LOAD(read); LOAD(write); LOAD(readv);
  LOAD(writev); LOAD(dup); LOAD(dup2); LOAD(dup3); LOAD(fcntl); LOAD(ioctl); LOAD(gethostname);
  LOAD(getaddrinfo); LOAD(syscall);
  for (int fd = 0; fd < MAX_FD; fd++) pthread_mutex_init(&table[fd].read_lock, NULL);
  const char *path = getenv("USTACK_RUN_SOCKET");
  if (path && strlen(path) < sizeof control_path) {
    strcpy(control_path, path);
    enabled = 1;
  }
  const char *name = getenv("USTACK_HOSTNAME");
  if (name && strlen(name) < sizeof hostname_override) strcpy(hostname_override, name);
  pthread_atfork(NULL, NULL, child_after_fork);
}

static struct entry *lookup(int fd) {
  if (fd < 0 || fd >= MAX_FD || table[fd].kind == KIND_NONE) return NULL;
  return &table[fd];
}

static void forget(int fd) {
  if (fd >= 0 && fd < MAX_FD) {
    struct entry *e = &table[fd];
    e->kind = KIND_NONE;
    e->id = 0;
    e->listening = e->udp_connected = e->connecting = 0;
  }
}

static void copy_entry(int from, int to) {
  if (to < 0 || to >= MAX_FD) return;
  struct entry *e = lookup(from);
  if (!e) {
    forget(to);
    return;
  }
  table[to].kind = e->kind;
  table[to].type = e->type;
  table[to].id = e->id;
  table[to].listening = e->listening;
  table[to].udp_connected = e->udp_connected;
  table[to].connecting = e->connecting;
  table[to].saved_sndbuf = e->saved_sndbuf;
}

/* ---- talking to the ustack process ------------------------------------------------------ */

static int write_all(int fd, const void *buffer, size_t length) {
  const char *p = buffer;
  while (length > 0) {
    ssize_t n = real_send(fd, p, length, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      struct pollfd pfd = {fd, POLLOUT, 0};
      poll(&pfd, 1, -1);
      continue;
    }
    if (n <= 0) return -1;
    p += n;
    length -= (size_t)n;
  }
  return 0;
}

/* Reads exactly `length` bytes, waiting for them even on a non-blocking descriptor. */
static int read_all(int fd, void *buffer, size_t length) {
  char *p = buffer;
  while (length > 0) {
    ssize_t n = real_recv(fd, p, length, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      struct pollfd pfd = {fd, POLLIN, 0};
      poll(&pfd, 1, -1);
      continue;
    }
    if (n <= 0) return -1;
    p += n;
    length -= (size_t)n;
  }
  return 0;
}

/* A new connection to the ustack process, announcing what it is. */
static int open_channel(uint32_t kind, int32_t id, int flags) {
  int fd = real_socket(AF_UNIX, SOCK_STREAM | (flags & SOCK_CLOEXEC), 0);
  if (fd < 0) return -1;
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  strcpy(address.sun_path, control_path);
  struct hello hello = {kind, id};
  if (real_connect(fd, (struct sockaddr *)&address, sizeof address) < 0 || write_all(fd, &hello, sizeof hello) < 0) {
    int saved = errno;
    real_close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

static void die(const char *what) {
  char line[256];
  int n = snprintf(line, sizeof line, "ustack run: lost the ustack process (%s: %s); the program cannot go on\n", what, strerror(errno));
  real_write(2, line, (size_t)n);
  _exit(70);
}

/* One request and its response; `out` receives up to `out_len` payload bytes. */
static struct response call(uint32_t op, int32_t id, int32_t a, int32_t b, int32_t c, uint32_t addr, uint16_t port, const void *payload,
                            uint32_t len, void *out, uint32_t out_len) {
  if (control_fd < 0 || control_pid != getpid()) {
    if (control_fd >= 0 && control_pid != getpid()) {
      is_control[control_fd] = 0;
      real_close(control_fd);
    }
    int fd = open_channel(HELLO_CONTROL, (int32_t)getpid(), SOCK_CLOEXEC);
    if (fd < 0) die("connect to its socket");
    /* Out of the way of the numbers a program expects to get next. */
    int high = real_fcntl(fd, F_DUPFD_CLOEXEC, 1000);
    if (high >= 0) {
      real_close(fd);
      fd = high;
    }
    if (fd < MAX_FD) is_control[fd] = 1;
    control_fd = fd;
    control_pid = getpid();
  }
  struct request request = {op, id, a, b, c, addr, port, 0, len};
  struct response response;
  if (write_all(control_fd, &request, sizeof request) < 0 || (len && write_all(control_fd, payload, len) < 0)) die("send a request");
  if (read_all(control_fd, &response, sizeof response) < 0) die("read a response");
  uint32_t keep = response.len < out_len ? response.len : out_len;
  if (keep && read_all(control_fd, out, keep) < 0) die("read a response");
  for (uint32_t left = response.len - keep; left > 0;) {
    char sink[256];
    uint32_t n = left < sizeof sink ? left : sizeof sink;
    if (read_all(control_fd, sink, n) < 0) die("read a response");
    left -= n;
  }
  return response;
}

static int fail(int error) {
  errno = error;
  return -1;
}

static int is_nonblocking(int fd) {
  int flags = real_fcntl(fd, F_GETFL);
  return flags >= 0 && (flags & O_NONBLOCK);
}

static int get_inet(const struct sockaddr *address, socklen_t length, uint32_t *addr, uint16_t *port) {
  if (!address) return EFAULT;
  if (length < sizeof(struct sockaddr_in)) return EINVAL;
  const struct sockaddr_in *in = (const struct sockaddr_in *)address;
  if (in->sin_family != AF_INET) return in->sin_family == AF_UNSPEC ? 0 : EAFNOSUPPORT;
  *addr = in->sin_addr.s_addr;
  *port = ntohs(in->sin_port);
  return 0;
}

/* Fills a sockaddr_in as the kernel does: cut to the caller's length, the full length reported. */
static void put_inet(struct sockaddr *address, socklen_t *length, uint32_t addr, uint16_t port) {
  if (!address || !length) return;
  struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = addr};
  memcpy(address, &in, *length < sizeof in ? *length : sizeof in);
  *length = sizeof in;
}

/* ---- creation and addresses ------------------------------------------------------------- */

int socket(int domain, int type, int protocol) {
  if (!real_socket) init();
  if (!enabled) return real_socket(domain, type, protocol);
  if (domain == AF_INET6) return fail(EAFNOSUPPORT);
  int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (domain != AF_INET || (base != SOCK_STREAM && base != SOCK_DGRAM && base != SOCK_RAW)) return real_socket(domain, type, protocol);
  struct response r = call(OP_SOCKET, 0, base, protocol, 0, 0, 0, NULL, 0, NULL, 0);
  if (r.error) return fail(r.error);
  int fd = open_channel(HELLO_DATA, r.result, type);
  if (fd < 0) die("open a socket's connection");
  if (fd >= MAX_FD) {
    real_close(fd);
    return fail(EMFILE);
  }
  if (type & SOCK_NONBLOCK) real_fcntl(fd, F_SETFL, real_fcntl(fd, F_GETFL) | O_NONBLOCK);
  forget(fd);
  table[fd].kind = base == SOCK_STREAM ? KIND_TCP : KIND_UDP;
  table[fd].type = base;
  table[fd].id = r.result;
  return fd;
}

int bind(int fd, const struct sockaddr *address, socklen_t length) {
  struct entry *e = lookup(fd);
  if (!e) return real_bind(fd, address, length);
  uint32_t addr = 0;
  uint16_t port = 0;
  int error = get_inet(address, length, &addr, &port);
  if (error) return fail(error);
  struct response r = call(OP_BIND, e->id, 0, 0, 0, addr, port, NULL, 0, NULL, 0);
  return r.error ? fail(r.error) : 0;
}

int listen(int fd, int backlog) {
  struct entry *e = lookup(fd);
  if (!e) return real_listen(fd, backlog);
  struct response r = call(OP_LISTEN, e->id, backlog, 0, 0, 0, 0, NULL, 0, NULL, 0);
  if (r.error) return fail(r.error);
  e->listening = 1;
  return 0;
}

/* A listening socket's connection carries one byte per connection ready to accept, so that
 * poll/select see exactly when accept() will not block. */
int accept4(int fd, struct sockaddr *address, socklen_t *length, int flags) {
  struct entry *e = lookup(fd);
  if (!e) return real_accept4(fd, address, length, flags);
  if (e->kind != KIND_TCP) return fail(EOPNOTSUPP);
  if (!e->listening) return fail(EINVAL);
  if (address && !length) return fail(EFAULT);
  char token;
  ssize_t n = real_recv(fd, &token, 1, 0);
  if (n < 0) return -1; /* EAGAIN when non-blocking, EINTR, SO_RCVTIMEO's EAGAIN */
  if (n == 0) return fail(EINVAL);
  struct response r = call(OP_ACCEPT, e->id, 0, 0, 0, 0, 0, NULL, 0, NULL, 0);
  if (r.error) return fail(r.error);
  int child = open_channel(HELLO_DATA, r.result, flags);
  if (child < 0) die("open an accepted socket's connection");
  if (flags & SOCK_NONBLOCK) real_fcntl(child, F_SETFL, real_fcntl(child, F_GETFL) | O_NONBLOCK);
  forget(child);
  table[child].kind = KIND_TCP;
  table[child].type = SOCK_STREAM;
  table[child].id = r.result;
  put_inet(address, length, r.addr, r.port);
  return child;
}

int accept(int fd, struct sockaddr *address, socklen_t *length) { return accept4(fd, address, length, 0); }

/* The filler of a non-blocking connect is gone (the ustack process drained it when the
 * handshake ended): give the send buffer its size back. */
static void connect_finished(int fd, struct entry *e) {
  if (!e->connecting) return;
  e->connecting = 0;
  real_setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &e->saved_sndbuf, sizeof e->saved_sndbuf);
}

/* Asks whether a non-blocking connect has ended; `a` of the reply: 0 still connecting. */
static void check_connecting(int fd, struct entry *e) {
  if (!e->connecting) return;
  struct response r = call(OP_STATUS, e->id, 0, 0, 0, 0, 0, NULL, 0, NULL, 0);
  if (r.a != 0) connect_finished(fd, e);
}

int connect(int fd, const struct sockaddr *address, socklen_t length) {
  struct entry *e = lookup(fd);
  if (!e) return real_connect(fd, address, length);
  uint32_t addr = 0;
  uint16_t port = 0;
  int error = get_inet(address, length, &addr, &port);
  if (error) return fail(error);
  if (e->kind == KIND_UDP) {
    struct response r = call(OP_CONNECT, e->id, 0, 1, 0, addr, port, NULL, 0, NULL, 0);
    if (r.error) return fail(r.error);
    e->udp_connected = address->sa_family == AF_INET && port != 0;
    return 0;
  }
  if (!is_nonblocking(fd)) {
    struct response r = call(OP_CONNECT, e->id, 0, 1, 0, addr, port, NULL, 0, NULL, 0);
    return r.error ? fail(r.error) : 0;
  }
  /*
   * Non-blocking: the descriptor must not be writable until the handshake ends, or poll and
   * select would report the connection before it exists. A UNIX socket is writable while its
   * send buffer has room, so the buffer is shrunk and filled here; the ustack process reads the
   * filler (and drops it) only when the connection is established or has failed.
   */
  int filler = 0;
  if (!e->connecting && !e->listening) {
    struct response state = call(OP_STATUS, e->id, 1, 0, 0, 0, 0, NULL, 0, NULL, 0);
    if (state.result == 0) { /* not yet connected: the first connect() */
      socklen_t size = sizeof e->saved_sndbuf;
      real_getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &e->saved_sndbuf, &size);
      e->saved_sndbuf /= 2; /* the kernel doubles what it is given */
      int small = 1;
      real_setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
      static const char zeros[4096];
      for (;;) {
        ssize_t n = real_send(fd, zeros, sizeof zeros, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n <= 0) break;
        filler += (int)n;
      }
      e->connecting = 1;
    }
  }
  struct response r = call(OP_CONNECT, e->id, filler, 0, 0, addr, port, NULL, 0, NULL, 0);
  if (r.error == EISCONN || r.error == 0) connect_finished(fd, e);
  if (r.error && r.error != EINPROGRESS && r.error != EALREADY && r.error != EISCONN && e->connecting && filler) {
    /* Refused at once: the ustack process drained the filler already. */
    connect_finished(fd, e);
  }
  return r.error ? fail(r.error) : 0;
}

static int name_call(uint32_t op, int fd, struct sockaddr *address, socklen_t *length) {
  struct entry *e = lookup(fd);
  if (!address || !length) return fail(EFAULT);
  struct response r = call(op, e->id, 0, 0, 0, 0, 0, NULL, 0, NULL, 0);
  if (r.error) return fail(r.error);
  put_inet(address, length, r.addr, r.port);
  return 0;
}

int getsockname(int fd, struct sockaddr *address, socklen_t *length) {
  if (!lookup(fd)) return real_getsockname(fd, address, length);
  return name_call(OP_GETSOCKNAME, fd, address, length);
}

int getpeername(int fd, struct sockaddr *address, socklen_t *length) {
  if (!lookup(fd)) return real_getpeername(fd, address, length);
  return name_call(OP_GETPEERNAME, fd, address, length);
}

/* ---- options ------------------------------------------------------------------------------ */

int setsockopt(int fd, int level, int name, const void *value, socklen_t length) {
  struct entry *e = lookup(fd);
  if (!e) return real_setsockopt(fd, level, name, value, length);
  if (!value && length) return fail(EFAULT);
  if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
    /* The program blocks on this descriptor: its own timeouts are the ones that count. */
    return real_setsockopt(fd, level, name, value, length);
  }
  struct response r = call(OP_SETSOCKOPT, e->id, level, name, 0, 0, 0, value, length, NULL, 0);
  return r.error ? fail(r.error) : 0;
}

int getsockopt(int fd, int level, int name, void *value, socklen_t *length) {
  struct entry *e = lookup(fd);
  if (!e) return real_getsockopt(fd, level, name, value, length);
  if (!value || !length) return fail(EFAULT);
  if (level == SOL_SOCKET) {
    int answer = -1;
    if (name == SO_TYPE) answer = e->type;
    if (name == SO_DOMAIN) answer = AF_INET;
    if (name == SO_PROTOCOL && e->type != SOCK_RAW) answer = e->kind == KIND_TCP ? IPPROTO_TCP : IPPROTO_UDP;
    if (name == SO_ACCEPTCONN) answer = e->listening;
    if (answer >= 0) {
      if (*length < sizeof answer) return fail(EINVAL);
      memcpy(value, &answer, sizeof answer);
      *length = sizeof answer;
      return 0;
    }
    if (name == SO_RCVTIMEO || name == SO_SNDTIMEO) return real_getsockopt(fd, level, name, value, length);
  }
  char out[256];
  struct response r = call(OP_GETSOCKOPT, e->id, level, name, (int32_t)*length, 0, 0, NULL, 0, out, sizeof out);
  if (r.error) return fail(r.error);
  if (level == SOL_SOCKET && name == SO_ERROR && r.a != 0) connect_finished(fd, e);
  uint32_t n = r.len < *length ? r.len : *length;
  memcpy(value, out, n);
  *length = n;
  return 0;
}

int shutdown(int fd, int how) {
  struct entry *e = lookup(fd);
  if (!e) return real_shutdown(fd, how);
  struct response r = call(OP_SHUTDOWN, e->id, how, 0, 0, 0, 0, NULL, 0, NULL, 0);
  if (r.error) return fail(r.error);
  /* The end of the stream is the FIN: it goes after the bytes already written, in order. */
  if (e->kind == KIND_TCP) real_shutdown(fd, how);
  return 0;
}

/* ---- data: UDP datagrams ------------------------------------------------------------------- */

static ssize_t send_datagram(int fd, struct entry *e, const struct iovec *iov, int count, int flags, const struct sockaddr *to,
                             socklen_t to_length) {
  struct datagram_header header = {0, 0, 0, 0};
  if (to) {
    int error = get_inet(to, to_length, &header.addr, &header.port);
    if (error) return fail(error);
  } else if (!e->udp_connected) {
    return fail(EDESTADDRREQ);
  }
  size_t total = 0;
  for (int i = 0; i < count; i++) total += iov[i].iov_len;
  if (total > MAX_DATAGRAM) return fail(EMSGSIZE);
  header.len = (uint32_t)total;
  struct iovec all[1 + 64];
  if (count > 64) return fail(EMSGSIZE);
  all[0].iov_base = &header;
  all[0].iov_len = sizeof header;
  memcpy(all + 1, iov, (size_t)count * sizeof *iov);
  struct msghdr message = {.msg_iov = all, .msg_iovlen = (size_t)count + 1};
  /* A datagram is written whole or not at all: the stream would lose its framing otherwise. */
  ssize_t n = real_sendmsg(fd, &message, MSG_NOSIGNAL | (flags & MSG_DONTWAIT));
  if (n < 0) {
    if (errno == EPIPE) return fail(EPIPE);
    return -1;
  }
  size_t written = (size_t)n;
  size_t want = total + sizeof header;
  while (written < want) {
    /* The rest of a partly written datagram, waiting if need be. */
    size_t skip = written;
    int i = 0;
    while (skip >= all[i].iov_len) skip -= all[i++].iov_len;
    if (write_all(fd, (char *)all[i].iov_base + skip, all[i].iov_len - skip) < 0) return -1;
    written += all[i].iov_len - skip;
    for (i++; i <= count && written < want; i++) {
      if (write_all(fd, all[i].iov_base, all[i].iov_len) < 0) return -1;
      written += all[i].iov_len;
    }
  }
  return (ssize_t)total;
}

/* Reads one datagram into `iov`; returns its length (or the whole length with MSG_TRUNC). */
static ssize_t receive_datagram(int fd, struct entry *e, const struct iovec *iov, int count, int flags, struct sockaddr *from,
                                socklen_t *from_length, int *message_flags) {
  pthread_mutex_lock(&e->read_lock);
  ssize_t result = -1;
  struct datagram_header header;
  char frame[sizeof header + MAX_DATAGRAM];
  int nonblocking = (flags & MSG_DONTWAIT) || is_nonblocking(fd);
  /* Wait (as the program asked) for the first byte; a whole frame follows it at once. */
  ssize_t n = real_recv(fd, &header, 1, MSG_PEEK | (nonblocking ? MSG_DONTWAIT : 0));
  if (n <= 0) {
    if (n == 0) result = 0; /* the ustack process closed the socket */
    goto out;
  }
  if (flags & MSG_PEEK) {
    /* Peek the whole frame without taking it. */
    for (;;) {
      int queued = 0;
      real_ioctl(fd, FIONREAD, &queued);
      if (queued >= (int)sizeof header) {
        real_recv(fd, &header, sizeof header, MSG_PEEK);
        if ((size_t)queued >= sizeof header + header.len) break;
      }
      struct pollfd pfd = {fd, POLLIN, 0};
      poll(&pfd, 1, 10);
    }
    real_recv(fd, frame, sizeof header + header.len, MSG_PEEK);
  } else {
    if (read_all(fd, &header, sizeof header) < 0 || header.len > MAX_DATAGRAM || read_all(fd, frame + sizeof header, header.len) < 0) {
      errno = ECONNRESET;
      goto out;
    }
  }
  size_t copied = 0;
  for (int i = 0; i < count && copied < header.len; i++) {
    size_t take = header.len - copied < iov[i].iov_len ? header.len - copied : iov[i].iov_len;
    memcpy(iov[i].iov_base, frame + sizeof header + copied, take);
    copied += take;
  }
  if (message_flags) *message_flags = copied < header.len ? MSG_TRUNC : 0;
  put_inet(from, from_length, header.addr, header.port);
  result = (flags & MSG_TRUNC) ? (ssize_t)header.len : (ssize_t)copied;
out:
  pthread_mutex_unlock(&e->read_lock);
  return result;
}

/* A TCP read that found the end of the stream: the end may stand for an error (a RST, a
 * timeout), which Linux would report to this read. */
static ssize_t stream_end(struct entry *e) {
  /* 3: the error for a read (none after the peer's FIN, whose end the read sees, as Linux). */
  struct response r = call(OP_STATUS, e->id, 3, 0, 0, 0, 0, NULL, 0, NULL, 0);
  return r.error ? fail(r.error) : 0;
}

static ssize_t stream_write_failed(struct entry *e) {
  int saved = errno;
  if (saved == EPIPE) {
    struct response r = call(OP_STATUS, e->id, 2, 0, 0, 0, 0, NULL, 0, NULL, 0);
    if (r.error && r.error != EPIPE) return fail(r.error);
  }
  return fail(saved);
}

ssize_t send(int fd, const void *buffer, size_t length, int flags) {
  struct entry *e = lookup(fd);
  if (!e) return real_send(fd, buffer, length, flags);
  if (e->kind == KIND_UDP) {
    struct iovec iov = {(void *)buffer, length};
    return send_datagram(fd, e, &iov, 1, flags, NULL, 0);
  }
  check_connecting(fd, e);
  ssize_t n = real_send(fd, buffer, length, flags & (MSG_DONTWAIT | MSG_NOSIGNAL));
  return n < 0 ? stream_write_failed(e) : n;
}

ssize_t sendto(int fd, const void *buffer, size_t length, int flags, const struct sockaddr *to, socklen_t to_length) {
  struct entry *e = lookup(fd);
  if (!e) return real_sendto(fd, buffer, length, flags, to, to_length);
  if (e->kind == KIND_UDP) {
    struct iovec iov = {(void *)buffer, length};
    return send_datagram(fd, e, &iov, 1, flags, to, to_length);
  }
  return send(fd, buffer, length, flags); /* a connected TCP socket ignores the address, as Linux's does */
}

ssize_t sendmsg(int fd, const struct msghdr *message, int flags) {
  struct entry *e = lookup(fd);
  if (!e) return real_sendmsg(fd, message, flags);
  if (e->kind == KIND_UDP) return send_datagram(fd, e, message->msg_iov, (int)message->msg_iovlen, flags, message->msg_name, message->msg_namelen);
  check_connecting(fd, e);
  struct msghdr plain = {.msg_iov = message->msg_iov, .msg_iovlen = message->msg_iovlen};
  ssize_t n = real_sendmsg(fd, &plain, flags & (MSG_DONTWAIT | MSG_NOSIGNAL));
  return n < 0 ? stream_write_failed(e) : n;
}

ssize_t recv(int fd, void *buffer, size_t length, int flags) {
  struct entry *e = lookup(fd);
  if (!e) return real_recv(fd, buffer, length, flags);
  if (e->kind == KIND_UDP) {
    struct iovec iov = {buffer, length};
    return receive_datagram(fd, e, &iov, 1, flags, NULL, NULL, NULL);
  }
  if (e->listening) return fail(ENOTCONN);
  ssize_t n = real_recv(fd, buffer, length, flags & (MSG_DONTWAIT | MSG_PEEK | MSG_WAITALL | MSG_TRUNC));
  return n == 0 && length > 0 ? stream_end(e) : n;
}

ssize_t recvfrom(int fd, void *buffer, size_t length, int flags, struct sockaddr *from, socklen_t *from_length) {
  struct entry *e = lookup(fd);
  if (!e) return real_recvfrom(fd, buffer, length, flags, from, from_length);
  if (e->kind == KIND_UDP) {
    struct iovec iov = {buffer, length};
    return receive_datagram(fd, e, &iov, 1, flags, from, from_length, NULL);
  }
  /* TCP leaves the address alone: Linux's tcp_recvmsg fills no msg_name. */
  if (from_length) *from_length = 0;
  return recv(fd, buffer, length, flags);
}

ssize_t recvmsg(int fd, struct msghdr *message, int flags) {
  struct entry *e = lookup(fd);
  if (!e) return real_recvmsg(fd, message, flags);
  message->msg_controllen = 0;
  if (e->kind == KIND_UDP) {
    int out_flags = 0;
    ssize_t n = receive_datagram(fd, e, message->msg_iov, (int)message->msg_iovlen, flags, message->msg_name,
                                 message->msg_name ? &message->msg_namelen : NULL, &out_flags);
    message->msg_flags = out_flags;
    return n;
  }
  struct msghdr plain = {.msg_iov = message->msg_iov, .msg_iovlen = message->msg_iovlen};
  ssize_t n = real_recvmsg(fd, &plain, flags & (MSG_DONTWAIT | MSG_PEEK | MSG_WAITALL));
  message->msg_namelen = 0;
  message->msg_flags = plain.msg_flags;
  size_t room = 0;
  for (size_t i = 0; i < message->msg_iovlen; i++) room += message->msg_iov[i].iov_len;
  return n == 0 && room > 0 ? stream_end(e) : n;
}

ssize_t read(int fd, void *buffer, size_t length) {
  struct entry *e = lookup(fd);
  if (!e) return real_read(fd, buffer, length);
  return recv(fd, buffer, length, 0);
}

ssize_t write(int fd, const void *buffer, size_t length) {
  struct entry *e = lookup(fd);
  if (!e) return real_write(fd, buffer, length);
  if (e->kind == KIND_UDP) {
    struct iovec iov = {(void *)buffer, length};
    return send_datagram(fd, e, &iov, 1, 0, NULL, 0);
  }
  check_connecting(fd, e);
  ssize_t n = real_write(fd, buffer, length);
  return n < 0 ? stream_write_failed(e) : n;
}

ssize_t readv(int fd, const struct iovec *iov, int count) {
  struct entry *e = lookup(fd);
  if (!e) return real_readv(fd, iov, count);
  struct msghdr message = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)count};
  return recvmsg(fd, &message, 0);
}

ssize_t writev(int fd, const struct iovec *iov, int count) {
  struct entry *e = lookup(fd);
  if (!e) return real_writev(fd, iov, count);
  if (e->kind == KIND_UDP) return send_datagram(fd, e, iov, count, 0, NULL, 0);
  check_connecting(fd, e);
  ssize_t n = real_writev(fd, iov, count);
  return n < 0 ? stream_write_failed(e) : n;
}

/* ---- descriptors --------------------------------------------------------------------------- */

int close(int fd) {
  if (!real_close) init();
  if (fd >= 0 && fd < MAX_FD && is_control[fd]) return 0; /* ours, not the program's: it stays */
  forget(fd);
  /* The socket ends in ustack when the last descriptor of its connection closes (the ustack
   * process reads the end of the stream), so a forked child's copy keeps it open, as on Linux. */
  return real_close(fd);
}

int dup(int fd) {
  int copy = real_dup(fd);
  if (copy >= 0) copy_entry(fd, copy);
  return copy;
}

int dup2(int fd, int target) {
  if (target >= 0 && target < MAX_FD && is_control[target]) return fail(EBUSY);
  int copy = real_dup2(fd, target);
  if (copy >= 0 && copy != fd) copy_entry(fd, copy);
  return copy;
}

int dup3(int fd, int target, int flags) {
  if (target >= 0 && target < MAX_FD && is_control[target]) return fail(EBUSY);
  int copy = real_dup3(fd, target, flags);
  if (copy >= 0) copy_entry(fd, copy);
  return copy;
}

int fcntl(int fd, int command, ...) {
  va_list args;
  va_start(args, command);
  void *argument = va_arg(args, void *);
  va_end(args);
  int result = real_fcntl(fd, command, argument);
  if (result >= 0 && (command == F_DUPFD || command == F_DUPFD_CLOEXEC)) copy_entry(fd, result);
  return result;
}
int fcntl64(int fd, int command, ...) __attribute__((alias("fcntl")));

int ioctl(int fd, unsigned long request, ...) {
  va_list args;
  va_start(args, request);
  void *argument = va_arg(args, void *);
  va_end(args);
  struct entry *e = lookup(fd);
  if (e && e->kind == KIND_UDP && request == FIONREAD) {
    /* The size of the next datagram, as Linux's udp_ioctl reports. */
    int queued = 0;
    real_ioctl(fd, FIONREAD, &queued);
    int next = 0;
    if (queued >= (int)sizeof(struct datagram_header)) {
      struct datagram_header header;
      real_recv(fd, &header, sizeof header, MSG_PEEK | MSG_DONTWAIT);
      next = (int)header.len;
    }
    *(int *)argument = next;
    return 0;
  }
  return real_ioctl(fd, request, argument);
}

/* ---- names -------------------------------------------------------------------------------- */

int gethostname(char *name, size_t length) {
  if (!real_gethostname) init();
  if (!enabled || !hostname_override[0]) return real_gethostname(name, length);
  size_t n = strlen(hostname_override);
  if (n + 1 > length) return fail(ENAMETOOLONG);
  memcpy(name, hostname_override, n + 1);
  return 0;
}

/* Names the ustack process knows (this host's name, the members of its virtual network)
 * resolve to ustack's addresses; every other name goes to libc as before. */
int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **result) {
  if (!real_getaddrinfo) init();
  struct in_addr numeric;
  if (!enabled || !node || inet_aton(node, &numeric) || strchr(node, ':')) return real_getaddrinfo(node, service, hints, result);
  if (hints && hints->ai_family != AF_UNSPEC && hints->ai_family != AF_INET) return real_getaddrinfo(node, service, hints, result);
  struct response r = call(OP_RESOLVE, 0, 0, 0, 0, 0, 0, node, (uint32_t)strlen(node), NULL, 0);
  if (r.error) return real_getaddrinfo(node, service, hints, result);
  /* The port, through libc with the numeric address (it knows the services database). */
  char text[INET_ADDRSTRLEN];
  struct in_addr found = {r.addr};
  inet_ntop(AF_INET, &found, text, sizeof text);
  struct addrinfo numeric_hints = {0};
  if (hints) numeric_hints = *hints;
  numeric_hints.ai_family = AF_INET;
  numeric_hints.ai_flags = (numeric_hints.ai_flags & ~AI_CANONNAME) | AI_NUMERICHOST;
  int status = real_getaddrinfo(text, service, &numeric_hints, result);
  if (status == 0 && hints && (hints->ai_flags & AI_CANONNAME) && *result) (*result)->ai_canonname = strdup(node);
  return status;
}

/* io_uring would move socket calls past this library, onto the kernel's stack: refuse it in
 * one line (programs fall back to plain calls when io_uring_setup fails). */
long syscall(long number, ...) {
  va_list args;
  va_start(args, number);
  long a1 = va_arg(args, long), a2 = va_arg(args, long), a3 = va_arg(args, long);
  long a4 = va_arg(args, long), a5 = va_arg(args, long), a6 = va_arg(args, long);
  va_end(args);
  if (!real_syscall) init();
#ifdef SYS_io_uring_setup
  if (enabled && number == SYS_io_uring_setup) {
    static int said;
    if (!said++) {
      static const char line[] = "ustack run: the program asked for io_uring, which ustack cannot serve; refused (ENOSYS)\n";
      real_write(2, line, sizeof line - 1);
    }
    return fail(ENOSYS);
  }
#endif
  return real_syscall(number, a1, a2, a3, a4, a5, a6);
}
