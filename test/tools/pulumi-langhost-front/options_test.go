package main

import (
	"os"
	"path/filepath"
	"testing"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestLanguageComesFromTheFrontsName(t *testing.T) {
	for argv0, want := range map[string]string{
		"/x/bin/pulumi-language-python": "python",
		"pulumi-language-nodejs":        "nodejs",
		"/x/other-name":                 "nodejs",
	} {
		if got := languageOf(argv0); got != want {
			t.Errorf("languageOf(%q) = %q, want %q", argv0, got, want)
		}
	}
}

func info(t *testing.T, opts map[string]any) *pulumirpc.ProgramInfo {
	t.Helper()
	s, err := structpb.NewStruct(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &pulumirpc.ProgramInfo{RootDirectory: "/proj", ProgramDirectory: "/proj", EntryPoint: ".", Options: s}
}

// Runtime options become the old hosts' start-up flags; a program without them uses the default host.
func TestOptionFlags(t *testing.T) {
	cases := []struct {
		lang string
		opts map[string]any
		want []string
	}{
		{"python", map[string]any{"virtualenv": "venv"}, []string{"-virtualenv=venv", "-root=/proj"}},
		{"python", map[string]any{}, nil},
		{"nodejs", map[string]any{"typescript": false, "nodeargs": "--no-warnings"}, []string{"-typescript=false", "-nodeargs=--no-warnings"}},
		{"nodejs", map[string]any{"virtualenv": "venv"}, nil},
	}
	for _, c := range cases {
		got := optionFlags(c.lang, info(t, c.opts))
		if len(got) != len(c.want) {
			t.Errorf("%s %v: got %v, want %v", c.lang, c.opts, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s %v: got %v, want %v", c.lang, c.opts, got, c.want)
			}
		}
	}
}

// The calls that carry a program (and so its options) are read; others are not.
func TestProgramInfoOfReadsTheCallsThatCarryOne(t *testing.T) {
	want := info(t, map[string]any{"virtualenv": "venv"})
	for method, msg := range map[string]proto.Message{
		"/pulumirpc.LanguageRuntime/Run":                    &pulumirpc.RunRequest{Info: want},
		"/pulumirpc.LanguageRuntime/InstallDependencies":    &pulumirpc.InstallDependenciesRequest{Info: want},
		"/pulumirpc.LanguageRuntime/GetRequiredPlugins":     &pulumirpc.GetRequiredPluginsRequest{Info: want},
		"/pulumirpc.LanguageRuntime/GetProgramDependencies": &pulumirpc.GetProgramDependenciesRequest{Info: want},
	} {
		b, _ := proto.Marshal(msg)
		got, err := programInfoOf(method, b)
		if err != nil || got.GetOptions().AsMap()["virtualenv"] != "venv" {
			t.Errorf("%s: got %v, %v", method, got, err)
		}
	}
	if got, err := programInfoOf("/pulumirpc.LanguageRuntime/About", nil); got != nil || err != nil {
		t.Errorf("About: got %v, %v", got, err)
	}
}

// Link adds each SDK folder to requirements.txt once, keeping what is there, and names the import.
func TestLinkAddsTheSDKToRequirementsOnce(t *testing.T) {
	file := filepath.Join(t.TempDir(), "requirements.txt")
	if err := os.WriteFile(file, []byte("pulumi==3.248.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	deps := []*pulumirpc.LinkRequest_LinkDependency{{Path: "sdks/cleanimg", Package: &pulumirpc.PackageDependency{Name: "cleanimg"}}}
	for i := 0; i < 2; i++ {
		instructions, err := addRequirements(file, deps)
		if err != nil || instructions != "import pulumi_cleanimg as cleanimg" {
			t.Fatalf("got %q, %v", instructions, err)
		}
	}
	got, _ := os.ReadFile(file)
	if string(got) != "pulumi==3.248.0\n./sdks/cleanimg\n" {
		t.Fatalf("requirements.txt: %q", got)
	}
}
