// yaml-echo reads Kubernetes YAML the way kubectl does and prints what Go
// makes of it: k8s.io/apimachinery's YAML reader splits the stream into
// documents at `---` lines, and sigs.k8s.io/yaml (go-yaml v2 underneath, the
// reader behind kubectl and the API server's YAML input) turns each document
// into JSON.
//
// Usage: yaml-echo FILE... ("-" reads stdin)
//
// Prints one JSON line per document, in order, empty documents included:
//
//	{"file":"a.yaml","document":0,"object":{...}}
//	{"file":"a.yaml","document":1,"error":"yaml: line 3: ..."}
//
// A document Go cannot read is reported and the next one is read; a file whose
// document stream cannot be split is reported with "document" set to -1.
//
// Exit status: 0 when every document was read, 1 when any was not, 2 on a
// usage error or a file that cannot be opened.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Line is what yaml-echo prints for one document.
type Line struct {
	File     string          `json:"file"`
	Document int             `json:"document"`
	Object   json.RawMessage `json:"object,omitempty"`
	Error    string          `json:"error,omitempty"`
}

// echo prints every document of one stream; it returns false when any could not be read.
func echo(name string, r io.Reader, out *json.Encoder) (bool, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	ok := true
	for i := 0; ; i++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return ok, nil
		}
		if err != nil {
			return false, out.Encode(Line{File: name, Document: -1, Error: err.Error()})
		}
		line := Line{File: name, Document: i}
		if doc, err := yaml.YAMLToJSON(raw); err != nil {
			line.Error = err.Error()
			ok = false
		} else {
			line.Object = doc
		}
		if err := out.Encode(line); err != nil {
			return false, err
		}
	}
}

// echoFile prints the documents of one file ("-": stdin), and closes it.
func echoFile(name string, out *json.Encoder) (bool, error) {
	if name == "-" {
		return echo(name, os.Stdin, out)
	}
	f, err := os.Open(name)
	if err != nil {
		return false, err
	}
	defer f.Close()
	return echo(name, f, out)
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" {
		fmt.Fprintln(os.Stderr, "usage: yaml-echo FILE... (- for stdin): prints each YAML document as Go (sigs.k8s.io/yaml) reads it, as JSON lines")
		os.Exit(2)
	}
	w := bufio.NewWriter(os.Stdout)
	out := json.NewEncoder(w)
	out.SetEscapeHTML(false)
	status := 0
	for _, name := range os.Args[1:] {
		ok, err := echoFile(name, out)
		if err != nil {
			fmt.Fprintf(os.Stderr, "yaml-echo: %v\n", err)
			os.Exit(2)
		}
		if !ok {
			status = 1
		}
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintf(os.Stderr, "yaml-echo: %v\n", err)
		os.Exit(2)
	}
	os.Exit(status)
}
