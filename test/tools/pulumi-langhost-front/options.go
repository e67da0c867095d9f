package main

import (
	"fmt"
	"path/filepath"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// language is the host's language, read from the front's name: pulumi-language-<language>.
var language = "nodejs"

func languageOf(argv0 string) string {
	name := strings.TrimSuffix(filepath.Base(argv0), ".exe")
	if l, ok := strings.CutPrefix(name, "pulumi-language-"); ok && l != "" {
		return l
	}
	return "nodejs"
}

// ownMethods are the calls the front answers itself, per language.
var ownMethods = map[string]map[string]func(grpc.ServerStream) error{
	"nodejs": {"/pulumirpc.LanguageRuntime/RunPlugin": runPlugin},
	"python": {
		"/pulumirpc.LanguageRuntime/GeneratePackage": generatePythonPackage,
		"/pulumirpc.LanguageRuntime/Link":            linkPython,
	},
}

// programInfoOf returns the program of a call that carries one (and with it the runtime options).
func programInfoOf(method string, first []byte) (*pulumirpc.ProgramInfo, error) {
	var msg interface {
		proto.Message
		GetInfo() *pulumirpc.ProgramInfo
	}
	switch strings.TrimPrefix(method, "/pulumirpc.LanguageRuntime/") {
	case "Run":
		msg = &pulumirpc.RunRequest{}
	case "InstallDependencies":
		msg = &pulumirpc.InstallDependenciesRequest{}
	case "GetRequiredPlugins":
		msg = &pulumirpc.GetRequiredPluginsRequest{}
	case "GetProgramDependencies":
		msg = &pulumirpc.GetProgramDependenciesRequest{}
	default:
		return nil, nil
	}
	if err := proto.Unmarshal(first, msg); err != nil {
		return nil, fmt.Errorf("reading %s: %w", method, err)
	}
	return msg.GetInfo(), nil
}

// optionFlags are the old host's start-up flags for the program's runtime options.
func optionFlags(lang string, info *pulumirpc.ProgramInfo) []string {
	opts := info.GetOptions().AsMap()
	var flags []string
	switch lang {
	case "nodejs":
		if v, ok := opts["typescript"].(bool); ok {
			flags = append(flags, fmt.Sprintf("-typescript=%t", v))
		}
		for _, k := range []string{"nodeargs", "tsconfig"} {
			if v, ok := opts[k].(string); ok && v != "" {
				flags = append(flags, fmt.Sprintf("-%s=%s", k, v))
			}
		}
	case "python":
		// The old host resolves a relative virtualenv against -root (the project's folder).
		if v, ok := opts["virtualenv"].(string); ok && v != "" {
			flags = append(flags, "-virtualenv="+v)
			if root := info.GetRootDirectory(); root != "" {
				flags = append(flags, "-root="+root)
			}
		}
	}
	return flags
}
