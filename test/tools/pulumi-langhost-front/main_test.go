package main

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// serve starts a gRPC server on 127.0.0.1 whose every call goes to handler, and returns its address.
func serve(t *testing.T, handler grpc.StreamHandler, opts ...grpc.ServerOption) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(append(opts, grpc.UnknownServiceHandler(handler))...)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// front starts the proxy in front of a backend handler and returns a LanguageRuntime client for it.
func front(t *testing.T, backend grpc.StreamHandler) pulumirpc.LanguageRuntimeClient {
	t.Helper()
	conn, err := dial(serve(t, backend))
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{backend: conn, hosts: map[string]*grpc.ClientConn{}}
	addr := serve(t, p.handle, grpc.ForceServerCodec(rawCodec{}))
	client, err := dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close(); _ = conn.Close() })
	return pulumirpc.NewLanguageRuntimeClient(client)
}

// An old host answers a method it lacks with Unimplemented from the headers alone, often before the
// front has sent the request: the engine must still see Unimplemented (it then falls back to an older
// method), never the bare "EOF" the send reports in that case.
func TestUnimplementedReachesTheEngineEvenWhenTheHostAnswersBeforeTheRequest(t *testing.T) {
	client := front(t, func(any, grpc.ServerStream) error {
		return status.Error(codes.Unimplemented, "unknown method GetRequiredPackages")
	})
	for i := 0; i < 500; i++ {
		_, err := client.GetRequiredPackages(context.Background(), &pulumirpc.GetRequiredPackagesRequest{})
		if status.Code(err) != codes.Unimplemented {
			t.Fatalf("call %d: want Unimplemented, got %v", i, err)
		}
	}
}

// A unary answer passes through unchanged.
func TestUnaryAnswerPassesThrough(t *testing.T) {
	client := front(t, func(_ any, ss grpc.ServerStream) error {
		if err := ss.RecvMsg(&emptypb.Empty{}); err != nil {
			return err
		}
		return ss.SendMsg(&pulumirpc.PluginInfo{Version: "3.68.0"})
	})
	for i := 0; i < 50; i++ {
		info, err := client.GetPluginInfo(context.Background(), &emptypb.Empty{})
		if err != nil || info.GetVersion() != "3.68.0" {
			t.Fatalf("call %d: got %v, %v", i, info, err)
		}
	}
}

// runPluginOutput calls RunPlugin through the front and returns stdout and the exit code.
func runPluginOutput(t *testing.T, req *pulumirpc.RunPluginRequest) (string, int32, error) {
	t.Helper()
	client := front(t, func(any, grpc.ServerStream) error { return status.Error(codes.Internal, "not forwarded") })
	stream, err := client.RunPlugin(context.Background(), req)
	if err != nil {
		return "", 0, err
	}
	var out strings.Builder
	for {
		r, err := stream.Recv()
		if err == io.EOF {
			return out.String(), -1, nil
		}
		if err != nil {
			return out.String(), 0, err
		}
		out.Write(r.GetStdout())
		if _, ok := r.GetOutput().(*pulumirpc.RunPluginResponse_Exitcode); ok {
			return out.String(), r.GetExitcode(), nil
		}
	}
}

// A fake @pulumi/pulumi whose runner scripts print their name and arguments.
func fakeRunners(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, name := range []string{"run-plugin", "run-policy-pack"} {
		d := filepath.Join(root, "node_modules", "@pulumi", "pulumi", "cmd", name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		script := "console.log(JSON.stringify([" + `"` + name + `"` + ", process.cwd(), ...process.argv.slice(2)])); process.exit(3);\n"
		if err := os.WriteFile(filepath.Join(d, "index.js"), []byte(script), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	plugin := filepath.Join(root, "plugin")
	if err := os.Mkdir(plugin, 0o755); err != nil {
		t.Fatal(err)
	}
	return plugin
}

// A resource plugin runs run-plugin with the plugin directory first, then the engine's arguments;
// a policy pack runs run-policy-pack with the directory last; both in the plugin directory, with
// the exit code passed on.
func TestRunPluginStartsResourcePluginsAndPolicyPacks(t *testing.T) {
	plugin := fakeRunners(t)
	info := &pulumirpc.ProgramInfo{ProgramDirectory: plugin, RootDirectory: plugin, EntryPoint: "."}
	out, code, err := runPluginOutput(t, &pulumirpc.RunPluginRequest{Info: info, Kind: "resource", Args: []string{"127.0.0.1:1234"}})
	if err != nil || code != 3 {
		t.Fatalf("resource plugin: code %d, err %v, out %q", code, err, out)
	}
	if want := `["run-plugin","` + plugin + `","` + plugin + `","127.0.0.1:1234"]`; strings.TrimSpace(out) != want {
		t.Fatalf("resource plugin: got %s, want %s", out, want)
	}
	out, code, err = runPluginOutput(t, &pulumirpc.RunPluginRequest{Info: info, Kind: "analyzer", Args: []string{"127.0.0.1:1234"}})
	if err != nil || code != 3 {
		t.Fatalf("policy pack: code %d, err %v, out %q", code, err, out)
	}
	if want := `["run-policy-pack","` + plugin + `","127.0.0.1:1234","` + plugin + `"]`; strings.TrimSpace(out) != want {
		t.Fatalf("policy pack: got %s, want %s", out, want)
	}
}

// Other plugin kinds are refused with Unimplemented, naming the kind.
func TestRunPluginRefusesOtherKinds(t *testing.T) {
	plugin := fakeRunners(t)
	info := &pulumirpc.ProgramInfo{ProgramDirectory: plugin, RootDirectory: plugin, EntryPoint: "."}
	_, _, err := runPluginOutput(t, &pulumirpc.RunPluginRequest{Info: info, Kind: "converter"})
	if status.Code(err) != codes.Unimplemented || !strings.Contains(err.Error(), "converter") {
		t.Fatalf("want Unimplemented naming the kind, got %v", err)
	}
}
