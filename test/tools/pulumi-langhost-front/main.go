// pulumi-langhost-front sits in front of a Pulumi language host that the end-to-end tier can
// build (the Node.js and Python hosts of sdk/v3 v3.68.0: their own modules are not served by the Go
// module proxy reachable here) and makes up for what those old hosts lack against the CLI 3.248:
//   - runtime options sent in the request (ProgramInfo.options from Pulumi.yaml: Node.js
//     `typescript`, `nodeargs`, `tsconfig`; Python `virtualenv`): the old hosts only read them as
//     flags when they start. A call that carries them (Run, InstallDependencies,
//     GetRequiredPlugins, GetProgramDependencies) goes to a real host started with those flags;
//   - Node.js: LanguageRuntime.RunPlugin, which the CLI uses to start a Node.js policy pack
//     (`pulumi preview --policy-pack DIR`) or a Node.js provider plugin (`pulumi package add DIR`,
//     a `packages:` entry of Pulumi.yaml) (runplugin.go);
//   - Python: GeneratePackage and Link, which `pulumi package add` uses to generate a local SDK and
//     add it to requirements.txt (python.go, with the CLI's own Python code generator).
//
// Every other call is forwarded, byte for byte, to the real language host.
//
// Installed as `pulumi-language-<lang>` (the language is read from that name); the real host is
// `pulumi-language-<lang>-real` in the same directory (or $PULUMI_LANGUAGE_<LANG>_REAL). Usage is
// the real host's: the engine starts it with the host's flags and the engine address, and reads the
// port from the first stdout line.
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

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)


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
	if p := os.Getenv("PULUMI_LANGUAGE_" + strings.ToUpper(language) + "_REAL"); p != "" {
		return p
	}
	return filepath.Join(filepath.Dir(os.Args[0]), "pulumi-language-"+language+"-real")
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

// backendFor returns a real host started with the runtime options of the call's program as flags,
// or the default one when the call carries none.
func (p *proxy) backendFor(method string, first []byte) (*grpc.ClientConn, error) {
	info, err := programInfoOf(method, first)
	if err != nil || info == nil {
		return p.backend, err
	}
	flags := optionFlags(language, info)
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
	if own, ok := ownMethods[language][method]; ok {
		return own(ss)
	}
	first := &frame{}
	if err := ss.RecvMsg(first); err != nil {
		return err
	}
	backend, err := p.backendFor(method, first.data)
	if err != nil {
		return status.Errorf(codes.Internal, "starting the language host with the runtime options: %v", err)
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

func main() {
	language = languageOf(os.Args[0])
	real, addr, err := startReal()
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-langhost-front: %v\n", err)
		os.Exit(1)
	}
	backend, err := dial(addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-langhost-front: %v\n", err)
		os.Exit(1)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-langhost-front: %v\n", err)
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
		fmt.Fprintf(os.Stderr, "pulumi-langhost-front: %v\n", err)
	}
	p.mu.Lock()
	for _, c := range append([]*exec.Cmd{real}, p.procs...) {
		if c.Process != nil {
			_ = c.Process.Kill()
		}
	}
	p.mu.Unlock()
}
