package main

import (
	"encoding/json"
	"net"
	"os/exec"
	"runtime"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/link/fdbased"
	"gvisor.dev/gvisor/pkg/tcpip/link/qdisc/fifo"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// openPacketSocket attaches gVisor to the Ethernet interface name with
// segmentation offload, the way gVisor itself offers it. In Debian's gVisor
// (20221219) the fdbased endpoint turns GSO on only for socket fds (New:
// `if isSocket { if opts.GSOMaxSize != 0 ...`), and the virtio-net header it
// writes puts csum_start after a 14-byte Ethernet header; a TUN fd, even one
// opened with IFF_VNET_HDR, gets no GSO. So this is runsc's own setup
// (runsc/sandbox/network.go createSocket, runsc/boot/network.go), with
// runsc's default flags (--gso, --rx-checksum-offload, --qdisc=fifo, one
// channel) but one: runsc reads with a PACKET_MMAP ring on Linux 5.6 and
// later, whose 32 frames of 64 KiB overflow under a burst of ACKs; here
// recvmmsg() measured faster (stack -> kernel at MTU 1500, 1 GB runs on this
// 2-core VM: 0.30-0.33 Gbit/s with the ring, 0.58-1.6 with recvmmsg; the
// other way alike), so it is the default and --dispatch mmap gives runsc's.
//   - an AF_PACKET SOCK_RAW socket bound to the interface, with
//     PACKET_VNET_HDR, so every packet carries a virtio_net_hdr: the kernel
//     hands over whole GSO packets (a veth forwards TSO packets unsegmented)
//     and takes them back, segmenting them itself;
//   - 4 MiB socket buffers (SO_RCVBUFFORCE/SO_SNDBUFFORCE, as runsc);
//   - fdbased with EthernetHeader, the interface's MAC, host GSO up to the
//     interface's gso_max_size, RX checksum offload (packets from the local
//     kernel are not verified again);
//   - a FIFO queueing discipline with one queue per GOMAXPROCS, 1000 deep.
func openPacketSocket(name string, mtu uint32, dispatch fdbased.PacketDispatchMode) (stack.LinkEndpoint, stack.NICOptions) {
	iface, err := net.InterfaceByName(name)
	if err != nil {
		fatalf("--packet-socket %q: %v", name, err)
	}
	const ethPAll = 0x0300 // htons(ETH_P_ALL)
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, ethPAll)
	if err != nil {
		fatalf("AF_PACKET socket: %v", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: ethPAll, Ifindex: iface.Index}); err != nil {
		fatalf("binding to %q: %v", name, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1); err != nil {
		fatalf("PACKET_VNET_HDR: %v", err)
	}
	const bufferSize = 4 << 20
	for _, option := range []int{unix.SO_RCVBUFFORCE, unix.SO_SNDBUFFORCE} {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, option, bufferSize); err != nil {
			fatalf("socket buffer size: %v", err)
		}
	}
	gsoMaxSize := gsoMaxSizeOf(name)
	if gsoMaxSize == 0 {
		fatalf("interface %q reports no GSO (gso_max_size 0)", name)
	}
	linkEP, err := fdbased.New(&fdbased.Options{
		FDs:                []int{fd},
		MTU:                mtu,
		EthernetHeader:     true,
		Address:            tcpip.LinkAddress(iface.HardwareAddr),
		PacketDispatchMode: dispatch,
		GSOMaxSize:         gsoMaxSize,
		RXChecksumOffload:  true,
	})
	if err != nil {
		fatalf("creating fdbased endpoint: %v", err)
	}
	return linkEP, stack.NICOptions{QDisc: fifo.New(linkEP, runtime.GOMAXPROCS(0), 1000)}
}

// gsoMaxSizeOf asks iproute2 for the interface's gso_max_size (IFLA_GSO_MAX_SIZE),
// which runsc reads over netlink; sysfs does not show it.
func gsoMaxSizeOf(iface string) uint32 {
	output, err := exec.Command("ip", "-d", "-j", "link", "show", "dev", iface).Output()
	if err != nil {
		fatalf("ip link show %q: %v", iface, err)
	}
	var links []struct {
		GSOMaxSize uint32 `json:"gso_max_size"`
	}
	if err := json.Unmarshal(output, &links); err != nil || len(links) != 1 {
		fatalf("ip link show %q: unexpected output %q", iface, output)
	}
	return links[0].GSOMaxSize
}
