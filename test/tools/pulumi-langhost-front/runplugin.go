package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// RunPlugin for a policy pack runs `node <@pulumi/pulumi>/cmd/run-policy-pack <args...> <pack dir>`
// in the pack directory; for a resource plugin (a PulumiPlugin.yaml with `runtime: nodejs`, such as
// cleanimg's plugin package) `node <@pulumi/pulumi>/cmd/run-plugin <plugin dir> <args...>`. Either
// script is resolved from the plugin directory upwards (as Node does); stdout, stderr and the exit
// code are streamed back to the engine.
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

