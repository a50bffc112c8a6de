// helm-render renders a Helm chart offline the way `helm template` does, so
// that CI can validate the chart on a machine without helm.
//
// It implements the Helm pieces the idgate chart uses: value coalescing
// (chart values.yaml, then each -f file; null deletes a key), the template
// data (.Values .Release .Chart .Capabilities .Template), the sprig function
// map without env/expandenv, and Helm's own functions include, tpl, required,
// toYaml, fromYaml, fromYamlArray, toJson, fromJson, fromJsonArray. Numbers in
// values are float64, as in Helm (values go through YAML -> JSON). `lookup`
// is deliberately not defined: the chart must not depend on cluster state.
//
// Every template is executed even when another fails, so one run reports
// every broken template. Outputs in -out DIR:
//
//	manifest.yaml  what `helm template` prints (hooks included)
//	objects.json   [{"source": template, "object": {...}}] as JSON, the form
//	               the API server receives
//	values.json    the coalesced values (what values.schema.json applies to)
//	NOTES.txt      the rendered notes
//
// Exit status 1 when any template or chart check fails.
//
// Build offline with Debian's Go packages (no modules):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o helm-render ./render
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/semver"
	"github.com/Masterminds/sprig"
	"gopkg.in/yaml.v2"
)

// ---- YAML <-> JSON, with the semantics of sigs.k8s.io/yaml used by Helm ----

// jsonify turns what yaml.v2 decodes into JSON-compatible values.
func jsonify(v interface{}) (interface{}, error) {
	switch t := v.(type) {
	case map[interface{}]interface{}:
		m := make(map[string]interface{}, len(t))
		for k, val := range t {
			var ks string
			switch kk := k.(type) {
			case string:
				ks = kk
			case int, int64, uint64, float64, bool:
				ks = fmt.Sprint(kk)
			case nil:
				ks = "null"
			default:
				return nil, fmt.Errorf("unsupported map key %#v", k)
			}
			jv, err := jsonify(val)
			if err != nil {
				return nil, err
			}
			m[ks] = jv
		}
		return m, nil
	case []interface{}:
		out := make([]interface{}, len(t))
		for i, val := range t {
			jv, err := jsonify(val)
			if err != nil {
				return nil, err
			}
			out[i] = jv
		}
		return out, nil
	default:
		return v, nil
	}
}

// yamlToJSONValue decodes YAML and returns it as encoding/json would decode
// the equivalent JSON (numbers become float64). strict rejects duplicate keys.
func yamlToJSONValue(data []byte, strict bool) (interface{}, error) {
	var raw interface{}
	var err error
	if strict {
		err = yaml.UnmarshalStrict(data, &raw)
	} else {
		err = yaml.Unmarshal(data, &raw)
	}
	if err != nil {
		return nil, err
	}
	j, err := jsonify(raw)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(j)
	if err != nil {
		return nil, err
	}
	var out interface{}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// toYAML is Helm's toYaml: JSON marshal, then YAML of that (keys sorted).
func toYAML(v interface{}) (string, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	var o interface{}
	if err := yaml.Unmarshal(j, &o); err != nil {
		return "", err
	}
	out, err := yaml.Marshal(o)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(string(out), "\n"), nil
}

// ---- Values ----

func readValuesFile(file string) (map[string]interface{}, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	v, err := yamlToJSONValue(data, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	if v == nil {
		return map[string]interface{}{}, nil
	}
	m, ok := v.(map[string]interface{})
	if !ok {
		return nil, fmt.Errorf("%s: top level is not a map", file)
	}
	return m, nil
}

// mergeMaps merges b over a (later -f files win), keeping nulls from b.
func mergeMaps(a, b map[string]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if bm, ok := v.(map[string]interface{}); ok {
			if am, ok := out[k].(map[string]interface{}); ok {
				out[k] = mergeMaps(am, bm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// coalesce fills user values from chart defaults; a user null deletes the key.
func coalesce(user, defaults map[string]interface{}) map[string]interface{} {
	for k, dv := range defaults {
		uv, present := user[k]
		switch {
		case !present:
			user[k] = dv
		case uv == nil:
			delete(user, k)
		default:
			um, uok := uv.(map[string]interface{})
			dm, dok := dv.(map[string]interface{})
			if uok && dok {
				user[k] = coalesce(um, dm)
			}
		}
	}
	// Nulls in user values with no default are dropped too.
	for k, v := range user {
		if v == nil {
			delete(user, k)
		}
	}
	return user
}

// ---- Template data ----

type apiVersions []string

// Has is .Capabilities.APIVersions.Has: "group/version" or "group/version/Kind".
func (a apiVersions) Has(v string) bool {
	for _, x := range a {
		if x == v {
			return true
		}
	}
	return false
}

type kubeVersion struct {
	Version    string
	Major      string
	Minor      string
	GitVersion string
}

func (k kubeVersion) String() string { return k.Version }

type capabilities struct {
	APIVersions apiVersions
	KubeVersion kubeVersion
	HelmVersion map[string]string
}

// The API versions a v1.27+ cluster serves, as in `helm template` without a cluster.
var builtinAPIVersions = []string{
	"v1", "apps/v1", "batch/v1", "autoscaling/v1", "autoscaling/v2",
	"policy/v1", "networking.k8s.io/v1", "rbac.authorization.k8s.io/v1",
	"storage.k8s.io/v1", "discovery.k8s.io/v1", "coordination.k8s.io/v1",
	"scheduling.k8s.io/v1", "node.k8s.io/v1", "events.k8s.io/v1",
	"admissionregistration.k8s.io/v1", "apiextensions.k8s.io/v1",
	"apiregistration.k8s.io/v1", "certificates.k8s.io/v1",
}

func chartMetadata(meta map[string]interface{}) map[string]interface{} {
	out := map[string]interface{}{}
	for k, v := range meta {
		name := strings.ToUpper(k[:1]) + k[1:]
		if k == "apiVersion" {
			name = "APIVersion"
		}
		out[name] = v
	}
	return out
}

// ---- Rendering ----

type renderer struct {
	root     *template.Template
	strict   bool
	included map[string]int
}

const recursionMax = 1000

func (r *renderer) funcMap() template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	f["toYaml"] = func(v interface{}) string {
		s, err := toYAML(v)
		if err != nil {
			return ""
		}
		return s
	}
	f["mustToYaml"] = toYAML
	f["fromYaml"] = func(s string) map[string]interface{} {
		v, err := yamlToJSONValue([]byte(s), false)
		m, ok := v.(map[string]interface{})
		if err != nil || (!ok && v != nil) {
			if err == nil {
				err = errors.New("not a map")
			}
			return map[string]interface{}{"Error": err.Error()}
		}
		if m == nil {
			m = map[string]interface{}{}
		}
		return m
	}
	f["fromYamlArray"] = func(s string) []interface{} {
		v, err := yamlToJSONValue([]byte(s), false)
		a, ok := v.([]interface{})
		if err != nil || !ok {
			if err == nil {
				err = errors.New("not an array")
			}
			return []interface{}{err.Error()}
		}
		return a
	}
	f["toJson"] = func(v interface{}) string {
		b, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		return string(b)
	}
	f["mustToJson"] = func(v interface{}) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	}
	f["fromJson"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	f["fromJsonArray"] = func(s string) []interface{} {
		a := []interface{}{}
		if err := json.Unmarshal([]byte(s), &a); err != nil {
			a = []interface{}{err.Error()}
		}
		return a
	}
	f["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return v, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return v, errors.New(msg)
		}
		return v, nil
	}
	f["fail"] = func(msg string) (string, error) { return "", errors.New(msg) }
	f["include"] = r.includeFunc(nil)
	f["tpl"] = r.tplFunc(nil)
	return f
}

func (r *renderer) includeFunc(t *template.Template) func(string, interface{}) (string, error) {
	return func(name string, data interface{}) (string, error) {
		tt := t
		if tt == nil {
			tt = r.root
		}
		if r.included[name] > recursionMax {
			return "", fmt.Errorf("rendering template has a nested reference name: %s", name)
		}
		r.included[name]++
		defer func() { r.included[name]-- }()
		var buf strings.Builder
		err := tt.ExecuteTemplate(&buf, name, data)
		return buf.String(), err
	}
}

func (r *renderer) missingKey() string {
	if r.strict {
		return "missingkey=error"
	}
	return "missingkey=zero"
}

func (r *renderer) tplFunc(parent *template.Template) func(string, interface{}) (string, error) {
	return func(text string, data interface{}) (string, error) {
		p := parent
		if p == nil {
			p = r.root
		}
		t, err := p.Clone()
		if err != nil {
			return "", fmt.Errorf("cannot clone template: %v", err)
		}
		t.Option(r.missingKey())
		t.Funcs(template.FuncMap{"include": r.includeFunc(t), "tpl": r.tplFunc(t)})
		t, err = t.New(p.Name()).Parse(text)
		if err != nil {
			return "", fmt.Errorf("cannot parse template %q: %v", text, err)
		}
		var buf strings.Builder
		if err := t.Execute(&buf, data); err != nil {
			return "", fmt.Errorf("error during tpl function execution for %q: %v", text, err)
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
}

type options struct {
	chartDir    string
	valueFiles  []string
	releaseName string
	namespace   string
	kubeVersion string
	apiVersions []string
	outDir      string
	strict      bool
	isUpgrade   bool
}

type renderedObject struct {
	Source string      `json:"source"`
	Object interface{} `json:"object"`
}

var manifestSep = regexp.MustCompile(`(?:^|\s*\n)---\s*`)

// run returns the list of problems; the outputs are written even when some
// templates fail, so that later stages can still check what did render.
func run(o options) []string {
	var problems []string
	fail := func(format string, a ...interface{}) {
		problems = append(problems, fmt.Sprintf(format, a...))
	}

	// Chart.yaml
	metaBytes, err := os.ReadFile(filepath.Join(o.chartDir, "Chart.yaml"))
	if err != nil {
		return []string{err.Error()}
	}
	metaAny, err := yamlToJSONValue(metaBytes, true)
	if err != nil {
		return []string{"Chart.yaml: " + err.Error()}
	}
	meta, _ := metaAny.(map[string]interface{})
	chartName, _ := meta["name"].(string)
	if meta["apiVersion"] != "v2" {
		fail("chart: Chart.yaml apiVersion must be v2")
	}
	if chartName != filepath.Base(filepath.Clean(o.chartDir)) {
		fail("chart: Chart.yaml name %q does not match the directory name", chartName)
	}
	if v, _ := meta["version"].(string); v == "" {
		fail("chart: Chart.yaml version is missing (it must be a string)")
	} else if _, err := semver.StrictNewVersion(v); err != nil {
		fail("chart: Chart.yaml version %q is not SemVer 2: %v", v, err)
	}
	kv, err := semver.NewVersion(o.kubeVersion)
	if err != nil {
		return append(problems, "bad -kube-version: "+err.Error())
	}
	if c, _ := meta["kubeVersion"].(string); c != "" {
		con, err := semver.NewConstraint(c)
		if err != nil {
			fail("chart: Chart.yaml kubeVersion %q: %v", c, err)
		} else if !con.Check(kv) {
			fail("chart: requires kubeVersion %s, rendering for %s", c, o.kubeVersion)
		}
	}

	// Values: chart defaults, then -f files in order.
	defaults, err := readValuesFile(filepath.Join(o.chartDir, "values.yaml"))
	if err != nil {
		return append(problems, "values: "+err.Error())
	}
	user := map[string]interface{}{}
	for _, f := range o.valueFiles {
		m, err := readValuesFile(f)
		if err != nil {
			return append(problems, "values: "+err.Error())
		}
		user = mergeMaps(user, m)
	}
	values := coalesce(user, defaults)

	caps := capabilities{
		APIVersions: append(append(apiVersions{}, builtinAPIVersions...), o.apiVersions...),
		KubeVersion: kubeVersion{
			Version:    "v" + kv.String(),
			Major:      fmt.Sprint(kv.Major()),
			Minor:      fmt.Sprint(kv.Minor()),
			GitVersion: "v" + kv.String(),
		},
		HelmVersion: map[string]string{"Version": "v3.14.0"},
	}
	release := map[string]interface{}{
		"Name": o.releaseName, "Namespace": o.namespace, "Service": "Helm",
		"IsInstall": !o.isUpgrade, "IsUpgrade": o.isUpgrade, "Revision": 1,
	}

	// Templates: every file under templates/, parsed into one set.
	tdir := filepath.Join(o.chartDir, "templates")
	var files []string
	err = filepath.WalkDir(tdir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return append(problems, err.Error())
	}
	sort.Strings(files)
	r := &renderer{strict: o.strict, included: map[string]int{}}
	r.root = template.New("gotpl")
	r.root.Option(r.missingKey())
	r.root.Funcs(r.funcMap())
	names := map[string]string{} // template name -> file
	var order []string
	for _, f := range files {
		rel, _ := filepath.Rel(tdir, f)
		name := path.Join(chartName, "templates", filepath.ToSlash(rel))
		data, err := os.ReadFile(f)
		if err != nil {
			return append(problems, err.Error())
		}
		if _, err := r.root.New(name).Parse(string(data)); err != nil {
			fail("render: %v", err)
			continue
		}
		names[name] = f
		order = append(order, name)
	}

	var manifest strings.Builder
	var objects []renderedObject
	var notes string
	seen := map[string]string{}
	for _, name := range order {
		base := path.Base(name)
		if strings.HasPrefix(base, "_") {
			continue
		}
		data := map[string]interface{}{
			"Values":       values,
			"Release":      release,
			"Chart":        chartMetadata(meta),
			"Capabilities": caps,
			"Template": map[string]interface{}{
				"Name": name, "BasePath": path.Join(chartName, "templates"),
			},
		}
		var buf strings.Builder
		if err := r.root.ExecuteTemplate(&buf, name, data); err != nil {
			fail("render: %v", err)
			continue
		}
		out := strings.ReplaceAll(buf.String(), "<no value>", "")
		if base == "NOTES.txt" {
			notes = out
			continue
		}
		if !strings.HasSuffix(base, ".yaml") && !strings.HasSuffix(base, ".yml") && !strings.HasSuffix(base, ".tpl") {
			fail("render: %s: templates must be .yaml, .yml, .tpl or NOTES.txt", name)
			continue
		}
		for _, doc := range manifestSep.Split(out, -1) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			v, err := yamlToJSONValue([]byte(doc), true)
			if err != nil {
				fail("render: %s: rendered YAML does not parse: %v\n%s", name, err, doc)
				continue
			}
			if v == nil {
				continue // only comments
			}
			obj, ok := v.(map[string]interface{})
			if !ok {
				fail("render: %s: a rendered document is not a map", name)
				continue
			}
			apiVersion, _ := obj["apiVersion"].(string)
			kind, _ := obj["kind"].(string)
			md, _ := obj["metadata"].(map[string]interface{})
			objName, _ := md["name"].(string)
			if apiVersion == "" || kind == "" || objName == "" {
				fail("render: %s: object without apiVersion, kind or metadata.name", name)
			}
			key := apiVersion + "/" + kind + "/" + objName
			if prev, dup := seen[key]; dup {
				fail("render: %s: duplicate object %s (also in %s)", name, key, prev)
			}
			seen[key] = name
			manifest.WriteString("---\n# Source: " + name + "\n" + strings.TrimSpace(doc) + "\n")
			objects = append(objects, renderedObject{Source: name, Object: obj})
		}
	}

	if o.outDir != "" {
		if err := os.MkdirAll(o.outDir, 0o755); err != nil {
			return append(problems, err.Error())
		}
		write := func(file string, data []byte) {
			if err := os.WriteFile(filepath.Join(o.outDir, file), data, 0o644); err != nil {
				fail("%v", err)
			}
		}
		if objects == nil {
			objects = []renderedObject{}
		}
		oj, _ := json.MarshalIndent(objects, "", "  ")
		vj, _ := json.MarshalIndent(values, "", "  ")
		write("manifest.yaml", []byte(manifest.String()))
		write("objects.json", oj)
		write("values.json", vj)
		write("NOTES.txt", []byte(notes))
	}
	return problems
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	var o options
	var values, apis multiFlag
	flag.StringVar(&o.chartDir, "chart", "", "chart directory")
	flag.Var(&values, "f", "values file (repeatable, later wins)")
	flag.StringVar(&o.releaseName, "name", "idgate", "release name")
	flag.StringVar(&o.namespace, "namespace", "default", "release namespace")
	flag.StringVar(&o.kubeVersion, "kube-version", "1.29.0", "Kubernetes version for .Capabilities")
	flag.Var(&apis, "api-versions", "extra API version (repeatable), e.g. monitoring.coreos.com/v1/ServiceMonitor")
	flag.StringVar(&o.outDir, "out", "", "output directory")
	flag.BoolVar(&o.strict, "strict", false, "missingkey=error, like `helm lint --strict`")
	flag.BoolVar(&o.isUpgrade, "upgrade", false, ".Release.IsUpgrade")
	flag.Parse()
	if o.chartDir == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: helm-render -chart DIR [-f values.yaml]... [-out DIR] [-strict]")
		os.Exit(2)
	}
	o.valueFiles = values
	o.apiVersions = apis
	problems := run(o)
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
}
