package pipeline

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultCatalogCarriesThePublishedRequirements(t *testing.T) {
	c, err := DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	v, ok := c.InForce(MustDate("2026-11-23"))
	if !ok || v.Version != "FY2018" {
		t.Fatalf("in force: %v %v", v, ok)
	}
	var ids []string
	for _, comp := range v.Competencies {
		ids = append(ids, comp.ID)
	}
	want := "cloud-platform cloud-productivity small-midmarket-cloud data-analytics application-development enterprise-mobility datacenter"
	if strings.Join(ids, " ") != want {
		t.Errorf("competencies %v", ids)
	}
	azure := v.Competencies[0].Silver[0].Requires[0]
	if azure.Metric != MetricRevenue || azure.Min != (Min{15000, 10000}) || strings.Join(azure.Via, ",") != "dpor,transacting" {
		t.Errorf("cloud-platform silver revenue: %+v", azure)
	}
	if s := v.Skills["70-534"]; s.RetiredOn == nil || s.RetiredOn.String() != "2017-12-31" || s.CountsUntil.String() != "2018-12-31" {
		t.Errorf("70-534 lifecycle: %+v", s)
	}
	if s := v.Skills["70-354"]; s.CountsUntil == nil || s.CountsUntil.String() != "2018-09-30" {
		t.Errorf("70-354 counts_until defaults to retirement + 12 months: %+v", s)
	}
	if _, ok := c.InForce(MustDate("2017-06-30")); ok {
		t.Error("a version is in force before the first effective_from")
	}
}

func TestCatalogCheckReportsEveryProblemWithItsLine(t *testing.T) {
	dir := t.TempDir()
	bad := `version: X
effective_from: 2020-01-01
colour: blue
competencies:
  - id: a
    silver:
      - path: p
        requires:
          - metric: revenue_13m
            min: 1
          - metric: people
            any_of: [[70-533]]
            min: -2
      - path: q
        requires: []
  - id: a
    gold:
      - path: g
        requires:
          - metric: deployed_seats
            min: 5
            via: [reseller]
`
	path := filepath.Join(dir, "bad.yaml")
	os.WriteFile(path, []byte(bad), 0o644)
	_, err := LoadCatalog(path)
	if !errors.Is(err, ErrUsage) {
		t.Fatalf("err = %v, want ErrUsage", err)
	}
	var errs CatalogErrors
	if !errors.As(err, &errs) {
		t.Fatalf("err = %v, want CatalogErrors", err)
	}
	want := []string{
		path + `:3: unknown field "colour" in catalog`,
		path + `:9: unknown metric "revenue_13m"`,
		path + `:13: min must not be negative (got -2)`,
		path + `:14: a silver path q is empty: it needs at least one requirement`,
		path + `:16: duplicate competency id "a" (first at line 5)`,
		path + `:22: unknown attribution "reseller" in via`,
		path + `:16: competency a has gold paths but no silver path`,
	}
	wantProblems(t, errs, want)
}

// TestScoredPathsAreChecked: what SPEC §4.1 says attain catalog check rejects, each
// with its line.
func TestScoredPathsAreChecked(t *testing.T) {
	bad := `version: S
effective_from: 2024-01-01
competencies:
  - id: a
    silver:
      - path: both
        requires:
          - metric: people
            any_of: [[X]]
            min: 1
        score:
          min: 1
          parts:
            - metric: people
              any_of: [[X]]
              full_at: 1
              points: 1
      - path: parts
        score:
          min: 120
          each_above_zero: maybe
          parts:
            - metric: people
              any_of: [[X]]
              points: 40
            - metric: new_customers_12m
              full_at: 0
              points: 30
            - metric: revenue_12m
              full_at: {developed: 100, developing: 50}
              min: 3
            - metric: active_users
              full_at: 10
              points: 0
      - path: none
        name: Neither
      - path: empty
        score:
          min: 0
          parts: []
`
	path := filepath.Join(t.TempDir(), "scored.yaml")
	os.WriteFile(path, []byte(bad), 0o644)
	_, err := LoadCatalog(path)
	var errs CatalogErrors
	if !errors.As(err, &errs) {
		t.Fatalf("err = %v, want CatalogErrors", err)
	}
	want := []string{
		path + `:12: a silver path both has both requires and score`,
		path + `:21: each_above_zero must be true or false`,
		path + `:23: part needs full_at`,
		path + `:27: full_at must be above 0`,
		path + `:31: unknown field "min" in part`,
		path + `:29: part needs points`,
		path + `:34: points must be above 0`,
		path + `:32: a part cannot score active_users`,
		path + `:20: a silver path parts: score min 120 is above the sum of the parts' points (70)`,
		path + `:35: a silver path none is empty`,
		path + `:39: a silver path empty: score min must be above 0`,
		path + `:39: a silver path empty: score needs at least one part`,
	}
	wantProblems(t, errs, want)
}

// wantProblems: catalog check reported exactly the problems of want, each a
// message's beginning.
func wantProblems(t *testing.T, errs CatalogErrors, want []string) {
	t.Helper()
	if len(errs) != len(want) {
		t.Errorf("got %d problems, want %d:\n%s", len(errs), len(want), errs)
	}
	for _, w := range want {
		found := false
		for _, e := range errs {
			found = found || strings.HasPrefix(e, w)
		}
		if !found {
			t.Errorf("missing %q in\n%s", w, errs)
		}
	}
}

func TestCatalogVersionsByEffectiveFrom(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"a.yaml": "version: V1\neffective_from: 2020-01-01\ncompetencies:\n  - id: c\n    silver:\n      - path: p\n        requires:\n          - metric: active_users\n            min: 1\n",
		"b.yaml": "version: V2\neffective_from: 2021-07-01\ncompetencies:\n  - id: c\n    silver:\n      - path: p\n        requires:\n          - metric: active_users\n            min: 2\n",
	} {
		os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644)
	}
	c, err := LoadCatalog(dir)
	if err != nil {
		t.Fatal(err)
	}
	for d, want := range map[string]string{"2020-01-01": "V1", "2021-06-30": "V1", "2021-07-01": "V2", "2030-01-01": "V2"} {
		if v, _ := c.InForce(MustDate(d)); v.Version != want {
			t.Errorf("in force at %s: %s, want %s", d, v.Version, want)
		}
	}
}

// TestCatalogThatIsNotOne: a device, or a file larger than any catalog, is a
// configuration error at once, not read without limit.
func TestCatalogThatIsNotOne(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, make([]byte, MaxCatalogBytes+1), 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"/dev/zero": "not a regular file", big: "a catalog file has at most"} {
		if _, err := LoadCatalog(path); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want a usage error saying %q", path, err, want)
		}
	}
}
