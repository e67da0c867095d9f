// psa-check evaluates every pod template found in Kubernetes YAML (or JSON)
// documents with the upstream Pod Security evaluator
// (k8s.io/pod-security-admission), at a given level and version
// (default: restricted, latest), and prints the findings as JSON.
//
// Usage: psa-check [--level restricted|baseline] [--version latest|v1.N] [--verdicts] FILE... ("-" reads stdin)
//
//	psa-check [--level ...] [--version ...] --list-checks
//
// Objects are decoded as the API server decodes them: field names are
// case-sensitive (sigs.k8s.io/json), unknown fields are dropped. Each finding
// names the upstream check ids that refuse the pod (e.g. "runAsNonRoot");
// --verdicts adds one verdict per checked pod template, allowed or not;
// --list-checks prints the check ids in force at the level and version.
//
// Exit status: 0 when every pod template is allowed (and for --list-checks),
// 1 when any finding is reported, 2 when the input cannot be read or parsed or
// nothing was checked.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Finding is one object whose pod template is not allowed at the level.
type Finding struct {
	File      string   `json:"file"`
	Document  int      `json:"document"`
	Kind      string   `json:"kind"`
	Namespace string   `json:"namespace,omitempty"`
	Name      string   `json:"name"`
	Path      string   `json:"path"`
	Reasons   []string `json:"reasons"`
	Details   []string `json:"details"`
	Message   string   `json:"message"`
	// Checks are the upstream check ids that refuse the pod, sorted.
	Checks []string `json:"checks"`
}

// Verdict is the upstream answer for one checked pod template (--verdicts).
type Verdict struct {
	File      string   `json:"file"`
	Document  int      `json:"document"`
	Kind      string   `json:"kind"`
	Namespace string   `json:"namespace,omitempty"`
	Name      string   `json:"name"`
	Path      string   `json:"path"`
	Allowed   bool     `json:"allowed"`
	Checks    []string `json:"checks"`
}

// Report is what psa-check prints on stdout.
type Report struct {
	Level    string    `json:"level"`
	Version  string    `json:"version"`
	Checked  int       `json:"checked"`
	Skipped  []string  `json:"skipped"`
	Findings []Finding `json:"findings"`
	Verdicts []Verdict `json:"verdicts,omitempty"`
}

type header struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Items      []json.RawMessage `json:"items"`
}

type podTemplate struct {
	path string
	meta *metav1.ObjectMeta
	spec *corev1.PodSpec
}

// decode reads JSON as the API server does: field names are matched
// case-sensitively (encoding/json would read "HostNetwork" as hostNetwork) and
// integers stay integers.
func decode(doc []byte, into any) error {
	return sigsjson.UnmarshalCaseSensitivePreserveInts(doc, into)
}

// templateOf decodes the object and returns where its pod spec sits.
// ok is false for kinds that carry no pod template.
func templateOf(kind string, doc []byte) (pt podTemplate, ok bool, err error) {
	switch kind {
	case "Pod":
		var o corev1.Pod
		err = decode(doc, &o)
		return podTemplate{"/spec", &o.ObjectMeta, &o.Spec}, true, err
	case "PodTemplate":
		var o corev1.PodTemplate
		err = decode(doc, &o)
		return podTemplate{"/template/spec", &o.Template.ObjectMeta, &o.Template.Spec}, true, err
	case "ReplicationController":
		var o corev1.ReplicationController
		err = decode(doc, &o)
		if err == nil && o.Spec.Template == nil {
			return pt, false, nil
		}
		return podTemplate{"/spec/template/spec", &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec}, true, err
	case "Deployment":
		var o appsv1.Deployment
		err = decode(doc, &o)
		return podTemplate{"/spec/template/spec", &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec}, true, err
	case "ReplicaSet":
		var o appsv1.ReplicaSet
		err = decode(doc, &o)
		return podTemplate{"/spec/template/spec", &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec}, true, err
	case "StatefulSet":
		var o appsv1.StatefulSet
		err = decode(doc, &o)
		return podTemplate{"/spec/template/spec", &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec}, true, err
	case "DaemonSet":
		var o appsv1.DaemonSet
		err = decode(doc, &o)
		return podTemplate{"/spec/template/spec", &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec}, true, err
	case "Job":
		var o batchv1.Job
		err = decode(doc, &o)
		return podTemplate{"/spec/template/spec", &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec}, true, err
	case "CronJob":
		var o batchv1.CronJob
		err = decode(doc, &o)
		return podTemplate{"/spec/jobTemplate/spec/template/spec", &o.Spec.JobTemplate.Spec.Template.ObjectMeta, &o.Spec.JobTemplate.Spec.Template.Spec}, true, err
	}
	return pt, false, nil
}

type checker struct {
	eval     policy.Evaluator
	lv       api.LevelVersion
	checks   []namedCheck
	verdicts bool
	report   *Report
}

// namedCheck is one upstream check in force at a level and version, with its id.
type namedCheck struct {
	ID    string `json:"id"`
	Level string `json:"level"`
	fn    policy.CheckPodFn
}

// inForce returns the version of a check that applies at v (the newest whose
// minimum version is not newer than v), if any.
func inForce(c policy.Check, v api.Version) (policy.VersionedCheck, bool) {
	var found policy.VersionedCheck
	ok := false
	for _, vc := range c.Versions {
		if !v.Older(vc.MinimumVersion) {
			found, ok = vc, true
		}
	}
	return found, ok
}

// effectiveChecks lists the checks the evaluator runs at lv, by id: the
// baseline checks, and for restricted also the restricted checks, minus the
// baseline checks a restricted one overrides (as policy.NewEvaluator does).
func effectiveChecks(all []policy.Check, lv api.LevelVersion) []namedCheck {
	overridden := map[policy.CheckID]bool{}
	if lv.Level == api.LevelRestricted {
		for _, c := range all {
			if vc, ok := inForce(c, lv.Version); ok && c.Level == api.LevelRestricted {
				for _, id := range vc.OverrideCheckIDs {
					overridden[id] = true
				}
			}
		}
	}
	var out []namedCheck
	for _, c := range all {
		if c.Level == api.LevelRestricted && lv.Level != api.LevelRestricted {
			continue
		}
		vc, ok := inForce(c, lv.Version)
		if !ok || (c.Level == api.LevelBaseline && overridden[c.ID]) {
			continue
		}
		out = append(out, namedCheck{ID: string(c.ID), Level: string(c.Level), fn: vc.CheckPod})
	}
	slices.SortFunc(out, func(a, b namedCheck) int { return cmpString(a.ID, b.ID) })
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// refusing returns the ids of the checks that refuse the pod.
func (c *checker) refusing(meta *metav1.ObjectMeta, spec *corev1.PodSpec) []string {
	ids := []string{}
	for _, nc := range c.checks {
		if !nc.fn(meta, spec).Allowed {
			ids = append(ids, nc.ID)
		}
	}
	return ids
}

func (c *checker) object(file string, docIndex int, doc []byte) error {
	var h header
	if err := decode(doc, &h); err != nil {
		return fmt.Errorf("%s: document %d: %v", file, docIndex, err)
	}
	if h.Kind == "" {
		return fmt.Errorf("%s: document %d: no kind", file, docIndex)
	}
	if h.Kind == "List" || (len(h.Items) > 0 && len(h.Kind) > 4 && h.Kind[len(h.Kind)-4:] == "List") {
		for _, item := range h.Items {
			if err := c.object(file, docIndex, item); err != nil {
				return err
			}
		}
		return nil
	}
	pt, ok, err := templateOf(h.Kind, doc)
	if err != nil {
		return fmt.Errorf("%s: document %d (%s %s): %v", file, docIndex, h.Kind, h.Metadata.Name, err)
	}
	if !ok {
		c.report.Skipped = append(c.report.Skipped, fmt.Sprintf("%s/%s", h.Kind, h.Metadata.Name))
		return nil
	}
	c.report.Checked++
	agg := policy.AggregateCheckResults(c.eval.EvaluatePod(c.lv, pt.meta, pt.spec))
	ids := c.refusing(pt.meta, pt.spec)
	if agg.Allowed != (len(ids) == 0) || len(ids) != len(agg.ForbiddenReasons) {
		return fmt.Errorf("%s: document %d (%s %s): the evaluator refuses for %d reasons but the checks by id name %v: psa-check's list of checks is out of step with the evaluator",
			file, docIndex, h.Kind, h.Metadata.Name, len(agg.ForbiddenReasons), ids)
	}
	if c.verdicts {
		c.report.Verdicts = append(c.report.Verdicts, Verdict{
			File: file, Document: docIndex, Kind: h.Kind, Namespace: h.Metadata.Namespace, Name: h.Metadata.Name,
			Path: pt.path, Allowed: agg.Allowed, Checks: ids,
		})
	}
	if !agg.Allowed {
		c.report.Findings = append(c.report.Findings, Finding{
			File:      file,
			Document:  docIndex,
			Kind:      h.Kind,
			Namespace: h.Metadata.Namespace,
			Name:      h.Metadata.Name,
			Path:      pt.path,
			Reasons:   agg.ForbiddenReasons,
			Details:   agg.ForbiddenDetails,
			Message:   fmt.Sprintf("violates PodSecurity %q: %s", c.lv.String(), agg.ForbiddenDetail()),
			Checks:    ids,
		})
	}
	return nil
}

func (c *checker) file(name string) error {
	var r io.Reader
	if name == "-" {
		r = os.Stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	yr := utilyaml.NewYAMLReader(bufio.NewReader(r))
	for i := 0; ; i++ {
		raw, err := yr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: document %d: %v", name, i, err)
		}
		if len(bytes.TrimSpace(stripComments(raw))) == 0 {
			continue
		}
		doc, err := yaml.YAMLToJSON(raw)
		if err != nil {
			return fmt.Errorf("%s: document %d: %v", name, i, err)
		}
		if string(doc) == "null" {
			continue
		}
		if err := c.object(name, i, doc); err != nil {
			return err
		}
	}
}

// stripComments drops whole-line comments so a document of only comments is seen as empty.
func stripComments(b []byte) []byte {
	var out bytes.Buffer
	for _, line := range bytes.Split(b, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] == '#' {
			continue
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

func main() {
	level := flag.String("level", "restricted", "Pod Security level: baseline or restricted")
	version := flag.String("version", "latest", "Pod Security version: latest or v1.N")
	verdicts := flag.Bool("verdicts", false, "also report one verdict per checked pod template, allowed or not")
	listChecks := flag.Bool("list-checks", false, "print the upstream check ids in force at the level and version, and exit")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: psa-check [--level restricted|baseline] [--version latest|v1.N] [--verdicts] FILE... (- for stdin)\n       psa-check [--level ...] [--version ...] --list-checks\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	fail := func(format string, a ...any) {
		fmt.Fprintf(os.Stderr, "psa-check: "+format+"\n", a...)
		os.Exit(2)
	}
	if flag.NArg() == 0 && !*listChecks {
		flag.Usage()
		os.Exit(2)
	}
	lvl, err := api.ParseLevel(*level)
	if err != nil || lvl == api.LevelPrivileged {
		fail("--level %q: use baseline or restricted", *level)
	}
	ver, err := api.ParseVersion(*version)
	if err != nil {
		fail("--version %q: use latest or v1.N (%v)", *version, err)
	}
	eval, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		fail("evaluator: %v", err)
	}
	lv := api.LevelVersion{Level: lvl, Version: ver}
	checks := effectiveChecks(policy.DefaultChecks(), lv)
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if *listChecks {
		if err := enc.Encode(struct {
			Level   string       `json:"level"`
			Version string       `json:"version"`
			Checks  []namedCheck `json:"checks"`
		}{string(lvl), ver.String(), checks}); err != nil {
			fail("%v", err)
		}
		return
	}
	rep := &Report{Level: string(lvl), Version: ver.String(), Skipped: []string{}, Findings: []Finding{}}
	c := &checker{eval: eval, lv: lv, checks: checks, verdicts: *verdicts, report: rep}
	for _, name := range flag.Args() {
		if err := c.file(name); err != nil {
			fail("%v", err)
		}
	}
	if err := enc.Encode(rep); err != nil {
		fail("%v", err)
	}
	if rep.Checked == 0 {
		fmt.Fprintln(os.Stderr, "psa-check: no pod template found in the input")
		os.Exit(2)
	}
	if len(rep.Findings) > 0 {
		os.Exit(1)
	}
}
