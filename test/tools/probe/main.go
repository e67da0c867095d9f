// cleanimg-probe: see go.mod. Standard library only, built with CGO_ENABLED=0.
//
// Configuration: the JSON file named by --probe-config (default /etc/cleanimg-probe/config.json,
// absent = defaults), so one binary serves every stand-in image:
//
//	{"listen": [{"port": 8080}, {"port": 8443, "tls": true}], "job": false}
//
// Every other argument is the example's own (e.g. `--config=/etc/go-api/config.yaml`,
// `-c config_file=/etc/postgresql/custom.conf`, `--out=/backups/x`): a value that names an absolute
// path must be readable (or, for --out, writable), or the probe exits 1, so a mount that the
// kubelet did not make fails the pod the way the real application would.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type listener struct {
	Port int  `json:"port"`
	TLS  bool `json:"tls"`
}

type config struct {
	Listen []listener `json:"listen"`
	// Job: do the argument checks, write --out if given, then exit 0.
	Job bool `json:"job"`
}

func main() {
	// As the pod sandbox's pause process: wait for SIGTERM or SIGINT, then exit 0.
	if filepath.Base(os.Args[0]) == "pause" {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		return
	}
	if len(os.Args) == 2 && os.Args[1] == "--version" {
		fmt.Println("cleanimg-probe 1")
		return
	}
	cfgPath := "/etc/cleanimg-probe/config.json"
	var rest []string
	for _, a := range os.Args[1:] {
		if v, ok := strings.CutPrefix(a, "--probe-config="); ok {
			cfgPath = v
		} else {
			rest = append(rest, a)
		}
	}
	cfg := config{Listen: []listener{{Port: 8080}}}
	if b, err := os.ReadFile(cfgPath); err == nil {
		if err := json.Unmarshal(b, &cfg); err != nil {
			fail("config %s: %v", cfgPath, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		fail("config %s: %v", cfgPath, err)
	}
	out, err := checkArgs(rest)
	if err != nil {
		fail("%v", err)
	}
	if cfg.Job {
		if out != "" {
			if err := os.WriteFile(out, []byte(fmt.Sprintf("cleanimg-probe job output, uid %d\n", os.Getuid())), 0o600); err != nil {
				fail("--out %s: %v", out, err)
			}
		}
		fmt.Println(mustJSON(report(nil)))
		return
	}
	serve(cfg.Listen)
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "cleanimg-probe: "+format+"\n", a...)
	os.Exit(1)
}

// checkArgs: every absolute path among the arguments' values must be readable, except --out,
// whose folder must be writable. Returns the --out path.
func checkArgs(args []string) (string, error) {
	out := ""
	for _, a := range args {
		v := a
		if i := strings.IndexByte(a, '='); i >= 0 {
			v = a[i+1:]
		}
		if !strings.HasPrefix(v, "/") {
			continue
		}
		if strings.HasPrefix(a, "--out=") {
			out = v
			continue
		}
		if _, err := os.ReadFile(v); err != nil {
			return "", fmt.Errorf("argument %q: %v", a, err)
		}
	}
	return out, nil
}

func serve(ls []listener) {
	mux := http.NewServeMux()
	mux.HandleFunc("/report", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, report(splitList(r.URL.Query().Get("paths"))))
	})
	mux.HandleFunc("/tls", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, dialTLS(r.URL.Query().Get("addr"), r.URL.Query().Get("name")))
	})
	mux.HandleFunc("/dial", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, dialTCP(r.URL.Query().Get("addr")))
	})
	mux.HandleFunc("/fill", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, fill(r.URL.Query().Get("path"), r.URL.Query().Get("mib")))
	})
	mux.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(r.URL.Query().Get("path"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		_, _ = w.Write(b)
	})
	// Any other path (the examples' /healthz, /readyz, /ready) answers 200.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	errs := make(chan error, len(ls))
	for _, l := range ls {
		srv := &http.Server{Addr: ":" + strconv.Itoa(l.Port), Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		if l.TLS {
			cert, err := serverCert()
			if err != nil {
				fail("tls: %v", err)
			}
			srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
			go func() { errs <- srv.ListenAndServeTLS("", "") }()
		} else {
			go func() { errs <- srv.ListenAndServe() }()
		}
		fmt.Printf("cleanimg-probe: listening on :%d (tls %v)\n", l.Port, l.TLS)
	}
	fail("serve: %v", <-errs)
}

// serverCert: the mounted TLS Secret when there is one (nginx's /etc/ssl/private), else a
// throw-away self-signed certificate (the kubelet's HTTPS probes do not verify).
func serverCert() (tls.Certificate, error) {
	for _, dir := range []string{"/etc/ssl/private"} {
		if c, err := tls.LoadX509KeyPair(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")); err == nil {
			return c, nil
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cleanimg-probe"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

type pathReport struct {
	Path     string `json:"path"`
	Readable bool   `json:"readable"`
	// WriteError: what a write into the path (a new file in a folder, or the file opened for
	// writing) returned; "" when the write succeeded.
	WriteError string `json:"writeError"`
	Files      int    `json:"files"`
}

type probeReport struct {
	UID            int               `json:"uid"`
	GID            int               `json:"gid"`
	Groups         []int             `json:"groups"`
	RootWriteError string            `json:"rootWriteError"`
	TmpWriteError  string            `json:"tmpWriteError"`
	Status         map[string]string `json:"status"`
	TokenPresent   bool              `json:"tokenPresent"`
	Paths          []pathReport      `json:"paths"`
	Env            map[string]string `json:"env"`
}

func report(paths []string) probeReport {
	groups, _ := os.Getgroups()
	r := probeReport{UID: os.Getuid(), GID: os.Getgid(), Groups: groups, Status: map[string]string{}, Env: map[string]string{}}
	r.RootWriteError = tryWrite("/")
	r.TmpWriteError = tryWrite("/tmp")
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if ok && (k == "CapEff" || k == "CapPrm" || k == "CapBnd" || k == "CapAmb" || k == "NoNewPrivs" || k == "Seccomp") {
				r.Status[k] = strings.TrimSpace(v)
			}
		}
	}
	_, err := os.Stat("/var/run/secrets/kubernetes.io/serviceaccount/token")
	r.TokenPresent = err == nil
	for _, p := range paths {
		r.Paths = append(r.Paths, inspectPath(p))
	}
	for _, k := range []string{"SSL_CERT_FILE", "SSL_CERT_DIR", "HOME"} {
		r.Env[k] = os.Getenv(k)
	}
	return r
}

func tryWrite(dir string) string {
	f, err := os.CreateTemp(dir, ".cleanimg-probe-*")
	if err != nil {
		return errName(err)
	}
	name := f.Name()
	_ = f.Close()
	_ = os.Remove(name)
	return ""
}

// errName: "EROFS", "EACCES", ... for a syscall error, else the message.
func errName(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.EROFS:
			return "EROFS"
		case syscall.EACCES:
			return "EACCES"
		case syscall.EPERM:
			return "EPERM"
		case syscall.ENOSPC:
			return "ENOSPC"
		case syscall.ENOENT:
			return "ENOENT"
		}
	}
	return err.Error()
}

func inspectPath(p string) pathReport {
	pr := pathReport{Path: p}
	st, err := os.Stat(p)
	if err != nil {
		pr.WriteError = errName(err)
		return pr
	}
	if st.IsDir() {
		entries, err := os.ReadDir(p)
		pr.Readable = err == nil
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), "..") { // the kubelet's atomic-writer folders
				if _, err := os.ReadFile(filepath.Join(p, e.Name())); err == nil {
					pr.Files++
				}
			}
		}
		pr.WriteError = tryWrite(p)
		return pr
	}
	_, err = os.ReadFile(p)
	pr.Readable = err == nil
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		pr.WriteError = errName(err)
	} else {
		_ = f.Close()
	}
	return pr
}

type tlsReport struct {
	Addr  string `json:"addr"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	Peer  string `json:"peer,omitempty"`
}

// dialTLS: a TLS handshake with Go's defaults, i.e. the system roots as crypto/x509 finds them
// (SSL_CERT_FILE, SSL_CERT_DIR, then the usual bundle files and folders).
func dialTLS(addr, name string) tlsReport {
	r := tlsReport{Addr: addr}
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{ServerName: name})
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer conn.Close()
	r.OK = true
	if certs := conn.ConnectionState().PeerCertificates; len(certs) > 0 {
		r.Peer = certs[0].Subject.String()
	}
	return r
}

type dialReport struct {
	Addr  string `json:"addr"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// dialTCP: a TCP connection to addr within 3 s (a NetworkPolicy that drops shows as a timeout).
func dialTCP(addr string) dialReport {
	r := dialReport{Addr: addr}
	conn, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	_ = conn.Close()
	r.OK = true
	return r
}

type fillReport struct {
	Path    string `json:"path"`
	Written int    `json:"writtenMiB"`
	Error   string `json:"error,omitempty"`
}

// fill writes `mib` MiB of zeros into a new file under `path` (default /tmp) and keeps it.
func fill(path, mib string) fillReport {
	if path == "" {
		path = "/tmp"
	}
	n, _ := strconv.Atoi(mib)
	r := fillReport{Path: path}
	f, err := os.CreateTemp(path, "fill-*")
	if err != nil {
		r.Error = errName(err)
		return r
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for i := 0; i < n; i++ {
		if _, err := f.Write(buf); err != nil {
			r.Error = errName(err)
			return r
		}
		r.Written++
	}
	_ = f.Sync()
	return r
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("content-type", "application/json")
	_, _ = io.WriteString(w, mustJSON(v))
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return `{"error":"json"}`
	}
	return string(b)
}
