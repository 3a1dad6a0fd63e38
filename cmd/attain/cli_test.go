package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"attain/pipeline"
)

// attain runs the program as main does and returns its exit code and output.
func attain(t testing.TB, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "inbox")
	os.MkdirAll(in, 0o755)
	wh := filepath.Join(dir, "wh")
	flags := []string{"--inbox", in, "--warehouse", wh, "--as-of", "2026-11-23"}

	t.Run("success", func(t *testing.T) {
		os.WriteFile(filepath.Join(in, "fx_rates_2026-11-20.csv"), []byte("currency,month,usd_per_unit\nEUR,2026-10,1.1\n"), 0o644)
		if code, _, stderr := attain(t, append([]string{"ingest"}, flags...)...); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	})
	t.Run("rejected file", func(t *testing.T) {
		os.WriteFile(filepath.Join(in, "fx_rates_2026-11-21.csv"), []byte("currency\nEUR\n"), 0o644)
		code, _, stderr := attain(t, append([]string{"ingest"}, flags...)...)
		if code != 3 || !strings.Contains(stderr, "missing required column(s): month, usd_per_unit") {
			t.Fatalf("exit %d, want 3: %s", code, stderr)
		}
	})
	t.Run("locked", func(t *testing.T) {
		l, err := pipeline.AcquireLock(wh, "attain run, pid 4242")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Release()
		code, _, stderr := attain(t, append([]string{"ingest"}, flags...)...)
		if code != 75 || !strings.Contains(stderr, "pid 4242") {
			t.Fatalf("exit %d, want 75 naming the holder: %s", code, stderr)
		}
	})
	t.Run("bad flag", func(t *testing.T) {
		if code, _, _ := attain(t, "ingest", "--as-of", "2026-02-30"); code != 2 {
			t.Fatalf("exit %d, want 2", code)
		}
	})
	t.Run("unknown command", func(t *testing.T) {
		if code, _, _ := attain(t, "frobnicate"); code != 2 {
			t.Fatalf("exit %d, want 2", code)
		}
	})
	t.Run("unreadable inbox", func(t *testing.T) {
		if code, _, _ := attain(t, "ingest", "--inbox", filepath.Join(dir, "nope"), "--warehouse", wh); code != 2 {
			t.Fatalf("exit %d, want 2", code)
		}
	})
	t.Run("help", func(t *testing.T) {
		code, stdout, stderr := attain(t, "ingest", "--help")
		if code != 0 || stderr != "" || !strings.Contains(stdout, "ATTAIN_<FLAG>") || !strings.Contains(stdout, "  --as-of") {
			t.Fatalf("exit %d: stdout %q, stderr %q; want the usage on standard output, flags as --name", code, stdout, stderr)
		}
		if strings.Contains(stdout, "--reports") || strings.Contains(stdout, "--catalog") {
			t.Errorf("ingest --help lists flags ingest ignores:\n%s", stdout)
		}
		if code, stdout, _ := attain(t, "--help"); code != 0 || !strings.Contains(stdout, "backfill") {
			t.Errorf("attain --help: exit %d, stdout %q", code, stdout)
		}
	})
	t.Run("bad flag says which", func(t *testing.T) {
		code, stdout, stderr := attain(t, "compute", "--as-off", "2026-11-23")
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 2 || stdout != "" || len(lines) > 2 || lines[0] != "Error: flag provided but not defined: -as-off" {
			t.Errorf("exit %d, stderr %q: want 2 and one Error line naming the flag", code, stderr)
		}
	})
	t.Run("version", func(t *testing.T) {
		for _, args := range [][]string{{"version"}, {"--version"}} {
			code, stdout, _ := attain(t, args...)
			if code != 0 || !strings.Contains(stdout, "DuckDB v1.") || !strings.Contains(stdout, "default catalog FY2018") {
				t.Errorf("%v: exit %d, %q", args, code, stdout)
			}
		}
	})
	t.Run("status of no warehouse", func(t *testing.T) {
		if code, _, stderr := attain(t, "status", "--warehouse", filepath.Join(dir, "nowhere")); code != 2 || !strings.Contains(stderr, filepath.Join(dir, "nowhere")) {
			t.Errorf("exit %d, %s: want 2", code, stderr)
		}
	})
	t.Run("missing inbox or unwritable reports write nothing", func(t *testing.T) {
		file := filepath.Join(dir, "a-file")
		os.WriteFile(file, nil, 0o644)
		for _, args := range [][]string{
			{"run", "--inbox", filepath.Join(dir, "nope"), "--reports", filepath.Join(dir, "rep")},
			{"ingest", "--inbox", filepath.Join(dir, "nope")},
			{"run", "--inbox", in, "--reports", filepath.Join(file, "rep")},
		} {
			fresh := filepath.Join(t.TempDir(), "wh")
			code, _, stderr := attain(t, append(args, "--warehouse", fresh, "--as-of", "2026-11-23")...)
			if _, err := os.Stat(fresh); code != 2 || err == nil {
				t.Errorf("%v: exit %d (%s), warehouse created: %v; want 2 and no warehouse", args, code, stderr, err == nil)
			}
		}
	})
}

func TestEnvironmentFlags(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("ATTAIN_WAREHOUSE", filepath.Join(dir, "from-env"))
	t.Setenv("ATTAIN_MAX_BAD_FRACTION", "0.2")
	os.MkdirAll(filepath.Join(dir, "in"), 0o755)
	if code, _, stderr := attain(t, "ingest", "--inbox", filepath.Join(dir, "in"), "--as-of", "2026-11-23"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "from-env", pipeline.LockFile)); err != nil {
		t.Errorf("ATTAIN_WAREHOUSE not used: %v", err)
	}
	// A flag beats the environment.
	if code, _, stderr := attain(t, "ingest", "--inbox", filepath.Join(dir, "in"), "--warehouse", filepath.Join(dir, "from-flag"), "--as-of", "2026-11-23"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "from-flag", pipeline.LockFile)); err != nil {
		t.Errorf("--warehouse did not beat ATTAIN_WAREHOUSE: %v", err)
	}
	t.Setenv("ATTAIN_THREADS", "many")
	if code, _, _ := attain(t, "compute", "--as-of", "2026-11-23"); code != 2 {
		t.Errorf("a bad ATTAIN_THREADS: exit %d, want 2", code)
	}
}
