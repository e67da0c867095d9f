package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// generatePythonPackage writes a Python SDK for a schema (`pulumi package add`, `pulumi package
// gen-sdk --language python`) with the CLI's own Python code generator.
func generatePythonPackage(ss grpc.ServerStream) error {
	req := &pulumirpc.GeneratePackageRequest{}
	if err := ss.RecvMsg(req); err != nil {
		return err
	}
	if err := writePythonSDK(req); err != nil {
		return status.Errorf(codes.Internal, "generating the Python SDK: %v", err)
	}
	return ss.SendMsg(&pulumirpc.GeneratePackageResponse{})
}

func writePythonSDK(req *pulumirpc.GeneratePackageRequest) error {
	var spec schema.PackageSpec
	if err := json.Unmarshal([]byte(req.GetSchema()), &spec); err != nil {
		return fmt.Errorf("reading the schema: %w", err)
	}
	loader, err := schema.NewLoaderClient(req.GetLoaderTarget())
	if err != nil {
		return err
	}
	defer loader.Close()
	pkg, diags, err := schema.BindSpec(spec, loader, schema.ValidationOptions{AllowDanglingReferences: true})
	if err != nil {
		return err
	}
	if diags.HasErrors() {
		return diags
	}
	files, err := python.GeneratePackage("pulumi-language-python", pkg, req.GetExtraFiles(), loader)
	if err != nil {
		return err
	}
	for name, data := range files {
		path := filepath.Join(req.GetDirectory(), name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// linkPython adds each generated SDK's folder to the program's requirements.txt (the old host's
// InstallDependencies then installs it into the virtualenv with pip), as the current Python host
// does for pip projects.
func linkPython(ss grpc.ServerStream) error {
	req := &pulumirpc.LinkRequest{}
	if err := ss.RecvMsg(req); err != nil {
		return err
	}
	root := req.GetInfo().GetRootDirectory()
	instructions, err := addRequirements(filepath.Join(root, "requirements.txt"), req.GetPackages())
	if err != nil {
		return status.Errorf(codes.Internal, "linking into requirements.txt: %v", err)
	}
	return ss.SendMsg(&pulumirpc.LinkResponse{ImportInstructions: instructions})
}

func addRequirements(file string, deps []*pulumirpc.LinkRequest_LinkDependency) (string, error) {
	old, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		return "", err
	}
	lines := strings.Split(strings.TrimRight(string(old), "\n"), "\n")
	if len(old) == 0 {
		lines = nil
	}
	var instructions []string
	for _, d := range deps {
		path := filepath.ToSlash(d.GetPath())
		if !strings.HasPrefix(path, ".") && !filepath.IsAbs(path) {
			path = "./" + path
		}
		present := false
		for _, l := range lines {
			if strings.TrimSpace(l) == path {
				present = true
			}
		}
		if !present {
			lines = append(lines, path)
		}
		name := d.GetPackage().GetName()
		module := "pulumi_" + strings.ReplaceAll(name, "-", "_")
		instructions = append(instructions, fmt.Sprintf("import %s as %s", module, strings.ReplaceAll(name, "-", "_")))
	}
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return "", err
	}
	return strings.Join(instructions, "\n"), nil
}
