// Command driver plays one TCP socket scenario on the loopback interface so
// that testdata/pcaps/kernel/make.sh can capture what the Linux kernel does.
//
// Usage (inside a network namespace made by make.sh):
//
//	driver SCENARIO
//
// The driver talks to make.sh over a line protocol so that the script, not
// the driver, owns the capture, the nftables rules and the ss snapshot:
//
//	stdout  "conn CLIENT SERVER"  a connection the scenario attempts; make.sh
//	                              looks both of its sockets up in ss -tan
//	stdout  "step NAME"           the driver waits until make.sh has done the
//	                              scenario's action for NAME and answered
//	stdin   "ok"                  make.sh's answer to a step
//
// Every scenario ends with "step end": make.sh records ss -tan and stops
// tcpdump while the driver still holds its sockets, then answers, and the
// driver exits (the kernel then closes whatever is left, uncaptured).
// Human-readable progress goes to stderr.
//
// Only the standard library is used: socket options are set in
// net.Dialer.Control, so every socket is a plain kernel TCP socket.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Fixed addresses keep the captures and ss output comparable between runs:
// every scenario runs in a fresh namespace, so nothing else owns these ports.
const (
	serverAddr4 = "127.0.0.1:9000"
	serverAddr6 = "[::1]:9000"
	clientHost4 = "127.0.0.1"
	clientHost6 = "::1"
	firstPort   = 40001
)

// settle is how long the driver waits after the last socket call before
// asking for the ss snapshot, so the final ACKs have been processed.
const settle = 200 * time.Millisecond

// mss is the payload of one full segment on lo with MTU 1500 and TCP
// timestamps: 1500 - 20 (IPv4) - 20 (TCP) - 12 (timestamp option).
const mss = 1448

// lossMarker starts the third data segment of data-loss; make.sh's nft rule
// matches these four bytes at the start of a TCP payload ("LOSE").
var lossMarker = []byte("LOSE")

type scenario struct {
	name string
	run  func(h *harness) error
}

var scenarios = []scenario{
	{"client-close", clientClose},
	{"server-close", serverClose},
	{"half-close", halfClose},
	{"close-wait-pileup", closeWaitPileup},
	{"time-wait-pileup", timeWaitPileup},
	{"final-ack-lost-before", finalAckLost},
	{"final-ack-lost-after", finalAckLost},
	{"third-ack-lost", thirdAckLost},
	{"refused", refused},
	{"syn-unanswered", synNeverAnswered},
	{"synack-lost", synNeverAnswered},
	{"linger-abort", lingerAbort},
	{"port-reuse", portReuse},
	{"ipv6", ipv6},
	{"any-sll2", anySLL2},
	{"nanosecond", serverClose},
	{"data-loss", dataLoss},
	{"zero-window", zeroWindow},
	{"ack-loss", ackLoss},
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintf(os.Stderr, "usage: driver SCENARIO\nscenarios: %s\n", strings.Join(scenarioNames(), " "))
		os.Exit(2)
	}
	name := os.Args[1]
	for _, s := range scenarios {
		if s.name != name {
			continue
		}
		h := &harness{in: bufio.NewReader(os.Stdin), out: os.Stdout}
		if err := s.run(h); err != nil {
			fmt.Fprintf(os.Stderr, "driver: %s: error: %v\n", name, err)
			os.Exit(1)
		}
		return
	}
	fmt.Fprintf(os.Stderr, "driver: unknown scenario %q\n", name)
	os.Exit(2)
}

func scenarioNames() []string {
	names := make([]string, 0, len(scenarios))
	for _, s := range scenarios {
		names = append(names, s.name)
	}
	sort.Strings(names)
	return names
}

// harness is the driver's side of the line protocol with make.sh.
type harness struct {
	in  *bufio.Reader
	out io.Writer
}

// announce tells make.sh about a connection attempt before it is made, so a
// connection that never gets past SYN is still listed.
func (h *harness) announce(client, server string) {
	fmt.Fprintf(h.out, "conn %s %s\n", client, server)
}

// step blocks until make.sh has performed the action named step.
func (h *harness) step(name string) error {
	logf("step %s", name)
	fmt.Fprintf(h.out, "step %s\n", name)
	line, err := h.in.ReadString('\n')
	if err != nil {
		return fmt.Errorf("step %s: no answer from make.sh: %w", name, err)
	}
	if got := strings.TrimSpace(line); got != "ok" {
		return fmt.Errorf("step %s: make.sh answered %q, want \"ok\"", name, got)
	}
	return nil
}

// end waits settle, then lets make.sh snapshot ss and stop the capture while
// every socket the scenario still holds is open.
func (h *harness) end() error {
	time.Sleep(settle)
	return h.step("end")
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "driver: "+format+"\n", args...)
}

// socketOptions are applied to a client socket before bind and connect.
type socketOptions struct {
	rcvbuf int // SO_RCVBUF in bytes; 0 leaves the kernel default
}

// listen opens a plain TCP listener. Go would otherwise use MPTCP for
// listeners on Linux and enable keepalives; neither is part of a scenario.
func listen(network, addr string) (*net.TCPListener, error) {
	var lc net.ListenConfig
	lc.KeepAlive = -1
	lc.SetMultipathTCP(false)
	ln, err := lc.Listen(context.Background(), network, addr)
	if err != nil {
		return nil, err
	}
	return ln.(*net.TCPListener), nil
}

// dialer returns a dialer bound to a fixed client address. SO_REUSEADDR lets
// port-reuse bind a port whose previous connection is still in TIME_WAIT.
func dialer(local string, opts socketOptions) (*net.Dialer, error) {
	laddr, err := net.ResolveTCPAddr("tcp", local)
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{
		LocalAddr: laddr,
		KeepAlive: -1,
		Control: func(network, address string, c syscall.RawConn) error {
			var sockErr error
			err := c.Control(func(fd uintptr) {
				sockErr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
				if sockErr == nil && opts.rcvbuf > 0 {
					sockErr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, opts.rcvbuf)
				}
			})
			if err != nil {
				return err
			}
			return sockErr
		},
	}
	d.SetMultipathTCP(false)
	return d, nil
}

// dial announces and opens one connection from local to remote.
func (h *harness) dial(local, remote string, opts socketOptions) (*net.TCPConn, error) {
	h.announce(local, remote)
	d, err := dialer(local, opts)
	if err != nil {
		return nil, err
	}
	c, err := d.Dial("tcp", remote)
	if err != nil {
		return nil, fmt.Errorf("dial %s from %s: %w", remote, local, err)
	}
	return c.(*net.TCPConn), nil
}

// pair dials remote from local and accepts the server side on ln.
func (h *harness) pair(ln *net.TCPListener, local, remote string, opts socketOptions) (client, server *net.TCPConn, err error) {
	client, err = h.dial(local, remote, opts)
	if err != nil {
		return nil, nil, err
	}
	server, err = ln.AcceptTCP()
	if err != nil {
		return nil, nil, fmt.Errorf("accept on %s: %w", ln.Addr(), err)
	}
	return client, server, nil
}

func clientAddr(host string, n int) string {
	return net.JoinHostPort(host, strconv.Itoa(firstPort+n))
}

const (
	request  = "GET /status\r\n"
	response = "200 OK tcptrace\r\n"
)

// exchange sends a small request from the client and a small response back,
// and reads both completely.
func exchange(client, server net.Conn) error {
	if _, err := io.WriteString(client, request); err != nil {
		return fmt.Errorf("client write: %w", err)
	}
	if err := readExactly(server, []byte(request)); err != nil {
		return fmt.Errorf("server read request: %w", err)
	}
	if _, err := io.WriteString(server, response); err != nil {
		return fmt.Errorf("server write: %w", err)
	}
	if err := readExactly(client, []byte(response)); err != nil {
		return fmt.Errorf("client read response: %w", err)
	}
	return nil
}

func readExactly(c net.Conn, want []byte) error {
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("read %q, want %q", got, want)
	}
	return nil
}

// expectEOF reads until the peer's FIN and fails on any data or error.
func expectEOF(c net.Conn) error {
	var b [1]byte
	n, err := c.Read(b[:])
	if n != 0 || err != io.EOF {
		return fmt.Errorf("read after peer close: n=%d err=%v, want EOF", n, err)
	}
	return nil
}

// closeActiveFirst closes first, lets the passive side read EOF and close.
func closeActiveFirst(active, passive net.Conn) error {
	if err := active.Close(); err != nil {
		return err
	}
	if err := expectEOF(passive); err != nil {
		return err
	}
	return passive.Close()
}

// clientClose: request/response, client closes first, server after EOF.
func clientClose(h *harness) error {
	return closeScenario(h, "tcp", serverAddr4, clientHost4, true)
}

// serverClose: request/response, server closes first, client after EOF.
func serverClose(h *harness) error {
	return closeScenario(h, "tcp", serverAddr4, clientHost4, false)
}

// ipv6 is client-close over [::1].
func ipv6(h *harness) error {
	return closeScenario(h, "tcp6", serverAddr6, clientHost6, true)
}

func closeScenario(h *harness, network, server, clientHost string, clientFirst bool) error {
	ln, err := listen(network, server)
	if err != nil {
		return err
	}
	defer ln.Close()
	client, srv, err := h.pair(ln, clientAddr(clientHost, 0), server, socketOptions{})
	if err != nil {
		return err
	}
	if err := exchange(client, srv); err != nil {
		return err
	}
	if clientFirst {
		err = closeActiveFirst(client, srv)
	} else {
		err = closeActiveFirst(srv, client)
	}
	if err != nil {
		return err
	}
	return h.end()
}

// halfClose: the client shuts down its sending side; the server reads EOF
// and keeps its socket open, so the connection rests half-closed.
func halfClose(h *harness) error {
	ln, err := listen("tcp", serverAddr4)
	if err != nil {
		return err
	}
	defer ln.Close()
	client, srv, err := h.pair(ln, clientAddr(clientHost4, 0), serverAddr4, socketOptions{})
	if err != nil {
		return err
	}
	defer client.Close()
	defer srv.Close()
	if err := exchange(client, srv); err != nil {
		return err
	}
	if err := client.CloseWrite(); err != nil {
		return err
	}
	if err := expectEOF(srv); err != nil {
		return err
	}
	return h.end()
}

// closeWaitPileupCount is how many connections the server leaks.
const closeWaitPileupCount = 25

// closeWaitPileup: 25 clients send a request and close; the server reads
// each request and the EOF but never closes, leaving 25 CLOSE_WAIT sockets.
func closeWaitPileup(h *harness) error {
	ln, err := listen("tcp", serverAddr4)
	if err != nil {
		return err
	}
	defer ln.Close()
	var leaked []*net.TCPConn
	for i := range closeWaitPileupCount {
		client, srv, err := h.pair(ln, clientAddr(clientHost4, i), serverAddr4, socketOptions{})
		if err != nil {
			return err
		}
		leaked = append(leaked, srv)
		if _, err := io.WriteString(client, request); err != nil {
			return err
		}
		if err := readExactly(srv, []byte(request)); err != nil {
			return err
		}
		if err := client.Close(); err != nil {
			return err
		}
		if err := expectEOF(srv); err != nil {
			return err
		}
	}
	if err := h.end(); err != nil {
		return err
	}
	for _, c := range leaked {
		c.Close()
	}
	return nil
}

// timeWaitPileupCount is how many connections the clients close first.
const timeWaitPileupCount = 12

// timeWaitPileup: 12 clients each exchange a request and response and close
// first; the server closes after EOF, so 12 client sockets rest in
// TIME_WAIT on one host.
func timeWaitPileup(h *harness) error {
	ln, err := listen("tcp", serverAddr4)
	if err != nil {
		return err
	}
	defer ln.Close()
	for i := range timeWaitPileupCount {
		client, srv, err := h.pair(ln, clientAddr(clientHost4, i), serverAddr4, socketOptions{})
		if err != nil {
			return err
		}
		if err := exchange(client, srv); err != nil {
			return err
		}
		if err := closeActiveFirst(client, srv); err != nil {
			return err
		}
	}
	return h.end()
}

// finalAckLost: request/response; make.sh arms a rule dropping the client's
// pure ACKs (OUTPUT or INPUT hook, by scenario); client closes, server closes
// after EOF, so only the client's last ACK (of the server's FIN) is dropped
// and the server keeps retransmitting its FIN from LAST_ACK.
func finalAckLost(h *harness) error {
	ln, err := listen("tcp", serverAddr4)
	if err != nil {
		return err
	}
	defer ln.Close()
	client, srv, err := h.pair(ln, clientAddr(clientHost4, 0), serverAddr4, socketOptions{})
	if err != nil {
		return err
	}
	if err := exchange(client, srv); err != nil {
		return err
	}
	// Let the ACK of the response leave before pure ACKs are dropped.
	time.Sleep(settle)
	if err := h.step("drop-client-acks"); err != nil {
		return err
	}
	if err := closeActiveFirst(client, srv); err != nil {
		return err
	}
	// The server resends its FIN about 0.2 s later (tail loss probe), then
	// on its retransmission timer from about 0.2 s doubling: FINs at about
	// 0, 0.2, 0.4, 0.85, 1.7 and 3.35 s.
	time.Sleep(3200 * time.Millisecond)
	return h.end()
}

// thirdAckLost: make.sh drops the client's pure ACKs before the connect, so
// the handshake's third segment never reaches the server. The dial succeeds
// (the client is ESTABLISHED) and the client sends nothing else; the server
// is never asked to accept and retransmits its SYN-ACK at about 1 and 3 s.
func thirdAckLost(h *harness) error {
	ln, err := listen("tcp", serverAddr4)
	if err != nil {
		return err
	}
	defer ln.Close()
	if err := h.step("drop-client-acks"); err != nil {
		return err
	}
	client, err := h.dial(clientAddr(clientHost4, 0), serverAddr4, socketOptions{})
	if err != nil {
		return err
	}
	defer client.Close()
	time.Sleep(3500 * time.Millisecond)
	return h.end()
}

// refused: nothing listens on the server port; the kernel answers RST,ACK.
func refused(h *harness) error {
	_, err := h.dial(clientAddr(clientHost4, 0), serverAddr4, socketOptions{})
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("dial to a closed port: got %v, want ECONNREFUSED", err)
	}
	return h.end()
}

// synNeverAnswered serves syn-unanswered (make.sh drops the SYNs) and
// synack-lost (make.sh drops the SYN-ACKs): the client's connect stays in
// progress while it retransmits its SYN every second (Linux 6.7+ backs off
// linearly for the first net.ipv4.tcp_syn_linear_timeouts = 4 retries).
func synNeverAnswered(h *harness) error {
	ln, err := listen("tcp", serverAddr4)
	if err != nil {
		return err
	}
	defer ln.Close()
	if err := h.step("drop-handshake"); err != nil {
		return err
	}
	dialed := make(chan error, 1)
	go func() {
		c, err := h.dial(clientAddr(clientHost4, 0), serverAddr4, socketOptions{})
		if err == nil {
			c.Close()
			err = errors.New("connect succeeded although the handshake is dropped")
		}
		dialed <- err
	}()
	select {
	case err := <-dialed:
		return err
	case <-time.After(3500 * time.Millisecond):
	}
	// The connect is still in progress: its socket is in SYN_SENT.
	return h.end()
}

// lingerAbort: after request/response the client sets SO_LINGER to 0 and
// closes, which resets the connection instead of sending FIN.
func lingerAbort(h *harness) error {
	ln, err := listen("tcp", serverAddr4)
	if err != nil {
		return err
	}
	defer ln.Close()
	client, srv, err := h.pair(ln, clientAddr(clientHost4, 0), serverAddr4, socketOptions{})
	if err != nil {
		return err
	}
	defer srv.Close()
	if err := exchange(client, srv); err != nil {
		return err
	}
	if err := client.SetLinger(0); err != nil {
		return err
	}
	if err := client.Close(); err != nil {
		return err
	}
	var b [1]byte
	if _, err := srv.Read(b[:]); !errors.Is(err, syscall.ECONNRESET) {
		return fmt.Errorf("server read after abort: got %v, want ECONNRESET", err)
	}
	return h.end()
}

// portReuse: two connections on the same 4-tuple. The first is closed by
// the client, leaving its socket in TIME_WAIT; after tcp_tw_reuse_delay
// (1000 ms by default) the client binds the same port again and the kernel
// reuses the TIME_WAIT 4-tuple (tcp_tw_reuse=2 allows it on loopback).
func portReuse(h *harness) error {
	ln, err := listen("tcp", serverAddr4)
	if err != nil {
		return err
	}
	defer ln.Close()
	for i := range 2 {
		if i > 0 {
			time.Sleep(1500 * time.Millisecond)
		}
		client, srv, err := h.pair(ln, clientAddr(clientHost4, 0), serverAddr4, socketOptions{})
		if err != nil {
			return fmt.Errorf("connection %d: %w", i+1, err)
		}
		if err := exchange(client, srv); err != nil {
			return err
		}
		if err := closeActiveFirst(client, srv); err != nil {
			return err
		}
	}
	return h.end()
}

// anySLL2: captured on the "any" pseudo-interface: one connection closed by
// the client, and one left half-closed (client FIN_WAIT_2, server CLOSE_WAIT).
func anySLL2(h *harness) error {
	ln, err := listen("tcp", serverAddr4)
	if err != nil {
		return err
	}
	defer ln.Close()
	client, srv, err := h.pair(ln, clientAddr(clientHost4, 0), serverAddr4, socketOptions{})
	if err != nil {
		return err
	}
	if err := exchange(client, srv); err != nil {
		return err
	}
	if err := closeActiveFirst(client, srv); err != nil {
		return err
	}
	client, srv, err = h.pair(ln, clientAddr(clientHost4, 1), serverAddr4, socketOptions{})
	if err != nil {
		return err
	}
	defer client.Close()
	defer srv.Close()
	if err := exchange(client, srv); err != nil {
		return err
	}
	if err := client.CloseWrite(); err != nil {
		return err
	}
	if err := expectEOF(srv); err != nil {
		return err
	}
	return h.end()
}

// bulk returns n bytes of printable payload; when marked, the bytes at
// offset 2*mss (the start of the third full segment) are lossMarker, and the
// marker appears nowhere else.
func bulk(n int, marked bool) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	if marked && n >= 2*mss+len(lossMarker) {
		copy(b[2*mss:], lossMarker)
	}
	return b
}

// transfer has the server send payload after reading the client's request,
// while the client reads it in the background; the caller waits on the
// returned channel for the client to have read and checked everything.
func transfer(client, srv net.Conn, payload []byte, clientDelay time.Duration) (<-chan error, error) {
	if _, err := io.WriteString(client, request); err != nil {
		return nil, err
	}
	if err := readExactly(srv, []byte(request)); err != nil {
		return nil, err
	}
	done := make(chan error, 2)
	go func() {
		_, err := srv.Write(payload)
		if err != nil {
			done <- fmt.Errorf("server write: %w", err)
		}
	}()
	go func() {
		time.Sleep(clientDelay)
		done <- readExactly(client, payload)
	}()
	return done, nil
}

// dataLoss: make.sh drops the segment starting with lossMarker once in the
// INPUT hook (captured, never delivered); the server must retransmit it
// exactly once.
func dataLoss(h *harness) error {
	return bulkScenario(h, bulkPlan{
		size:   16 * mss,
		marked: true,
		armAt:  "drop-third-segment",
	})
}

// zeroWindow: a client with a small receive buffer does not read for 2 s
// while the server sends, so the client advertises a zero window and the
// server sends persist probes; then the client reads everything.
func zeroWindow(h *harness) error {
	return bulkScenario(h, bulkPlan{
		size:        64 * 1024,
		rcvbuf:      4096,
		clientDelay: 2 * time.Second,
	})
}

// ackLoss: make.sh drops every pure ACK of the client for one second of a
// bulk transfer, so the server's retransmission timer fires and it resends
// data the client already has.
func ackLoss(h *harness) error {
	return bulkScenario(h, bulkPlan{
		size:     64 * 1024,
		armAt:    "drop-client-acks",
		disarmAt: "restore-client-acks",
		armedFor: time.Second,
	})
}

type bulkPlan struct {
	size        int
	marked      bool
	rcvbuf      int
	clientDelay time.Duration
	armAt       string        // step before the transfer starts, if any
	disarmAt    string        // step armedFor after armAt, if any
	armedFor    time.Duration // how long armAt's rule stays
}

// bulkScenario: connect, request, server sends size bytes, client reads it,
// client closes first, server closes after EOF.
func bulkScenario(h *harness, p bulkPlan) error {
	ln, err := listen("tcp", serverAddr4)
	if err != nil {
		return err
	}
	defer ln.Close()
	client, srv, err := h.pair(ln, clientAddr(clientHost4, 0), serverAddr4, socketOptions{rcvbuf: p.rcvbuf})
	if err != nil {
		return err
	}
	if p.armAt != "" {
		if err := h.step(p.armAt); err != nil {
			return err
		}
	}
	done, err := transfer(client, srv, bulk(p.size, p.marked), p.clientDelay)
	if err != nil {
		return err
	}
	if p.disarmAt != "" {
		time.Sleep(p.armedFor)
		if err := h.step(p.disarmAt); err != nil {
			return err
		}
	}
	select {
	case err := <-done:
		if err != nil {
			return err
		}
	case <-time.After(10 * time.Second):
		return errors.New("bulk transfer did not finish within 10 s")
	}
	if err := closeActiveFirst(client, srv); err != nil {
		return err
	}
	return h.end()
}
