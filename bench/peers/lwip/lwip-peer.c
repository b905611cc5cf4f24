/*
 * lwip-peer: lwIP (Debian's liblwip-dev, 2.1.3) on a Linux TUN device, serving
 * three TCP benchmark services: 5001 sink, 5002 source, 5003 echo.
 *
 *   lwip-peer --tun NAME --addr A.B.C.D --mtu N
 *
 * Debian builds lwIP with NO_SYS=0 (tcpip thread, sockets, core locking).  We
 * do not start the tcpip thread: lwip_init() alone sets the core up, and this
 * single thread then owns it, driving it like a NO_SYS=1 system: one poll()
 * loop reads packets from the TUN fd into ip4_input(), runs the raw TCP API
 * callbacks and calls sys_check_timeouts().  The unix port's core-lock check
 * only fires once a tcpip thread exists, so none is ever needed.
 *
 * The netif driver is our own (not contrib's tunif/tapif): lwIP's output
 * callback writes each IPv4 packet to the fd.  TUN writes practically never
 * return EAGAIN; if one does (or fails otherwise) the packet is dropped, as a
 * NIC with a full TX ring would, and TCP retransmits it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <linux/if_tun.h>

#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/ip4.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"

static int tun_fd = -1;
static struct netif tun_netif;
static volatile sig_atomic_t stop;
static unsigned long tx_dropped;
static const u8_t zeros[16384]; /* payload of the source service */

static void die(const char *what) { fprintf(stderr, "lwip-peer: %s\n", what); exit(1); }
static void die_errno(const char *what) { fprintf(stderr, "lwip-peer: %s: %s\n", what, strerror(errno)); exit(1); }
static void on_signal(int sig) { (void)sig; stop = 1; }

/* ---- netif driver ---------------------------------------------------- */

/* lwIP -> kernel: one packet per write (a pbuf chain goes out with writev). */
static err_t tun_output(struct netif *nif, struct pbuf *p, const ip4_addr_t *dst)
{
  (void)nif; (void)dst;
  struct iovec iov[16];
  int n = 0;
  for (struct pbuf *q = p; q != NULL && n < 16; q = q->next) {
    iov[n].iov_base = q->payload;
    iov[n].iov_len = q->len;
    n++;
  }
  if (writev(tun_fd, iov, n) != (ssize_t)p->tot_len) tx_dropped++; /* drop like a NIC */
  return ERR_OK;
}

static err_t tun_netif_init(struct netif *nif)
{
  nif->name[0] = 't';
  nif->name[1] = 'n';
  nif->output = tun_output;
  nif->flags = 0; /* point-to-point IP device: no ARP, no broadcast */
  return ERR_OK;
}

/* kernel -> lwIP: read every packet that is waiting (at most 256 per wake-up). */
static void tun_input(u8_t *buf, size_t bufsize)
{
  for (int i = 0; i < 256; i++) {
    ssize_t n = read(tun_fd, buf, bufsize);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      die_errno("read from TUN device");
    }
    if (n < 20 || (buf[0] >> 4) != 4) continue; /* IPv4 only */
    struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)n, PBUF_RAM);
    if (p == NULL) continue; /* out of memory: drop */
    pbuf_take(p, buf, (u16_t)n);
    ip4_input(p, &tun_netif); /* lwIP frees p */
  }
}

/* ---- TCP services ---------------------------------------------------- */

enum service { SINK = 5001, SOURCE = 5002, ECHO = 5003 };

struct conn {
  enum service svc;
  u8_t hdr[8];          /* source: the 8-byte big-endian request */
  unsigned hdr_len;
  int sending;          /* source: the request is complete */
  u64_t remaining;      /* source: bytes still to queue */
  struct pbuf *pending; /* echo: bytes read but not yet queued for sending */
  int eof;              /* the peer sent FIN */
};

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err);
static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len);
static err_t on_poll(void *arg, struct tcp_pcb *pcb);
static void on_err(void *arg, err_t err);

/* c == NULL detaches us: lwIP's default receiver then discards late data. */
static void set_callbacks(struct tcp_pcb *pcb, struct conn *c)
{
  tcp_arg(pcb, c);
  tcp_recv(pcb, c ? on_recv : NULL);
  tcp_sent(pcb, c ? on_sent : NULL);
  tcp_err(pcb, c ? on_err : NULL);
  tcp_poll(pcb, c ? on_poll : NULL, 4);
}

/* Graceful close (queued data still goes out, then FIN).  On ERR_MEM we stay
 * attached and the next sent/poll callback calls conn_pump, which retries. */
static void conn_close(struct tcp_pcb *pcb, struct conn *c)
{
  set_callbacks(pcb, NULL);
  if (tcp_close(pcb) != ERR_OK) {
    set_callbacks(pcb, c);
    return;
  }
  if (c->pending) pbuf_free(c->pending);
  free(c);
}

/* Queue as much as the send buffer takes; close when the work is done. */
static void conn_pump(struct tcp_pcb *pcb, struct conn *c)
{
  if (c->svc == SOURCE) {
    if (!c->sending) return;
    while (c->remaining > 0) {
      u32_t room = tcp_sndbuf(pcb);
      if (room == 0 || tcp_sndqueuelen(pcb) >= TCP_SND_QUEUELEN) break;
      u32_t n = room < sizeof zeros ? room : sizeof zeros;
      if (n > c->remaining) n = (u32_t)c->remaining;
      u8_t flags = c->remaining > n ? TCP_WRITE_FLAG_MORE : 0;
      if (tcp_write(pcb, zeros, (u16_t)n, flags) != ERR_OK) break;
      c->remaining -= n;
    }
    tcp_output(pcb);
    if (c->remaining == 0) conn_close(pcb, c);
  } else if (c->svc == ECHO) {
    while (c->pending != NULL) {
      u32_t room = tcp_sndbuf(pcb);
      u16_t n = c->pending->len < room ? c->pending->len : (u16_t)room;
      if (n == 0 || tcp_write(pcb, c->pending->payload, n, TCP_WRITE_FLAG_COPY) != ERR_OK) break;
      c->pending = pbuf_free_header(c->pending, n);
      tcp_recved(pcb, n); /* open the window only for what we took */
    }
    tcp_output(pcb);
    if (c->eof && c->pending == NULL) conn_close(pcb, c);
  } else if (c->eof) { /* sink */
    conn_close(pcb, c);
  }
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
  struct conn *c = arg;
  (void)err;
  if (p == NULL) { /* FIN: sink closes now, echo once drained, source once sent */
    c->eof = 1;
    if (c->svc == SOURCE && !c->sending) conn_close(pcb, c);
    else conn_pump(pcb, c);
    return ERR_OK;
  }
  if (c->svc == ECHO) {
    if (c->pending) pbuf_cat(c->pending, p); else c->pending = p;
    conn_pump(pcb, c);
    return ERR_OK;
  }
  if (c->svc == SOURCE && !c->sending) {
    u16_t take = (u16_t)LWIP_MIN(p->tot_len, 8 - c->hdr_len);
    pbuf_copy_partial(p, c->hdr + c->hdr_len, take, 0);
    c->hdr_len += take;
    if (c->hdr_len == 8) {
      for (int i = 0; i < 8; i++) c->remaining = (c->remaining << 8) | c->hdr[i];
      c->sending = 1;
    }
  }
  tcp_recved(pcb, p->tot_len); /* sink (and any extra source bytes): discard */
  pbuf_free(p);
  if (c->svc == SOURCE) conn_pump(pcb, c);
  return ERR_OK;
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
  (void)len;
  conn_pump(pcb, arg);
  return ERR_OK;
}

/* Every 2 s: retry a close that failed for lack of memory, or stalled output. */
static err_t on_poll(void *arg, struct tcp_pcb *pcb)
{
  conn_pump(pcb, arg);
  return ERR_OK;
}

static void on_err(void *arg, err_t err) /* the pcb is already gone */
{
  struct conn *c = arg;
  (void)err;
  if (c->pending) pbuf_free(c->pending);
  free(c);
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
  if (err != ERR_OK || pcb == NULL) return ERR_VAL;
  struct conn *c = calloc(1, sizeof *c);
  if (c == NULL) { tcp_abort(pcb); return ERR_ABRT; }
  c->svc = (enum service)(uintptr_t)arg;
  set_callbacks(pcb, c);
  if (c->svc == ECHO) tcp_nagle_disable(pcb);
  return ERR_OK;
}

static void listen_on(const ip4_addr_t *addr, enum service svc)
{
  struct tcp_pcb *pcb = tcp_new();
  if (pcb == NULL) die("tcp_new failed");
  ip_addr_t a;
  ip_addr_copy_from_ip4(a, *addr);
  if (tcp_bind(pcb, &a, (u16_t)svc) != ERR_OK) die("tcp_bind failed");
  pcb = tcp_listen_with_backlog(pcb, 255);
  if (pcb == NULL) die("tcp_listen failed");
  tcp_arg(pcb, (void *)(uintptr_t)svc);
  tcp_accept(pcb, on_accept);
}

/* ---- main ------------------------------------------------------------ */

static void usage(void) { die("usage: lwip-peer --tun NAME --addr A.B.C.D --mtu N"); }

int main(int argc, char **argv)
{
  const char *name = NULL, *addr_s = NULL, *mtu_s = NULL;
  if (argc != 7) usage();
  for (int i = 1; i < argc; i += 2) {
    if (!strcmp(argv[i], "--tun")) name = argv[i + 1];
    else if (!strcmp(argv[i], "--addr")) addr_s = argv[i + 1];
    else if (!strcmp(argv[i], "--mtu")) mtu_s = argv[i + 1];
    else usage();
  }
  if (!name || !addr_s || !mtu_s) usage();
  char *end;
  long mtu = strtol(mtu_s, &end, 10);
  if (*end != '\0' || mtu < 576 || mtu > 65535) die("--mtu must be a number from 576 to 65535");
  if (strlen(name) == 0 || strlen(name) >= IFNAMSIZ) die("--tun name is empty or too long");
  struct in_addr in;
  if (inet_pton(AF_INET, addr_s, &in) != 1) die("--addr is not an IPv4 address A.B.C.D");
  ip4_addr_t addr, mask, gw;
  ip4_addr_set_u32(&addr, in.s_addr); /* both in network byte order */
  IP4_ADDR(&mask, 255, 255, 255, 0);
  ip4_addr_set_zero(&gw);

  /* Non-persistent TUN device without packet-info header, non-blocking. */
  tun_fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (tun_fd < 0) die_errno("open /dev/net/tun");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  if (ioctl(tun_fd, TUNSETIFF, &ifr) < 0) die_errno("TUNSETIFF");

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns EINTR */
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  lwip_init();
  if (!netif_add(&tun_netif, &addr, &mask, &gw, NULL, tun_netif_init, ip4_input))
    die("netif_add failed");
  tun_netif.mtu = (u16_t)mtu; /* TCP still caps the MSS at the compiled TCP_MSS */
  netif_set_default(&tun_netif);
  netif_set_link_up(&tun_netif);
  netif_set_up(&tun_netif);
  listen_on(&addr, SINK);
  listen_on(&addr, SOURCE);
  listen_on(&addr, ECHO);
  printf("ready\n");
  fflush(stdout);

  size_t bufsize = (size_t)mtu + 64;
  u8_t *buf = malloc(bufsize);
  if (buf == NULL) die("out of memory");
  struct pollfd pfd[2] = {{tun_fd, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
  while (!stop) {
    u32_t sleep_ms = sys_timeouts_sleeptime();
    int timeout = sleep_ms > 250 ? 250 : (int)sleep_ms; /* bounded, so `stop` is seen */
    int r = poll(pfd, 2, timeout);
    if (r < 0) {
      if (errno == EINTR) continue;
      die_errno("poll");
    }
    if (pfd[0].revents & (POLLERR | POLLNVAL)) die("TUN device error");
    if (pfd[0].revents & POLLIN) tun_input(buf, bufsize);
    if (pfd[1].revents) { /* stdin: EOF (or an error) means our parent is gone */
      char junk[256];
      ssize_t n = read(STDIN_FILENO, junk, sizeof junk);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) break;
    }
    sys_check_timeouts();
  }
  if (tx_dropped) fprintf(stderr, "lwip-peer: %lu packets dropped on TUN write\n", tx_dropped);
  close(tun_fd);
  return 0;
}
