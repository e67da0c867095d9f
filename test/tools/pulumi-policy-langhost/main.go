// pulumi-policy-langhost sits in front of the Pulumi Node.js language host that the end-to-end
// tier can build (sdk/v3 v3.68.0, see ../pulumi-language-nodejs) and makes up for two things that
// old host lacks against the Pulumi CLI 3.248:
//   - LanguageRuntime.RunPlugin, which the CLI uses to start a Node.js policy pack
//     (`pulumi preview --policy-pack DIR`) or a Node.js provider plugin (`pulumi package add DIR`,
//     a `packages:` entry of Pulumi.yaml): implemented here;
//   - runtime options sent in the request (ProgramInfo.options: `typescript`, `nodeargs`,
//     `tsconfig` from Pulumi.yaml): the old host only reads them as flags when it starts. A Run
//     call is therefore sent to a real host started with those options as flags.
//
// Every other call is forwarded, byte for byte, to the real language host.
//
// Installed as `pulumi-language-nodejs`; the real host is `pulumi-language-nodejs-real` in the
// same directory (or $PULUMI_LANGUAGE_NODEJS_REAL). Usage is the real host's: the engine starts
// it with the host's flags and the engine address, and reads the port from the first stdout line.
//
// RunPlugin for a policy pack runs `node <@pulumi/pulumi>/cmd/run-policy-pack <args...> <pack dir>`
// in the pack directory; for a resource plugin (a PulumiPlugin.yaml with `runtime: nodejs`, such as
// cleanimg's plugin package) `node <@pulumi/pulumi>/cmd/run-plugin <plugin dir> <args...>`. Either
// script is resolved from the plugin directory upwards (as Node does); stdout, stderr and the exit
// code are streamed back to the engine.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

const runPluginMethod = "/pulumirpc.LanguageRuntime/RunPlugin"

// rawCodec passes messages through undecoded, so any method can be forwarded.
type rawCodec struct{}

type frame struct{ data []byte }

func (rawCodec) Marshal(v any) ([]byte, error) {
	if f, ok := v.(*frame); ok {
		return f.data, nil
	}
	if m, ok := v.(proto.Message); ok {
		return proto.Marshal(m)
	}
	return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	if f, ok := v.(*frame); ok {
		f.data = append([]byte(nil), data...)
		return nil
	}
	if m, ok := v.(proto.Message); ok {
		return proto.Unmarshal(data, m)
	}
	return fmt.Errorf("rawCodec: cannot unmarshal into %T", v)
}

func (rawCodec) Name() string { return "proto" }

var _ encoding.Codec = rawCodec{}

func realHost() string {
	if p := os.Getenv("PULUMI_LANGUAGE_NODEJS_REAL"); p != "" {
		return p
	}
	return filepath.Join(filepath.Dir(os.Args[0]), "pulumi-language-nodejs-real")
}

// startReal starts the real language host with extra flags and our arguments, and returns its address.
func startReal(flags ...string) (*exec.Cmd, string, error) {
	cmd := exec.Command(realHost(), append(flags, os.Args[1:]...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	r := bufio.NewReader(out)
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, "", fmt.Errorf("reading the real language host's port: %w", err)
	}
	go func() { _, _ = io.Copy(os.Stdout, r) }()
	return cmd, "127.0.0.1:" + strings.TrimSpace(line), nil
}

const runMethod = "/pulumirpc.LanguageRuntime/Run"

type proxy struct {
	backend *grpc.ClientConn
	mu      sync.Mutex
	hosts   map[string]*grpc.ClientConn // real hosts started with runtime options, by flags
	procs   []*exec.Cmd
}

func dial(addr string) (*grpc.ClientConn, error) {
	return grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(400*1024*1024), grpc.MaxCallSendMsgSize(400*1024*1024)))
}

// runBackend returns a real host started with the runtime options of a Run request as flags.
func (p *proxy) runBackend(first []byte) (*grpc.ClientConn, error) {
	req := &pulumirpc.RunRequest{}
	if err := proto.Unmarshal(first, req); err != nil {
		return nil, err
	}
	var flags []string
	opts := req.GetInfo().GetOptions().AsMap()
	if v, ok := opts["typescript"].(bool); ok {
		flags = append(flags, fmt.Sprintf("-typescript=%t", v))
	}
	for _, k := range []string{"nodeargs", "tsconfig"} {
		if v, ok := opts[k].(string); ok && v != "" {
			flags = append(flags, fmt.Sprintf("-%s=%s", k, v))
		}
	}
	if len(flags) == 0 {
		return p.backend, nil
	}
	key := strings.Join(flags, "\x00")
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.hosts[key]; ok {
		return c, nil
	}
	cmd, addr, err := startReal(flags...)
	if err != nil {
		return nil, err
	}
	p.procs = append(p.procs, cmd)
	c, err := dial(addr)
	if err != nil {
		return nil, err
	}
	p.hosts[key] = c
	return c, nil
}

// handle forwards a call of any kind (unary or streaming) to a real host, except RunPlugin.
func (p *proxy) handle(_ any, ss grpc.ServerStream) error {
	method, ok := grpc.MethodFromServerStream(ss)
	if !ok {
		return status.Error(codes.Internal, "no method")
	}
	if method == runPluginMethod {
		return runPlugin(ss)
	}
	first := &frame{}
	if err := ss.RecvMsg(first); err != nil {
		return err
	}
	backend := p.backend
	if method == runMethod {
		b, err := p.runBackend(first.data)
		if err != nil {
			return status.Errorf(codes.Internal, "starting the language host with the runtime options: %v", err)
		}
		backend = b
	}
	md, _ := metadata.FromIncomingContext(ss.Context())
	ctx, cancel := context.WithCancel(metadata.NewOutgoingContext(ss.Context(), md))
	defer cancel()
	cs, err := backend.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, method, grpc.ForceCodec(rawCodec{}))
	if err != nil {
		return err
	}
	// A send that returns io.EOF means the host has already ended the call (an old host answers a
	// method it lacks with Unimplemented from the headers alone, often before the request is sent):
	// the call's real status comes from the receive below. Returning the bare io.EOF instead would
	// reach the engine as "Unknown: EOF", and the engine would not fall back to an older method.
	if err := cs.SendMsg(first); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	go func() {
		for {
			f := &frame{}
			if err := ss.RecvMsg(f); err != nil {
				if errors.Is(err, io.EOF) {
					_ = cs.CloseSend()
				}
				return
			}
			if err := cs.SendMsg(f); err != nil {
				return // io.EOF or a broken stream: the receive below reports the status
			}
		}
	}()
	if h, err := cs.Header(); err == nil {
		_ = ss.SendHeader(h)
	}
	for {
		f := &frame{}
		if err := cs.RecvMsg(f); err != nil {
			ss.SetTrailer(cs.Trailer())
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if err := ss.SendMsg(f); err != nil {
			return err
		}
	}
}

// runPlugin starts a Node.js policy pack and streams its output.
func runPlugin(ss grpc.ServerStream) error {
	req := &pulumirpc.RunPluginRequest{}
	if err := ss.RecvMsg(req); err != nil {
		return err
	}
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetProgram()
	}
	var args []string
	switch req.GetKind() {
	case "", "analyzer": // a policy pack: run-policy-pack <engine args...> <pack dir>
		script, err := findRunner(dir, "run-policy-pack")
		if err != nil {
			return status.Error(codes.FailedPrecondition, err.Error())
		}
		args = append(append([]string{script}, req.GetArgs()...), dir)
	case "resource": // a provider plugin (PulumiPlugin.yaml): run-plugin <plugin dir> <engine args...>
		script, err := findRunner(dir, "run-plugin")
		if err != nil {
			return status.Error(codes.FailedPrecondition, err.Error())
		}
		args = append([]string{script, dir}, req.GetArgs()...)
	default:
		return status.Errorf(codes.Unimplemented, "RunPlugin: only policy packs and resource plugins are supported, not %q", req.GetKind())
	}
	cmd := exec.Command("node", args...)
	cmd.Dir = dir
	cmd.Env = req.GetEnv()
	if len(cmd.Env) == 0 {
		cmd.Env = os.Environ()
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { // the engine cancels the call to stop the pack
		<-ss.Context().Done()
		if cmd.Process != nil {
			_ = cmd.Process.Signal(syscall.SIGTERM)
		}
	}()
	var mu sync.Mutex
	send := func(r *pulumirpc.RunPluginResponse) error {
		mu.Lock()
		defer mu.Unlock()
		return ss.SendMsg(r)
	}
	var wg sync.WaitGroup
	pump := func(r io.Reader, wrap func([]byte) *pulumirpc.RunPluginResponse) {
		defer wg.Done()
		buf := make([]byte, 32*1024)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				_ = send(wrap(append([]byte(nil), buf[:n]...)))
			}
			if err != nil {
				return
			}
		}
	}
	wg.Add(2)
	go pump(stdout, func(b []byte) *pulumirpc.RunPluginResponse {
		return &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: b}}
	})
	go pump(stderr, func(b []byte) *pulumirpc.RunPluginResponse {
		return &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: b}}
	})
	wg.Wait()
	code := 0
	if err := cmd.Wait(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return err
		}
		code = exit.ExitCode()
	}
	return send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(code)}})
}

// findRunner looks for @pulumi/pulumi/cmd/<name> (run-policy-pack, run-plugin) from dir upwards, as Node resolves it.
func findRunner(dir, name string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "node_modules", "@pulumi", "pulumi", "cmd", name, "index.js")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("Cannot find module '@pulumi/pulumi/cmd/%s' from %s: install the plugin's dependencies", name, dir)
		}
	}
}

func main() {
	real, addr, err := startReal()
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-policy-langhost: %v\n", err)
		os.Exit(1)
	}
	backend, err := dial(addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-policy-langhost: %v\n", err)
		os.Exit(1)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-policy-langhost: %v\n", err)
		os.Exit(1)
	}
	p := &proxy{backend: backend, hosts: map[string]*grpc.ClientConn{}}
	srv := grpc.NewServer(grpc.UnknownServiceHandler(p.handle), grpc.ForceServerCodec(rawCodec{}),
		grpc.MaxRecvMsgSize(400*1024*1024), grpc.MaxSendMsgSize(400*1024*1024))
	fmt.Printf("%d\n", lis.Addr().(*net.TCPAddr).Port)
	go func() {
		_ = real.Wait() // the real host exits when the engine goes away: so do we
		srv.Stop()
	}()
	if err := srv.Serve(lis); err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-policy-langhost: %v\n", err)
	}
	p.mu.Lock()
	for _, c := range append([]*exec.Cmd{real}, p.procs...) {
		if c.Process != nil {
			_ = c.Process.Kill()
		}
	}
	p.mu.Unlock()
}
