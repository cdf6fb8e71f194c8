package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The end-to-end test runs this test binary a second time, inside the
// network namespace, as the driver that makes the kernel's connections.
func init() {
	if os.Getenv("TCPTRACE_LIVE_DRIVER") == "1" {
		os.Exit(liveDriver(os.Stdin, os.Stdout))
	}
}

// Scenarios of the end-to-end test: the server port of each, and what
// tcptrace must report besides the states, which come from ss.
var liveScenarios = []struct {
	name     string
	port     int
	anomaly  string // a kind that must be reported ("" = none at all)
	side     string // the side it concerns
	severity string
}{
	{"normal-close", 7001, "", "", ""},
	{"half-close", 7002, "half_closed", "server", "info"},
	{"refused", 7003, "connection_refused", "server", "warning"},
	{"final-ack-dropped", 7004, "missing_final_ack", "server", "warning"},
}

// nftTable is the table the test creates in the namespace; the driver adds
// the drop rule to its output chain.
const nftTable = "tcptrace_live"

// TestLiveEndToEnd captures on lo in a fresh network namespace while real
// kernel connections open and close, stops tcptrace with SIGINT, and checks
// the final states against ss, the expected anomalies, the streamed events,
// and that the --write file read back gives the same connections.
//
// It also checks, with the same binary, the message a user without the
// privileges gets.
func TestLiveEndToEnd(t *testing.T) {
	if !liveBuild {
		t.Skip("this tcptrace is built without cgo: live capture is not available")
	}
	if os.Geteuid() != 0 {
		t.Skip("the live end-to-end test needs root for network namespaces and capture (CI runs it as root)")
	}
	for _, tool := range []string{"ip", "nft", "ss"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the live end-to-end test needs %s (install iproute2 and nftables)", tool)
		}
	}
	bin := buildTcptrace(t)
	t.Run("without-privileges", func(t *testing.T) { liveWithoutPrivileges(t, bin) })
	ns := newNetns(t)
	dir := t.TempDir()
	pcap := filepath.Join(dir, "live.pcapng")

	live := startLive(t, ns, bin, "-i", "lo", "--format", "json", "--write", pcap)
	if uid := processUID(t, live.cmd.Process.Pid); uid != nobodyUID(t) {
		t.Errorf("tcptrace runs as uid %d after opening the capture, want nobody (%d)", uid, nobodyUID(t))
	}

	conns, driverDone := runDriver(t, ns)
	ssOut := inNetns(t, ns, "ss", "-tanH")
	stdout := live.stop(t)
	driverDone()

	kernel := parseSS(t, ssOut)
	objs := jsonLines(t, stdout)
	if len(objs) == 0 || objs[len(objs)-1]["type"] != "summary" {
		t.Fatalf("the output does not end with a summary:\n%s", stdout)
	}
	summary := objs[len(objs)-1]
	if k, ok := summary["kernel"].(map[string]any); !ok || k["dropped"] != 0.0 || k["if_dropped"] != 0.0 {
		t.Errorf("kernel drops during the test, or no kernel counts: %v", summary["kernel"])
	}
	final := map[string]map[string]any{} // "client server" → connection
	streamed := map[string]bool{}        // "client server kind side"
	transitions := 0
	for _, o := range objs {
		switch o["type"] {
		case "connection":
			final[fmt.Sprint(o["client"], " ", o["server"])] = o
		case "anomaly":
			streamed[fmt.Sprint(o["client"], " ", o["server"], " ", o["kind"], " ", o["side"])] = true
		case "transition":
			transitions++
		}
	}
	if transitions == 0 {
		t.Error("no transition was streamed")
	}
	if len(final) != len(liveScenarios) {
		t.Errorf("%d connections reported, want %d:\n%s", len(final), len(liveScenarios), stdout)
	}
	for _, sc := range liveScenarios {
		t.Run(sc.name, func(t *testing.T) {
			c, ok := conns[sc.name]
			if !ok {
				t.Fatal("the driver did not make this connection")
			}
			got := final[c.client+" "+c.server]
			if got == nil {
				t.Fatalf("tcptrace reported no connection %s → %s", c.client, c.server)
			}
			wantClient, wantServer := kernel.state(c.client, c.server), kernel.state(c.server, c.client)
			if got["client_state"] != wantClient || got["server_state"] != wantServer {
				t.Errorf("tcptrace: client %v, server %v; ss: client %s, server %s\nss:\n%s",
					got["client_state"], got["server_state"], wantClient, wantServer, ssOut)
			}
			anomalies := got["anomalies"].([]any)
			if sc.anomaly == "" {
				if len(anomalies) != 0 {
					t.Errorf("unexpected anomalies %v", anomalies)
				}
				return
			}
			found := false
			for _, a := range anomalies {
				a := a.(map[string]any)
				if a["kind"] == sc.anomaly && a["side"] == sc.side {
					found = true
					if a["severity"] != sc.severity {
						t.Errorf("%s has severity %v, want %s", sc.anomaly, a["severity"], sc.severity)
					}
				}
			}
			if !found {
				t.Errorf("no %s on the %s side; anomalies: %v", sc.anomaly, sc.side, anomalies)
			}
			if !streamed[fmt.Sprint(c.client, " ", c.server, " ", sc.anomaly, " ", sc.side)] {
				t.Errorf("%s was not streamed", sc.anomaly)
			}
		})
	}

	// The saved packets, read back, give the same connections.
	var readOut, readErr bytes.Buffer
	cmd := exec.Command(bin, "read", "--format", "json", pcap)
	cmd.Stdout, cmd.Stderr = &readOut, &readErr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tcptrace read %s: %v\n%s", pcap, err, readErr.String())
	}
	fromLive, fromFile := byID(objectsOfType(t, stdout, "connection")), objectsOfType(t, readOut.String(), "connection")
	withoutCaptureEnd(fromLive)
	withoutCaptureEnd(fromFile)
	if !reflect.DeepEqual(fromLive, fromFile) {
		t.Errorf("the --write file read back differs from the live report:\n%s",
			firstDiff(jsonText(fromLive), jsonText(fromFile)))
	}
	sumFile := objectsOfType(t, readOut.String(), "summary")[0]
	for _, k := range []string{"packets", "tcp_packets", "connections", "anomalies", "client_states", "server_states"} {
		if !reflect.DeepEqual(summary[k], sumFile[k]) {
			t.Errorf("summary %s: live %v, read %v", k, summary[k], sumFile[k])
		}
	}
}

// liveWithoutPrivileges runs tcptrace live as nobody: it must fail with
// the message that says what is needed.
func liveWithoutPrivileges(t *testing.T, bin string) {
	uid := nobodyUID(t)
	// nobody must be able to reach and run the binary.
	for _, dir := range []string{filepath.Dir(bin), filepath.Dir(filepath.Dir(bin))} {
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "live", "-i", "lo", "--duration", "1s")
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitUsageErr {
		t.Fatalf("exit: %v, want status %d; stderr: %s", err, exitUsageErr, stderr.String())
	}
	want := "tcptrace: error: capturing on lo needs root or CAP_NET_RAW+CAP_NET_ADMIN\n" +
		"tcptrace: hint: try sudo, or: setcap cap_net_raw,cap_net_admin=eip " + bin + "\n"
	if stderr.String() != want {
		t.Errorf("stderr:\n%swant:\n%s", stderr.String(), want)
	}
}

// buildTcptrace builds the command into the test's temporary directory.
func buildTcptrace(t *testing.T) string {
	t.Helper()
	// The go command that runs this test, else the one on PATH.
	goTool := "go"
	if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
		if p := filepath.Join(strings.TrimSpace(string(out)), "bin", "go"); fileExists(p) {
			goTool = p
		}
	}
	bin := filepath.Join(t.TempDir(), "tcptrace")
	out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// newNetns creates a network namespace with lo up and an nftables table
// with an empty output chain, deleted when the test ends.
func newNetns(t *testing.T) string {
	t.Helper()
	ns := fmt.Sprintf("tcptrace-live-%d-%d", os.Getpid(), time.Now().UnixNano()%1e9)
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v\n%s", ns, err, out)
		}
	})
	inNetns(t, ns, "ip", "link", "set", "lo", "up")
	rules := fmt.Sprintf("table inet %s {\n chain output {\n  type filter hook output priority 0; policy accept;\n }\n}\n", nftTable)
	cmd := exec.Command("ip", "netns", "exec", ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft: %v\n%s", err, out)
	}
	return ns
}

// inNetns runs a command in the namespace and returns its output.
func inNetns(t *testing.T, ns string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// liveProcess is a running tcptrace live.
type liveProcess struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr chan string // closed at EOF
	errs   bytes.Buffer
}

// startLive starts tcptrace live in the namespace and waits until it says
// it is capturing.
func startLive(t *testing.T, ns, bin string, args ...string) *liveProcess {
	t.Helper()
	p := &liveProcess{stderr: make(chan string, 100)}
	p.cmd = exec.Command("ip", append([]string{"netns", "exec", ns, bin, "live", "--status", "never"}, args...)...)
	p.cmd.Stdout = &p.stdout
	pipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			p.stderr <- sc.Text()
		}
		close(p.stderr)
	}()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case line, ok := <-p.stderr:
			if !ok {
				p.cmd.Wait()
				t.Fatalf("tcptrace live exited before capturing: %s", p.errs.String())
			}
			p.errs.WriteString(line + "\n")
			if strings.HasPrefix(line, "tcptrace: capturing on ") {
				return p
			}
		case <-timeout:
			t.Fatalf("tcptrace live did not start capturing within 20s: %s", p.errs.String())
		}
	}
}

// stop sends SIGINT, waits for the exit and returns stdout. The exit
// status must be 0 and stderr hold nothing but the start line.
func (p *liveProcess) stop(t *testing.T) string {
	t.Helper()
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for line := range p.stderr {
			p.errs.WriteString(line + "\n")
		}
		done <- p.cmd.Wait()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("tcptrace live after SIGINT: %v\nstderr: %s", err, p.errs.String())
		}
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		t.Fatalf("tcptrace live did not stop within 10s of SIGINT; stderr: %s", p.errs.String())
	}
	if lines := strings.Count(p.errs.String(), "\n"); lines != 1 {
		t.Errorf("stderr has more than the start line:\n%s", p.errs.String())
	}
	return p.stdout.String()
}

// processUID reads a process's effective user ID from /proc.
func processUID(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "Uid:" {
			uid, _ := strconv.Atoi(f[2])
			return uid
		}
	}
	t.Fatalf("no Uid line in /proc/%d/status", pid)
	return -1
}

func nobodyUID(t *testing.T) int {
	t.Helper()
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	return uid
}

// driverConn is one connection the driver made.
type driverConn struct{ client, server string }

// runDriver runs the scenarios in the namespace and returns their
// connections once all have reached their final states, and a function
// that lets the driver close its sockets and exit.
func runDriver(t *testing.T, ns string) (map[string]driverConn, func()) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns, os.Args[0])
	cmd.Env = append(os.Environ(), "TCPTRACE_LIVE_DRIVER=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	finish := func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("driver: %v\n%s", err, stderr.String())
		}
	}
	conns := map[string]driverConn{}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 4 && f[0] == "conn":
			conns[f[1]] = driverConn{client: f[2], server: f[3]}
		case len(f) == 1 && f[0] == "ready":
			return conns, finish
		default:
			finish()
			t.Fatalf("driver: %s", sc.Text())
		}
	}
	finish()
	t.Fatalf("driver ended without ready")
	return nil, nil
}

// liveDriver makes one connection per scenario on 127.0.0.1, printing
// "conn NAME CLIENT SERVER" for each and "ready" once every socket is in
// its final state; it then holds its sockets until stdin closes.
func liveDriver(stdin io.Reader, stdout io.Writer) int {
	var keep []net.Conn // open sockets must outlive the scenarios (and the GC)
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stdout, "error "+format+"\n", args...)
		return 1
	}
	listen := func(port int) (net.Listener, error) { return net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)) }
	report := func(name string, c net.Conn) {
		fmt.Fprintf(stdout, "conn %s %s %s\n", name, c.LocalAddr(), c.RemoteAddr())
	}

	// normal-close: data both ways, the client closes, the server reads the
	// end and closes: client TIME_WAIT, server CLOSED.
	ln, err := listen(7001)
	if err != nil {
		return fail("%v", err)
	}
	served := make(chan error, 1)
	go func() {
		a, err := ln.Accept()
		if err == nil {
			buf := make([]byte, 5)
			if _, err = io.ReadFull(a, buf); err == nil {
				if _, err = a.Write(buf); err == nil {
					_, err = io.Copy(io.Discard, a)
				}
			}
			a.Close()
		}
		served <- err
	}()
	c, err := net.Dial("tcp", "127.0.0.1:7001")
	if err != nil {
		return fail("%v", err)
	}
	report("normal-close", c)
	if _, err := c.Write([]byte("hello")); err != nil {
		return fail("%v", err)
	}
	if _, err := io.ReadFull(c, make([]byte, 5)); err != nil {
		return fail("%v", err)
	}
	c.Close()
	if err := <-served; err != nil {
		return fail("normal-close server: %v", err)
	}

	// half-close: the client shuts down its sending side, the server reads
	// the end but never closes: client FIN_WAIT_2, server CLOSE_WAIT.
	ln2, err := listen(7002)
	if err != nil {
		return fail("%v", err)
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		a, err := ln2.Accept()
		if err != nil {
			served <- err
			return
		}
		_, err = io.Copy(io.Discard, a)
		accepted <- a
		served <- err
	}()
	c, err = net.Dial("tcp", "127.0.0.1:7002")
	if err != nil {
		return fail("%v", err)
	}
	report("half-close", c)
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return fail("%v", err)
	}
	if err := <-served; err != nil {
		return fail("half-close server: %v", err)
	}
	keep = append(keep, c, <-accepted)

	// refused: nothing listens on 7003; the client's port is fixed so that
	// the connection can be named although it never opened.
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 47003}}
	if _, err := d.Dial("tcp", "127.0.0.1:7003"); !errors.Is(err, syscall.ECONNREFUSED) {
		return fail("refused: dial gave %v", err)
	}
	fmt.Fprintf(stdout, "conn refused 127.0.0.1:47003 127.0.0.1:7003\n")

	// final-ack-dropped: after an exchange, an nftables rule drops every
	// pure ACK to port 7004 before it reaches lo (and the capture). The
	// client closes, the server answers with its FIN, and the client's
	// final ACK never arrives: client TIME_WAIT, server LAST_ACK
	// retransmitting its FIN.
	ln4, err := listen(7004)
	if err != nil {
		return fail("%v", err)
	}
	go func() {
		a, err := ln4.Accept()
		if err == nil {
			buf := make([]byte, 1)
			if _, err = io.ReadFull(a, buf); err == nil {
				if _, err = a.Write(buf); err == nil {
					_, err = io.Copy(io.Discard, a)
				}
			}
			a.Close()
		}
		served <- err
	}()
	c, err = net.Dial("tcp", "127.0.0.1:7004")
	if err != nil {
		return fail("%v", err)
	}
	report("final-ack-dropped", c)
	if _, err := c.Write([]byte("x")); err != nil {
		return fail("%v", err)
	}
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		return fail("%v", err)
	}
	// Let the ACK of the server's byte go out before arming the rule.
	time.Sleep(300 * time.Millisecond)
	rule := "add rule inet " + nftTable + " output tcp dport 7004 tcp flags & (fin|syn|rst|psh|ack) == ack drop"
	if out, err := exec.Command("nft", strings.Fields(rule)...).CombinedOutput(); err != nil {
		return fail("nft: %v: %s", err, strings.TrimSpace(string(out)))
	}
	c.Close()
	if err := <-served; err != nil {
		return fail("final-ack-dropped server: %v", err)
	}
	// RTO on lo starts at 200 ms: this leaves room for three FIN
	// retransmissions (0.2, 0.6, 1.4 s).
	time.Sleep(1700 * time.Millisecond)

	fmt.Fprintln(stdout, "ready")
	io.Copy(io.Discard, stdin)
	for _, c := range keep {
		c.Close()
	}
	return 0
}

// ssTable holds the kernel's sockets: state by "local peer".
type ssTable map[string]string

// parseSS reads `ss -tanH` output, turning ss's state names into RFC 9293
// names as tcptrace prints them.
func parseSS(t *testing.T, out string) ssTable {
	t.Helper()
	names := map[string]string{
		"ESTAB": "ESTABLISHED", "SYN-SENT": "SYN_SENT", "SYN-RECV": "SYN_RCVD", "FIN-WAIT-1": "FIN_WAIT_1",
		"FIN-WAIT-2": "FIN_WAIT_2", "TIME-WAIT": "TIME_WAIT", "CLOSE-WAIT": "CLOSE_WAIT", "LAST-ACK": "LAST_ACK",
		"CLOSING": "CLOSING", "LISTEN": "LISTEN", "CLOSE": "CLOSED", "UNCONN": "CLOSED",
	}
	s := ssTable{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		name, ok := names[f[0]]
		if !ok {
			t.Fatalf("unknown ss state %q in %q", f[0], line)
		}
		s[f[3]+" "+f[4]] = name
	}
	return s
}

// state is the kernel's state of the socket local→peer; a socket that does
// not exist is CLOSED.
func (s ssTable) state(local, peer string) string {
	if st, ok := s[local+" "+peer]; ok {
		return st
	}
	return "CLOSED"
}

// withoutCaptureEnd drops the time and detail of anomalies established by
// the end of the capture (packet 0). They legitimately differ: a live
// capture ends when it is stopped, a file with its last packet, so "in
// CLOSE_WAIT for 2.07s when the capture ended" reads 1.96s from the file.
func withoutCaptureEnd(conns []map[string]any) {
	for _, c := range conns {
		for _, a := range c["anomalies"].([]any) {
			a := a.(map[string]any)
			if a["packet"] == 0.0 {
				delete(a, "time")
				delete(a, "detail")
			}
		}
	}
}

func jsonText(objs []map[string]any) string {
	var b strings.Builder
	for _, o := range objs {
		j, _ := json.Marshal(o)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
