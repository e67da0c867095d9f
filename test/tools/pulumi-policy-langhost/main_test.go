package main

import (
	"context"
	"net"
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
