// Package deploy holds the container and Kubernetes manifests; its test checks
// that they say what SPEC §7 asks of them.
package deploy

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	sigsyaml "sigs.k8s.io/yaml"
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

// strict decodes a manifest's documents into the Kubernetes API types, an
// unknown field failing (a misspelt field is otherwise silently dropped).
func strict[T any](t *testing.T, name string) []T {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var out []T
	for _, doc := range strings.Split(string(b), "\n---\n") {
		var v T
		if err := sigsyaml.UnmarshalStrict([]byte(doc), &v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, v)
	}
	return out
}

// TestManifestsDecodeStrictly: every manifest is valid Kubernetes.
func TestManifestsDecodeStrictly(t *testing.T) {
	strict[batchv1.CronJob](t, "cronjob.yaml")
	strict[batchv1.Job](t, "backfill-job.yaml")
	strict[batchv1.Job](t, "backfill-sharded-job.yaml")
	strict[corev1.PersistentVolumeClaim](t, "volumes.yaml")
	strict[batchv1.CronJob](t, "cronjob-sharded.yaml")
}

// TestShardedJobs: the sharded nightly is an Indexed Job of N completions run N
// at once, each pod one shard of N (SPEC §7.1), with the nightly's policies.
func TestShardedJobs(t *testing.T) {
	cron := strict[batchv1.CronJob](t, "cronjob-sharded.yaml")[0]
	job := strict[batchv1.Job](t, "backfill-sharded-job.yaml")[0]
	for name, spec := range map[string]batchv1.JobSpec{"cronjob-sharded.yaml": cron.Spec.JobTemplate.Spec, "backfill-sharded-job.yaml": job.Spec} {
		if spec.CompletionMode == nil || *spec.CompletionMode != batchv1.IndexedCompletion {
			t.Errorf("%s: completionMode %v, want Indexed", name, spec.CompletionMode)
		}
		if spec.Completions == nil || spec.Parallelism == nil || *spec.Completions != *spec.Parallelism {
			t.Fatalf("%s: completions %v and parallelism %v must be set and equal", name, spec.Completions, spec.Parallelism)
		}
		n := *spec.Completions
		args := strings.Join(spec.Template.Spec.Containers[0].Args, " ")
		if want := fmt.Sprintf("--shard $(JOB_COMPLETION_INDEX)/%d", n); !strings.Contains(args, want) {
			t.Errorf("%s: args %q lack %q", name, args, want)
		}
		if spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
			t.Errorf("%s: restartPolicy %s, want Never", name, spec.Template.Spec.RestartPolicy)
		}
		// retries per index: a shard retries alone; 2 and 3 fail their index
		// at once, and a failed index fails the Job
		if spec.BackoffLimitPerIndex == nil || *spec.BackoffLimitPerIndex < 1 || spec.MaxFailedIndexes == nil || *spec.MaxFailedIndexes != 0 {
			t.Errorf("%s: backoffLimitPerIndex %v, maxFailedIndexes %v; want per-index retries and 0", name, spec.BackoffLimitPerIndex, spec.MaxFailedIndexes)
		}
		rules := spec.PodFailurePolicy.Rules
		if len(rules) != 2 || rules[0].Action != batchv1.PodFailurePolicyActionFailIndex || !slices.Equal(rules[0].OnExitCodes.Values, []int32{2, 3}) ||
			rules[1].Action != batchv1.PodFailurePolicyActionIgnore {
			t.Errorf("%s: podFailurePolicy %+v: want FailIndex on 2 and 3, disruptions ignored", name, rules)
		}
		for _, v := range spec.Template.Spec.Volumes {
			if v.Name == "warehouse" && v.PersistentVolumeClaim.ClaimName != "attain-warehouse-shared" {
				t.Errorf("%s: warehouse claim %s, want the ReadWriteMany attain-warehouse-shared", name, v.PersistentVolumeClaim.ClaimName)
			}
		}
	}
	if cron.Spec.TimeZone == nil || *cron.Spec.TimeZone != "Etc/UTC" || cron.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("cronjob-sharded.yaml: timeZone %v, concurrencyPolicy %s; want Etc/UTC, Forbid", cron.Spec.TimeZone, cron.Spec.ConcurrencyPolicy)
	}
	for _, pvc := range strict[corev1.PersistentVolumeClaim](t, "volumes.yaml") {
		if !slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteMany) {
			t.Errorf("volumes.yaml: %s is not ReadWriteMany", pvc.Name)
		}
	}
}
