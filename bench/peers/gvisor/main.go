// Command gvisor-peer runs gVisor's user-space TCP/IP stack (netstack) on a
// Linux TUN device and serves three TCP benchmark services on it:
//
//	5001 sink:   read until EOF, discard, close
//	5002 source: read an 8-byte big-endian count N, write N bytes, close
//	5003 echo:   echo everything back (no Nagle), close on EOF
//
// Usage: gvisor-peer --tun NAME --addr A.B.C.D --mtu N
//
//	gvisor-peer --packet-socket IFACE --addr A.B.C.D --mtu N
//
// With --tun the program opens (creates) the TUN device itself and prints
// "ready" once the device is open and all three services listen. Configuring
// the kernel's end of the device (namespace, address, MTU, link up) is up to
// the caller. It exits on SIGINT/SIGTERM or when stdin reaches EOF.
//
// With --packet-socket it runs with segmentation offload the way gVisor
// offers it (see packet_socket.go): on an existing Ethernet interface IFACE,
// one end of a veth pair, through an AF_PACKET socket with the virtio-net
// header, as runsc attaches its sandbox to a container's veth.
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/fdbased"
	"gvisor.dev/gvisor/pkg/tcpip/link/tun"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
)

const (
	nicID     = 1
	chunkSize = 256 << 10 // read/write size of the bulk services
)

func fatalf(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "gvisor-peer: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	tunName := flag.String("tun", "", "name of the TUN device to create")
	packetSocket := flag.String("packet-socket", "", "instead of --tun: an Ethernet interface to attach to with AF_PACKET, the virtio-net header and host GSO")
	dispatch := flag.String("dispatch", "recvmmsg", "with --packet-socket: how packets are read, recvmmsg or mmap (a PACKET_MMAP ring, runsc's choice)")
	addrFlag := flag.String("addr", "", "IPv4 address of the stack (a /24)")
	mtu := flag.Uint("mtu", 1500, "MTU of the device")
	flag.Parse()
	if (*tunName == "") == (*packetSocket == "") || *addrFlag == "" || flag.NArg() != 0 {
		fatalf("usage: gvisor-peer (--tun NAME | --packet-socket IFACE) --addr A.B.C.D --mtu N")
	}
	ip4 := net.ParseIP(*addrFlag).To4()
	if ip4 == nil {
		fatalf("--addr %q is not an IPv4 address", *addrFlag)
	}
	if *mtu < 68 || *mtu > 65535 {
		fatalf("--mtu %d out of range 68..65535", *mtu)
	}
	addr := tcpip.Address(ip4)

	var linkEP stack.LinkEndpoint
	var nicOptions stack.NICOptions
	if *packetSocket != "" {
		mode := map[string]fdbased.PacketDispatchMode{"recvmmsg": fdbased.RecvMMsg, "mmap": fdbased.PacketMMap}
		dispatchMode, ok := mode[*dispatch]
		if !ok {
			fatalf("--dispatch %q: recvmmsg or mmap", *dispatch)
		}
		linkEP, nicOptions = openPacketSocket(*packetSocket, uint32(*mtu), dispatchMode)
	} else {
		linkEP = openTUN(*tunName, uint32(*mtu))
	}

	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, icmp.NewProtocol4},
	})
	configureTCP(s)
	if e := s.CreateNICWithOptions(nicID, linkEP, nicOptions); e != nil {
		fatalf("CreateNIC: %v", e)
	}
	protoAddr := tcpip.ProtocolAddress{
		Protocol:          ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: addr, PrefixLen: 24},
	}
	if e := s.AddProtocolAddress(nicID, protoAddr, stack.AddressProperties{}); e != nil {
		fatalf("AddProtocolAddress %v: %v", protoAddr, e)
	}
	// Default route via the NIC (the /24 is on-link; no gateway needed).
	s.SetRouteTable([]tcpip.Route{{Destination: header.IPv4EmptySubnet, NIC: nicID}})

	services := []struct {
		port  uint16
		serve func(net.Conn)
	}{{5001, sink}, {5002, source}, {5003, echo}}
	for _, svc := range services {
		l, err := gonet.ListenTCP(s, tcpip.FullAddress{NIC: nicID, Addr: addr, Port: svc.port}, ipv4.ProtocolNumber)
		if err != nil {
			fatalf("listening on %s:%d: %v", *addrFlag, svc.port, err)
		}
		go acceptLoop(l, svc.serve)
	}

	// os.Stdout is unbuffered, so this line goes out at once.
	fmt.Println("ready")

	// Run until a signal arrives or stdin reaches EOF (the parent went away).
	done := make(chan string, 2)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() { done <- (<-sigs).String() }()
	go func() {
		io.Copy(io.Discard, os.Stdin)
		done <- "stdin EOF"
	}()
	reason := <-done
	fmt.Fprintf(os.Stderr, "gvisor-peer: exiting (%s)\n", reason)
	// Exiting closes the fd, which removes the non-persistent TUN device.
}

// openTUN creates the TUN device: IFF_TUN|IFF_NO_PI, not persistent, so it
// disappears when this process exits and the fd is closed.
func openTUN(name string, mtu uint32) stack.LinkEndpoint {
	if len(name) >= syscall.IFNAMSIZ {
		fatalf("--tun %q is longer than %d bytes", name, syscall.IFNAMSIZ-1)
	}
	fd, err := tun.Open(name)
	if err != nil {
		fatalf("opening TUN device %q: %v", name, err)
	}
	// fdbased reads with readv() on non-socket fds. It enables GSO only on
	// sockets (endpoint.go New: `if isSocket`), so a TUN fd gets none.
	linkEP, err := fdbased.New(&fdbased.Options{FDs: []int{fd}, MTU: mtu})
	if err != nil {
		fatalf("creating fdbased endpoint: %v", err)
	}
	return linkEP
}

// configureTCP sets the stack-wide TCP options that a user tuning for
// throughput would set. Window scaling is on by default.
func configureTCP(s *stack.Stack) {
	sack := tcpip.TCPSACKEnabled(true)
	// Receive buffer auto-tuning (like Linux tcp_moderate_rcvbuf).
	moderate := tcpip.TCPModerateReceiveBufferOption(true)
	// Nagle off for every connection (TCP_NODELAY). This is gVisor's default
	// anyway; the echo service needs it, and the bulk services write 256 KiB
	// at a time, so Nagle would make no difference to them.
	delay := tcpip.TCPDelayEnabled(false)
	// Buffers: start at 1 MiB, may grow to 8 MiB (gVisor's default cap is 4).
	rcv := tcpip.TCPReceiveBufferSizeRangeOption{Min: 4 << 10, Default: 1 << 20, Max: 8 << 20}
	snd := tcpip.TCPSendBufferSizeRangeOption{Min: 4 << 10, Default: 1 << 20, Max: 8 << 20}
	for _, opt := range []tcpip.SettableTransportProtocolOption{&sack, &moderate, &delay, &rcv, &snd} {
		if e := s.SetTransportProtocolOption(tcp.ProtocolNumber, opt); e != nil {
			fatalf("setting TCP option %T: %v", opt, e)
		}
	}
}

// acceptLoop serves each accepted connection in its own goroutine.
func acceptLoop(l net.Listener, serve func(net.Conn)) {
	for {
		c, err := l.Accept()
		if err != nil {
			fmt.Fprintf(os.Stderr, "gvisor-peer: accept on %v: %v\n", l.Addr(), err)
			return
		}
		go func() {
			defer c.Close()
			serve(c)
		}()
	}
}

// sink reads until EOF (or error) and discards the data.
func sink(c net.Conn) {
	buf := make([]byte, chunkSize)
	for {
		if _, err := c.Read(buf); err != nil {
			return
		}
	}
}

// source reads a big-endian uint64 count and writes that many zero bytes.
func source(c net.Conn) {
	var req [8]byte
	if _, err := io.ReadFull(c, req[:]); err != nil {
		return
	}
	n := binary.BigEndian.Uint64(req[:])
	buf := make([]byte, chunkSize)
	for n > 0 {
		chunk := buf
		if n < uint64(len(chunk)) {
			chunk = chunk[:n]
		}
		w, err := c.Write(chunk)
		if err != nil {
			return
		}
		n -= uint64(w)
	}
}

// echo writes back everything it reads until EOF.
func echo(c net.Conn) {
	buf := make([]byte, 64<<10)
	for {
		r, err := c.Read(buf)
		if r > 0 {
			if _, werr := c.Write(buf[:r]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
