// Package deploy holds the container and Kubernetes manifests; its test checks
// that they say what SPEC §7 asks of them.
package deploy

import (
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func load(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return doc
}

func get(t *testing.T, v any, path ...string) any {
	t.Helper()
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s: not a mapping", strings.Join(path, "."))
		}
		v = m[p]
	}
	return v
}

func TestCronJob(t *testing.T) {
	c := load(t, "cronjob.yaml")
	for path, want := range map[string]any{
		"spec.timeZone":          "Etc/UTC",
		"spec.concurrencyPolicy": "Forbid",
		"spec.jobTemplate.spec.template.spec.restartPolicy": "Never",
	} {
		if got := get(t, c, strings.Split(path, ".")...); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	for _, p := range []string{"spec.startingDeadlineSeconds", "spec.jobTemplate.spec.backoffLimit", "spec.jobTemplate.spec.activeDeadlineSeconds",
		"spec.jobTemplate.spec.template.spec.terminationGracePeriodSeconds"} {
		if get(t, c, strings.Split(p, ".")...) == nil {
			t.Errorf("%s is not set", p)
		}
	}
	rules := get(t, c, "spec", "jobTemplate", "spec", "podFailurePolicy", "rules").([]any)
	codes := get(t, rules[0], "onExitCodes", "values").([]any)
	if get(t, rules[0], "action") != "FailJob" || len(codes) != 2 || codes[0] != 2 || codes[1] != 3 {
		t.Errorf("first rule %v: want FailJob on exit 2 and 3", rules[0])
	}
	if get(t, rules[1], "action") != "Ignore" {
		t.Errorf("second rule %v: want disruptions ignored", rules[1])
	}
	ctr := get(t, c, "spec", "jobTemplate", "spec", "template", "spec", "containers").([]any)[0]
	if get(t, ctr, "securityContext", "readOnlyRootFilesystem") != true || get(t, ctr, "resources", "limits", "memory") != "2Gi" {
		t.Errorf("container %v: want a read-only root and a 2Gi limit", ctr)
	}
	b, _ := os.ReadFile("Dockerfile")
	for _, want := range []string{"USER 10001", "AS build", "CGO_ENABLED=1", "bookworm-slim"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	load(t, "backfill-job.yaml")
}
