package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"attain/pipeline"
)

// openpyxlDump reads a workbook with openpyxl, a reader independent of the
// excelize that wrote it, and prints what the tests check as JSON: the sheets in
// order, each sheet's tables, frozen cell, print titles and area, and its cells'
// values (dates as YYYY-MM-DD).
const openpyxlDump = `
import json, sys, datetime, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
out = {"sheets": wb.sheetnames, "sheet": {}}
for ws in wb.worksheets:
    def v(x):
        if isinstance(x, (datetime.date, datetime.datetime)):
            return x.strftime("%Y-%m-%d")
        return x
    out["sheet"][ws.title] = {
        "tables": {t.name: t.ref for t in ws.tables.values()},
        "freeze": ws.freeze_panes,
        "titles": ws.print_title_rows,
        "area": ws.print_area,
        "rows": [[v(c) for c in r] for r in ws.iter_rows(values_only=True)],
    }
json.dump(out, sys.stdout)
`

type dumped struct {
	Sheets []string `json:"sheets"`
	Sheet  map[string]struct {
		Tables map[string]string `json:"tables"`
		Freeze *string           `json:"freeze"`
		Titles *string           `json:"titles"`
		Area   any               `json:"area"`
		Rows   [][]any           `json:"rows"`
	} `json:"sheet"`
}

// python is a python3 that has openpyxl: CI installs Debian's python3-openpyxl
// (.ci/run); elsewhere the test is skipped without one.
func python(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		if path, err := exec.LookPath(p); err == nil && exec.Command(path, "-c", "import openpyxl").Run() == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("CI must have python3 with openpyxl (python3-openpyxl); .ci/run installs it")
	}
	t.Skip("python3 with openpyxl is not installed")
	return ""
}

func readWorkbook(t *testing.T, path string) dumped {
	t.Helper()
	out, err := exec.Command(python(t), "-c", openpyxlDump, path).Output()
	if err != nil {
		t.Fatalf("openpyxl: %v", err)
	}
	var d dumped
	if err := json.Unmarshal(out, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// csvMaps returns a report CSV file's rows as maps of column to value.
func csvMaps(t *testing.T, path string) []map[string]string {
	t.Helper()
	recs := readCSV(t, path)
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, c := range recs[0] {
			m[c] = r[i]
		}
		out = append(out, m)
	}
	return out
}

// str is a cell's text ("" for an empty cell).
func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// runCase runs the job on a hand-made rules case at each date in turn, in one
// warehouse, and returns the reports directory.
func runCase(t *testing.T, name string, dates ...string) string {
	t.Helper()
	src := filepath.Join("../../sql/testdata/rules", name)
	dir := t.TempDir()
	for _, d := range dates {
		code, _, stderr := attain(t, "run", "--inbox", filepath.Join(src, "inbox"), "--catalog", filepath.Join(src, "catalog.yaml"),
			"--warehouse", filepath.Join(dir, "wh"), "--reports", filepath.Join(dir, "rep"), "--as-of", d)
		if code != 0 {
			t.Fatalf("run %s at %s: exit %d: %s", name, d, code, stderr)
		}
	}
	return filepath.Join(dir, "rep")
}

var causeFigures = regexp.MustCompile(`: (\w+) (?:falls to|fell to|is) (-?[\d.]+)(?: USD)? \(needs (> 0|[\d.]+)(?: USD)?\)`)

// TestWorkbookAnalystsActOn opens the workbook of two hand-made rules cases with
// openpyxl (SPEC §6.3): the sheets in order, each data sheet an Excel table with
// headers in words and its header row frozen; Renewal risk worst first, the id and
// name kept in view, and on every at_risk and lapsed row a needs that asks for what
// its cause says is missing; the Summary's act-on-today names the members the CSV
// files say to call, and its key figures stand beside the stored month end's.
func TestWorkbookAnalystsActOn(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		dates   []string // the last is D; an earlier one, a stored month end
		monthOf string
	}{
		{"causes", []string{"2026-11-30"}, ""},
		// D = 2027-01-10: o-zeroed lapses within 30 days, o-fell is in its grace
		// window; 2026-12-31 is the month end the figures stand beside
		{"scored", []string{"2026-12-31", "2027-01-10"}, "2026-12-31"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := runCase(t, tc.name, tc.dates...)
			d := tc.dates[len(tc.dates)-1]
			wb := readWorkbook(t, filepath.Join(rep, d, "renewal-risk-"+d+".xlsx"))
			want := []string{"Summary", "Renewal risk", "Key people", "Trend", "Alerts", "Expiring", "Attainment", "Requirements",
				"Profile", "About", "Inputs"}
			if strings.Join(wb.Sheets, "|") != strings.Join(want, "|") {
				t.Fatalf("sheets %v, want %v", wb.Sheets, want)
			}
			headerRow := map[string]int{"Renewal risk": 7}
			for _, name := range want[1:] {
				if name == "About" {
					continue
				}
				s := wb.Sheet[name]
				if len(s.Tables) == 0 {
					t.Errorf("%s: no Excel table", name)
				}
				h := max(headerRow[name], 1)
				if len(s.Rows) < h {
					t.Errorf("%s: no header row", name)
					continue
				}
				for _, c := range s.Rows[h-1] {
					if h := str(c); strings.Contains(h, "_") {
						t.Errorf("%s: header %q is not in words", name, h)
					}
				}
				if s.Freeze == nil || !strings.HasSuffix(*s.Freeze, strconv.Itoa(h+1)) {
					t.Errorf("%s: frozen at %v, want the rows down to the header row %d", name, s.Freeze, h)
				}
			}

			// Renewal risk: worst first, id and name in view, needs on every
			// at_risk and lapsed row asking for what the cause says is missing.
			risk := wb.Sheet["Renewal risk"]
			if f := risk.Freeze; f == nil || *f != "C8" {
				t.Errorf("Renewal risk frozen at %v, want C8 (id and name kept in view)", f)
			}
			head := risk.Rows[6]
			col := map[string]int{}
			for i, c := range head {
				col[str(c)] = i
			}
			for i, h := range []string{"Organization id", "Organization", "Country", "Level", "Status", "Anniversary", "Lapses on", "Cause", "Needs"} {
				if str(head[i]) != h {
					t.Fatalf("Renewal risk column %d is %q, want %q (the columns an analyst acts on first)", i+1, str(head[i]), h)
				}
			}
			rank := map[string]int{"lapsed": 0, "at_risk": 1, "ok": 2, "not_member": 3}
			var before []any
			checked := 0
			for _, r := range risk.Rows[7:] {
				status, cause, needs := str(r[col["Status"]]), str(r[col["Cause"]]), str(r[col["Needs"]])
				if before != nil {
					ps := str(before[col["Status"]])
					if rank[status] < rank[ps] || (status == "at_risk" && ps == "at_risk" && str(r[col["Lapses on"]]) < str(before[col["Lapses on"]])) {
						t.Errorf("Renewal risk: %s (%s) after %s (%s): not worst first", str(r[0]), status, str(before[0]), ps)
					}
				}
				before = r
				if status != "at_risk" && status != "lapsed" {
					if needs != "" {
						t.Errorf("%s (%s) has needs %q", str(r[0]), status, needs)
					}
					continue
				}
				if needs == "" {
					t.Errorf("%s (%s): no needs for cause %q", str(r[0]), status, cause)
					continue
				}
				checked++
				if status == "at_risk" && !strings.HasSuffix(needs, " before "+str(r[col["Lapses on"]])) {
					t.Errorf("%s: needs %q does not say by when (lapses on %s)", str(r[0]), needs, str(r[col["Lapses on"]]))
				}
				m := causeFigures.FindStringSubmatch(strings.ReplaceAll(cause, ",", ""))
				if m == nil {
					if !strings.Contains(cause, "override") || !strings.HasPrefix(needs, "a met ") {
						t.Errorf("%s: needs %q for cause %q", str(r[0]), needs, cause)
					}
					continue
				}
				metric := m[1]
				value, _ := strconv.ParseFloat(m[2], 64)
				minimum, _ := strconv.ParseFloat(m[3], 64)
				if m[3] == "> 0" { // a scored path's part at 0 (SPEC §4.1): one more of it
					value, minimum = 0, 1
				}
				wantNeeds := map[string]string{
					"people":            fmt.Sprintf("%g more %s holding", minimum-value, map[bool]string{true: "person", false: "people"}[minimum-value == 1]),
					"revenue_12m":       fmt.Sprintf("%s USD more revenue", grouped(minimum-value)),
					"new_customers_12m": fmt.Sprintf("%g more new customer", minimum-value),
					"deployed_seats":    fmt.Sprintf("%g more deployed seat", minimum-value),
					"active_users":      fmt.Sprintf("%g more active user", minimum-value),
					// (how many points depends on the parts at 0 it needs first)
					"score": "more points: ",
				}[metric]
				if wantNeeds == "" {
					t.Errorf("%s: cause %q names no metric", str(r[0]), cause)
				} else if !strings.Contains(needs, wantNeeds) {
					t.Errorf("%s: needs %q, want it to ask for %q (cause %q)", str(r[0]), needs, wantNeeds, cause)
				}
			}
			if checked == 0 {
				t.Fatal("no at_risk or lapsed member to check")
			}

			// The Summary: act on today by name, as the CSV files say.
			dir := filepath.Join(rep, d)
			var summary []string
			for _, r := range wb.Sheet["Summary"].Rows {
				if len(r) > 0 {
					summary = append(summary, str(r[0]))
				}
			}
			text := strings.Join(summary, "\n")
			lists := map[string][]string{}
			for _, r := range csvMaps(t, filepath.Join(dir, "renewal_risk.csv")) {
				name := r["org_name"] + " (" + r["org_id"] + ")"
				if r["membership_level"] == "" {
					continue
				}
				if r["alert"] == "true" {
					lists["Today's alerts"] = append(lists["Today's alerts"], name)
				}
				if r["lapses_on"] != "" && r["lapses_on"] <= addDays(t, d, 30) {
					lists["Lapsing within 30 days"] = append(lists["Lapsing within 30 days"], name)
				}
				if r["in_grace"] == "true" {
					lists["In their grace window"] = append(lists["In their grace window"], name)
				}
			}
			for _, title := range []string{"Today's alerts", "Lapsing within 30 days", "In their grace window"} {
				if !strings.Contains(text, fmt.Sprintf("%s (%d)", title, len(lists[title]))) {
					t.Errorf("Summary: no %q with %d members", title, len(lists[title]))
				}
				for _, name := range lists[title] {
					if !strings.Contains(text, name) {
						t.Errorf("Summary: %s does not name %s", title, name)
					}
				}
			}
			if tc.name == "scored" && (len(lists["Lapsing within 30 days"]) == 0 || len(lists["In their grace window"]) == 0) {
				t.Errorf("the case names nobody to act on: %v", lists)
			}

			// The key figures beside the stored month end's, and the change.
			if tc.monthOf == "" {
				return
			}
			then := csvMaps(t, filepath.Join(rep, tc.monthOf, "renewal_risk.csv"))
			now := csvMaps(t, filepath.Join(dir, "renewal_risk.csv"))
			count := func(rows []map[string]string, status string) int {
				n := 0
				for _, r := range rows {
					if r["membership_level"] != "" && r["status"] == status {
						n++
					}
				}
				return n
			}
			rows := wb.Sheet["Summary"].Rows
			if str(rows[3][3]) != tc.monthOf {
				t.Errorf("Summary: figures beside %q, want the month end %s", str(rows[3][3]), tc.monthOf)
			}
			for _, st := range []struct{ label, status string }{{"  lapsed", "lapsed"}, {"  at risk", "at_risk"}, {"  ok", "ok"}} {
				found := false
				for _, r := range rows {
					if len(r) > 4 && str(r[0]) == st.label {
						found = true
						a, b := count(now, st.status), count(then, st.status)
						if str(r[1]) != strconv.Itoa(a) || str(r[3]) != strconv.Itoa(b) || str(r[4]) != strconv.Itoa(a-b) {
							t.Errorf("Summary %s: %v now, %v then, change %v; the CSV files say %d, %d", st.status, r[1], r[3], r[4], a, b)
						}
					}
				}
				if !found {
					t.Errorf("Summary: no figure %q", st.label)
				}
			}
		})
	}
}

func addDays(t *testing.T, d string, n int) string {
	t.Helper()
	x, err := pipeline.ParseDate(d)
	if err != nil {
		t.Fatal(err)
	}
	return x.AddDays(n).String()
}

// grouped is an amount as the workbook shows it: 8,234.50.
func grouped(x float64) string {
	s := strconv.FormatFloat(x, 'f', 2, 64)
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String() + "." + frac
}

// TestWorkbookPrints prints a real workbook with LibreOffice (SPEC §6.3): the
// Summary on one page, Renewal risk from page 2 with its needs column, About on
// one or two pages.
func TestWorkbookPrints(t *testing.T) {
	t.Parallel()
	var tools []string
	for _, name := range []string{"soffice", "pdftotext"} {
		path, err := exec.LookPath(name)
		if err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("CI must have %s; .ci/run installs it", name)
			}
			t.Skipf("%s is not installed", name)
		}
		tools = append(tools, path)
	}
	rep := runCase(t, "scored", "2026-12-31", "2027-01-10")
	dir := t.TempDir()
	book := filepath.Join(rep, "2027-01-10", "renewal-risk-2027-01-10.xlsx")
	out, err := exec.Command(tools[0], "--headless", "--norestore", "-env:UserInstallation=file://"+filepath.Join(dir, "profile"),
		"--convert-to", "pdf", "--outdir", dir, book).CombinedOutput()
	if err != nil {
		t.Fatalf("soffice: %v\n%s", err, out)
	}
	pdf := filepath.Join(dir, "renewal-risk-2027-01-10.pdf")
	var pages []string
	for n := 1; ; n++ {
		text, err := exec.Command(tools[1], "-layout", "-f", strconv.Itoa(n), "-l", strconv.Itoa(n), pdf, "-").Output()
		if err != nil {
			break
		}
		pages = append(pages, string(text))
	}
	if len(pages) < 3 {
		t.Fatalf("%d pages printed", len(pages))
	}
	if one := pages[0]; !strings.Contains(one, "Renewal risk as of 2027-01-10") || !strings.Contains(one, "Act on today") ||
		!strings.Contains(one, "Data quality") || !strings.Contains(one, "Inputs") {
		t.Errorf("page 1 is not the whole Summary:\n%s", one)
	}
	if two := pages[1]; !strings.Contains(two, "Organization id") || !strings.Contains(two, "Needs") || strings.Contains(two, "Key figures") {
		t.Errorf("page 2 is not Renewal risk with its needs:\n%s", two)
	}
	about := 0
	for _, p := range pages {
		if strings.Contains(p, "About this workbook") {
			about++
		}
	}
	if about == 0 || about > 2 {
		t.Errorf("About prints on %d pages, want one or two", about)
	}
}
