package render

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"attain/pipeline"
)

func TestCSVFormatsAndGuardsFormulas(t *testing.T) {
	rows := &pipeline.SliceRows{
		Cols: []string{"org_id", "text", "n", "x", "d", "ok", "none"},
		Data: [][]any{
			{"o-1", "=cmd|' /C calc'!A0", int64(-1), -2.5, pipeline.MustDate("2026-11-23"), true, nil},
			{"o-2", "+1", int64(1234567), 1100.0, pipeline.MustDate("2027-01-05"), false, nil},
			{"o-3", "-1", int64(0), 0.0001, nil, nil, nil},
			{"o-4", "@SUM(A1:A2)", nil, nil, nil, nil, nil},
			{"o-5", "\tTAB", nil, nil, nil, nil, nil},
			{"o-6", "\rCR", nil, nil, nil, nil, nil},
			{"o-7", `comma, "quoted"`, nil, nil, nil, nil, nil},
			{"o-8", "multi\nline", nil, nil, nil, nil, nil},
			{"o-9", "plain - text", nil, nil, nil, nil, nil},
			{"o-10", "a, b", nil, nil, nil, nil, nil},
			{"o-11", `say "x"`, nil, nil, nil, nil, nil},
			{"o-12", "cr\rin the middle", nil, nil, nil, nil, nil},
		},
	}
	var b bytes.Buffer
	n, err := WriteCSV(&b, rows)
	if err != nil || n != 12 {
		t.Fatalf("wrote %d rows: %v", n, err)
	}
	want := "org_id,text,n,x,d,ok,none\n" +
		"o-1,'=cmd|' /C calc'!A0,-1,-2.5,2026-11-23,true,\n" +
		"o-2,'+1,1234567,1100,2027-01-05,false,\n" +
		"o-3,'-1,0,0.0001,,,\n" +
		"o-4,'@SUM(A1:A2),,,,,\n" +
		"o-5,'\tTAB,,,,,\n" +
		"o-6,\"'\rCR\",,,,,\n" +
		"o-7,\"comma, \"\"quoted\"\"\",,,,,\n" +
		"o-8,\"multi\nline\",,,,,\n" +
		"o-9,plain - text,,,,,\n" +
		"o-10,\"a, b\",,,,,\n" +
		"o-11,\"say \"\"x\"\"\",,,,,\n" +
		"o-12,\"cr\rin the middle\",,,,,\n"
	if got := b.String(); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

// sampleWorkbook builds a workbook with the sheets of SPEC §6.3 and a
// Requirements table of n rows.
func sampleWorkbook(t testing.TB, n, maxRows int) []byte {
	t.Helper()
	meta := Meta{AsOf: pipeline.MustDate("2026-11-23"), RunID: "run-1", CatalogVersion: "FY2018", ProgramVersion: "test",
		FilesLanded: 3, FilesRejected: 1, RowsQuarantined: 2,
		Inputs: []Input{{File: "revenue_2026-11-23.csv", Feed: "revenue", Status: "landed", SHA256: strings.Repeat("ab", 32), Rows: 10},
			{File: "seats_2026-11-23.csv", Feed: "seats", Status: "rejected", Reason: "header lacks deployed_seats"}},
		Members:      []LevelStatus{{"silver", "ok", 3}, {"gold", "at_risk", 1}, {"", "not_member", 2}},
		ByCompetency: []CompetencyRisk{{"cloud-platform", "Cloud Platform", 1, 0}, {"datacenter", "Datacenter", 0, 2}},
		Rejected:     []Rejection{{"seats_2026-11-23.csv", "seats_2026-11-23.csv: header lacks deployed_seats"}},
		Trend: []TrendPoint{{pipeline.MustDate("2026-10-31"), "silver", "ok", 2}, {pipeline.MustDate("2026-10-31"), "gold", "ok", 1},
			{pipeline.MustDate("2026-11-23"), "silver", "ok", 3}, {pipeline.MustDate("2026-11-23"), "gold", "at_risk", 1}},
		Previous:        func() *pipeline.Date { d := pipeline.MustDate("2026-10-31"); return &d }(),
		Changes:         []StatusChange{{"o-9", "Nine", "gold", "ok", "at_risk", "comp gold, path p: people falls to 1 (needs 2) on 2027-01-15"}},
		Figures:         Figures{Silver: 3, Gold: 1, AtRisk: 1, OK: 3, Alerts: 1},
		MonthEnd:        func() *pipeline.Date { d := pipeline.MustDate("2026-10-31"); return &d }(),
		MonthEndFigures: &Figures{Silver: 2, Gold: 1, OK: 3},
		Act: []ActList{{Title: "Today's alerts", DateLabel: "Lapses on", TextLabel: "Cause", Sheet: "Alerts", Total: 12,
			Rows: []ActRow{{OrgID: "o-3", OrgName: "Three", Level: "gold", Status: "at_risk", On: pipeline.MustDate("2027-01-03"), Text: longCause}}}}}
	w, err := NewWorkbook(meta)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.MaxRows = maxRows
	d := pipeline.MustDate("2026-11-23")
	// as_of first, as the table has it: the sheet shows it last
	risk := &pipeline.SliceRows{Cols: []string{"as_of", "org_id", "in_grace", "status", "cause", "needs"},
		Data: [][]any{{d, "o-1", true, "lapsed", "=HYPERLINK(\"x\")", "1 more person holding 70-533"}, {d, "o-2", false, "ok", nil, nil},
			{d, "o-3", false, "at_risk", longCause, "8234.50 USD more revenue of AZURE before 2027-01-03"}}}
	if _, err := w.AddSheet("Renewal risk", risk, SheetOptions{Order: []string{"org_id", "status", "cause", "needs"}, Keep: 1,
		Slicers: []string{"status"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddSheet("Key people", &pipeline.SliceRows{Cols: []string{"as_of", "org_id", "individual_id", "status_now", "status_if_leaves"},
		Data: [][]any{{d, "o-2", "i-1", "ok", "lapsed"}}}, SheetOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := w.AddTrend(); err != nil {
		t.Fatal(err)
	}
	alerts := &pipeline.SliceRows{Cols: []string{"as_of", "org_id", "org_name", "membership_level", "previous_status", "status", "message", "cause"},
		Data: [][]any{{d, "o-3", "Three", "gold", "ok", "at_risk", alertMessage, longCause}}}
	if _, err := w.AddSheet("Alerts", alerts, SheetOptions{Order: []string{"org_id", "org_name"}, Keep: 2}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Expiring", "Attainment"} {
		if _, err := w.AddSheet(s, &pipeline.SliceRows{Cols: []string{"as_of", "org_id"}}, SheetOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	req := &reqRows{n: n, d: d}
	if got, err := w.AddSheet("Requirements", req, SheetOptions{}); err != nil || got != int64(n) {
		t.Fatalf("requirements: %d rows, %v", got, err)
	}
	if _, err := w.AddSheet("Profile", &pipeline.SliceRows{Cols: []string{"as_of", "org_id", "competency_id", "displayed_level"}}, SheetOptions{}); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := w.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const alertMessage = "A recent change to your competency achievement has put your membership renewal eligibility at risk"

const longCause = "cloud-platform gold, path azure-consumption: revenue_12m falls to 63765.66 (needs 100000.00) on 2027-01-03 " +
	"when transaction T-000123-000456 (12000.50 USD) leaves the 12-month window"

// reqRows generates Requirements rows without holding them.
type reqRows struct {
	n, i int
	d    pipeline.Date
	vals []any
}

func (r *reqRows) Columns() []string {
	return []string{"as_of", "org_id", "competency_id", "level", "path", "metric", "value", "min", "met", "lapses_on"}
}

func (r *reqRows) Next() bool {
	if r.i == r.n {
		return false
	}
	r.i++
	metric, value := "people", float64(r.i%5)
	if r.i%2 == 0 {
		metric, value = "revenue_12m", float64(r.i)*12.5
	}
	r.vals = []any{r.d, "ORG-" + strings.Repeat("0", 3) + string(rune('A'+r.i%26)), "cloud-platform", "silver", "azure-consumption",
		metric, value, 1000.0, value >= 1000, r.d + 30}
	return true
}

func (r *reqRows) Values() []any { return r.vals }
func (r *reqRows) Err() error    { return nil }

func TestWorkbookReadsBack(t *testing.T) {
	b := sampleWorkbook(t, 25, 10)
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := []string{"Summary", "Renewal risk", "Key people", "Trend", "Alerts", "Expiring", "Attainment",
		"Requirements", "Requirements (2)", "Requirements (3)", "Profile", "About", "Inputs"}
	if got := f.GetSheetList(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("sheets %v, want %v", got, want)
	}
	if i := f.GetActiveSheetIndex(); i != 0 {
		t.Errorf("the workbook opens on sheet %d, want Summary", i)
	}

	t.Run("overflow", func(t *testing.T) {
		// 25 rows, 9 a sheet under a header: 9 + 9 + 7.
		for sheet, n := range map[string]int{"Requirements": 10, "Requirements (2)": 10, "Requirements (3)": 8} {
			rows, _ := f.GetRows(sheet)
			if len(rows) != n || rows[0][0] != "Organization id" || rows[0][9] != "As of" {
				t.Errorf("%s: %d rows (header %v), want %d", sheet, len(rows), rows[0], n)
			}
		}
	})
	t.Run("header bold, in words, frozen; a table", func(t *testing.T) {
		style, _ := f.GetCellStyle("Requirements", "A1")
		s, _ := f.GetStyle(style)
		if s == nil || s.Font == nil || !s.Font.Bold {
			t.Error("header not bold")
		}
		panes, _ := f.GetPanes("Requirements")
		if !panes.Freeze || panes.YSplit != 1 {
			t.Errorf("panes %+v, want the header row frozen", panes)
		}
		tables, _ := f.GetTables("Requirements")
		if len(tables) != 1 || tables[0].Range != "A1:J10" {
			t.Errorf("tables %+v, want one autofiltered table over A1:J10", tables)
		}
		if h, _ := f.GetCellValue("Requirements", "J1"); h != "As of" {
			t.Errorf("Requirements J1 = %q, want the header in words", h)
		}
		// Renewal risk: slicers above the header, which is frozen with them,
		// and the organization kept in view
		panes, _ = f.GetPanes("Renewal risk")
		if !panes.Freeze || panes.YSplit != 7 || panes.XSplit != 1 {
			t.Errorf("Renewal risk panes %+v, want rows 1-7 and column A frozen", panes)
		}
		tables, _ = f.GetTables("Renewal risk")
		if len(tables) != 1 || tables[0].Range != "A7:F10" {
			t.Errorf("Renewal risk tables %+v, want A7:F10", tables)
		}
	})
	t.Run("dates are dates, money has separators", func(t *testing.T) {
		typ, _ := f.GetCellType("Requirements", "J2")
		raw, _ := f.GetCellValue("Requirements", "J2", excelize.Options{RawCellValue: true})
		shown, _ := f.GetCellValue("Requirements", "J2")
		if typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString || raw != "46349" || shown != "2026-11-23" {
			t.Errorf("date cell: type %v raw %q shown %q, want serial 46349 shown 2026-11-23", typ, raw, shown)
		}
		shown, _ = f.GetCellValue("Requirements", "F3") // revenue 3 × 12.5 × ... row 2 is i=2
		if shown != "25.00" {
			t.Errorf("money cell shows %q, want 25.00", shown)
		}
		shown, _ = f.GetCellValue("Requirements", "G2")
		if shown != "1,000" {
			t.Errorf("count cell shows %q, want 1,000", shown)
		}
	})
	t.Run("text is never a formula", func(t *testing.T) {
		formula, _ := f.GetCellFormula("Renewal risk", "C8")
		v, _ := f.GetCellValue("Renewal risk", "C8")
		if formula != "" || v != `=HYPERLINK("x")` {
			t.Errorf("formula %q value %q", formula, v)
		}
	})
	t.Run("status coloured", func(t *testing.T) {
		a, _ := f.GetCellStyle("Renewal risk", "B8")
		b, _ := f.GetCellStyle("Renewal risk", "B9")
		if a == b || a == 0 {
			t.Errorf("lapsed and ok share style %d/%d", a, b)
		}
	})
	t.Run("chart and links on the Summary", func(t *testing.T) {
		z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		parts := map[string]string{}
		for _, zf := range z.File {
			r, _ := zf.Open()
			data, _ := io.ReadAll(r)
			parts[zf.Name] = string(data)
		}
		if !strings.Contains(parts["xl/charts/chart1.xml"], "<barChart>") || !strings.Contains(parts["xl/worksheets/sheet1.xml"], "<drawing") {
			t.Error("no bar chart drawn on the Summary (sheet1)")
		}
		// Renewal risk (sheet2), streamed, lists its slicers: its extLst names
		// the relationship to the slicers part, and its drawing (the slicers'
		// frames) is referenced; the slicer's cache is the table's column
		risk, rels := parts["xl/worksheets/sheet2.xml"], parts["xl/worksheets/_rels/sheet2.xml.rels"]
		m := regexp.MustCompile(`<x14:slicer r:id="(rId\d+)">`).FindStringSubmatch(risk)
		if m == nil || !strings.Contains(rels, `Id="`+m[1]+`" Target="../slicers/slicer1.xml"`) {
			t.Errorf("Renewal risk does not list its slicers: %v\n%s", m, rels)
		}
		if !strings.Contains(risk, "<drawing") || !strings.Contains(parts["xl/slicers/slicer1.xml"], `caption="Status"`) ||
			!strings.Contains(parts["xl/slicerCaches/slicerCache1.xml"], `sourceName="Status"`) {
			t.Error("no Status slicer drawn on Renewal risk")
		}
		found := false
		rows, _ := f.GetRows("Summary")
		for i, r := range rows {
			if len(r) > 6 && r[6] == "About" {
				cell, _ := excelize.CoordinatesToCellName(7, i+1)
				ok, link, _ := f.GetCellHyperLink("Summary", cell)
				found = ok && link == "'About'!A1"
			}
		}
		if !found {
			t.Error("no link to About on the Summary")
		}
	})
	t.Run("print setup", func(t *testing.T) {
		names := map[string]string{}
		for _, n := range f.GetDefinedName() {
			if n.Name == "_xlnm.Print_Titles" {
				names[n.Scope] = n.RefersTo
			}
		}
		for _, sheet := range f.GetSheetList() {
			lay, err := f.GetPageLayout(sheet)
			if err != nil {
				t.Fatal(err)
			}
			props, _ := f.GetSheetProps(sheet)
			if lay.Orientation == nil || *lay.Orientation != "landscape" || lay.FitToWidth == nil || *lay.FitToWidth != 1 ||
				props.FitToPage == nil || !*props.FitToPage {
				t.Errorf("%s: not printed landscape, one page wide", sheet)
			}
			switch sheet {
			case "Summary":
				if lay.FitToHeight == nil || *lay.FitToHeight != 1 {
					t.Errorf("Summary is not one page tall")
				}
			case "Renewal risk":
				if names[sheet] != "'Renewal risk'!$7:$7" {
					t.Errorf("%s: print titles %q, want its header row", sheet, names[sheet])
				}
			default:
				if names[sheet] != "'"+sheet+"'!$1:$1" {
					t.Errorf("%s: print titles %q, want its header row", sheet, names[sheet])
				}
			}
		}
	})
	t.Run("causes and needs wrapped and readable", func(t *testing.T) {
		for _, cell := range []string{"C10", "D10"} {
			style, _ := f.GetCellStyle("Renewal risk", cell)
			st, _ := f.GetStyle(style)
			if st == nil || st.Alignment == nil || !st.Alignment.WrapText {
				t.Errorf("%s does not wrap", cell)
			}
		}
		if h, _ := f.GetRowHeight("Renewal risk", 10); h < 30 {
			t.Errorf("a long cause's row is %v points tall, want its lines", h)
		}
		v, _ := f.GetCellValue("Renewal risk", "C10")
		if !strings.Contains(v, "63,765.66 USD (needs 100,000.00 USD)") || !strings.Contains(v, "(12,000.50 USD)") {
			t.Errorf("cause shown as %q", v)
		}
		if v, _ := f.GetCellValue("Renewal risk", "D10"); v != "8,234.50 USD more revenue of AZURE before 2027-01-03" {
			t.Errorf("needs shown as %q", v)
		}
	})
	t.Run("true and false as words", func(t *testing.T) {
		for cell, want := range map[string]string{"E8": "true", "E9": "false"} {
			typ, _ := f.GetCellType("Renewal risk", cell)
			v, _ := f.GetCellValue("Renewal risk", cell)
			if v != want || (typ != excelize.CellTypeSharedString && typ != excelize.CellTypeInlineString) {
				t.Errorf("%s: %q of type %v, want the text %q", cell, v, typ, want)
			}
		}
	})
	t.Run("Trend", func(t *testing.T) {
		rows, _ := f.GetRows("Trend")
		if len(rows) < 3 || rows[0][0] != "Date" || rows[2][0] != "2026-11-23" || rows[2][1] != "0" || rows[2][3] != "3" || rows[2][5] != "1" {
			t.Errorf("Trend counts %v", rows[:min(3, len(rows))])
		}
		var changed bool
		for _, r := range rows {
			changed = changed || (len(r) > 4 && r[0] == "o-9" && r[3] == "ok" && r[4] == "at_risk")
		}
		if !changed {
			t.Error("Trend does not list o-9's change from ok to at_risk")
		}
	})
	t.Run("document dates are the as-of date", func(t *testing.T) {
		p, _ := f.GetDocProps()
		if p.Created != "2026-11-23T00:00:00Z" || p.Modified != "2026-11-23T00:00:00Z" {
			t.Errorf("doc props %+v", p)
		}
	})
}

// TestWorkbookIsDeterministic: the same rows give a workbook of the same
// content, part by part (excelize does not promise the order of the zip's
// entries, nor of [Content_Types].xml's overrides, so those are compared sorted).
func TestWorkbookIsDeterministic(t *testing.T) {
	a, b := parts(t, sampleWorkbook(t, 50, ExcelMaxRows)), parts(t, sampleWorkbook(t, 50, ExcelMaxRows))
	if len(a) != len(b) {
		t.Fatalf("%d parts vs %d", len(a), len(b))
	}
	for name, content := range a {
		if b[name] != content {
			t.Errorf("part %s differs", name)
		}
	}
}

func parts(t testing.TB, book []byte) map[string]string {
	t.Helper()
	z, err := zip.NewReader(bytes.NewReader(book), int64(len(book)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, zf := range z.File {
		r, _ := zf.Open()
		data, _ := io.ReadAll(r)
		s := string(data)
		if zf.Name == "[Content_Types].xml" {
			elems := regexp.MustCompile(`<(Override|Default) [^>]*>`).FindAllString(s, -1)
			sort.Strings(elems)
			s = strings.Join(elems, "\n")
		}
		out[zf.Name] = s
	}
	return out
}

// TestLibreOfficeOpensTheWorkbook converts the workbook with LibreOffice,
// headless: it must convert without error and the Requirements sheet must hold
// the rows. CI installs LibreOffice; elsewhere the test is skipped without it.
func TestLibreOfficeOpensTheWorkbook(t *testing.T) {
	// Sheet 8 is Requirements; 44,34,76 = comma, quote, UTF-8.
	dir, out := convertSample(t, "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,8")
	matches, _ := filepath.Glob(filepath.Join(dir, "book*.csv"))
	if len(matches) != 1 {
		t.Fatalf("converted files %v\n%s", matches, out)
	}
	b, _ := os.ReadFile(matches[0])
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 41 || !strings.HasPrefix(lines[0], "Organization id,Competency id") || !strings.HasSuffix(lines[1], ",2026-11-23") {
		t.Errorf("LibreOffice read %d lines, first %q", len(lines), lines[:min(2, len(lines))])
	}
}

// tool is the path of a program the test needs; CI must have it (.ci/run
// installs its package), elsewhere the test is skipped without it.
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must have %s (%s); .ci/run installs it", name, pkg)
		}
		t.Skipf("%s (%s) is not installed", name, pkg)
	}
	return path
}

// convertSample converts the sample workbook with LibreOffice, headless, to
// format, in a directory of its own; it returns the directory and what soffice said.
func convertSample(t *testing.T, format string) (string, []byte) {
	t.Helper()
	soffice := tool(t, "soffice", "libreoffice-calc-nogui")
	dir := t.TempDir()
	path := filepath.Join(dir, "book.xlsx")
	os.WriteFile(path, sampleWorkbook(t, 40, ExcelMaxRows), 0o644)
	cmd := exec.Command(soffice, "--headless", "--norestore", "-env:UserInstallation=file://"+filepath.Join(dir, "profile"),
		"--convert-to", format, "--outdir", dir, path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("soffice: %v\n%s", err, out)
	}
	return dir, out
}

// TestReadable: amounts in a cause get separators and their currency,
// counts separators; the rest is left as it is.
func TestReadable(t *testing.T) {
	for in, want := range map[string]string{
		longCause: "cloud-platform gold, path azure-consumption: revenue_12m falls to 63,765.66 USD (needs 100,000.00 USD) on 2027-01-03 " +
			"when transaction T-000123-000456 (12,000.50 USD) leaves the 12-month window",
		"x silver, path p: revenue_12m is -1234567.00 (needs 15000.00), below since 2025-01-01": "x silver, path p: revenue_12m is -1,234,567.00 USD (needs 15,000.00 USD), below since 2025-01-01",
		"x gold, path m: active_users fell to 2562 (needs 4000) on 2018-12-31 when …":           "x gold, path m: active_users fell to 2,562 (needs 4,000) on 2018-12-31 when …",
		"x silver, path p: people is 0 (needs 2), below since 2025-06-01":                       "x silver, path p: people is 0 (needs 2), below since 2025-06-01",
		"comp silver: its override ends on 2027-03-01":                                          "comp silver: its override ends on 2027-03-01",
		// a scored path's cause, and needs
		"infra silver, path points: score falls to 20 (needs 70) on 2027-10-01 when transaction T-F1 (60000.00 USD) leaves the 12-month window (revenue_12m 60000.00 → 0.00)": "infra silver, path points: score falls to 20 (needs 70) on 2027-10-01 when transaction T-F1 (60,000.00 USD) leaves the 12-month window (revenue_12m 60,000.00 USD → 0.00 USD)",
		"1 more new customer and 40 more points: 40000.00 USD more revenue of AZURE before 2027-10-01":                                                                        "1 more new customer and 40 more points: 40,000.00 USD more revenue of AZURE before 2027-10-01",
	} {
		if got := Readable(in); got != want {
			t.Errorf("Readable(%q)\n = %q\nwant %q", in, got, want)
		}
	}
}

// TestLibreOfficePrintsTheSummaryOnOnePage renders the workbook to PDF with
// LibreOffice: the Summary is page 1 alone (its title and its last link on it,
// the next sheet's header on page 2), and Renewal risk fits one page wide (its
// last column on page 2).
func TestLibreOfficePrintsTheSummaryOnOnePage(t *testing.T) {
	pdftotext := tool(t, "pdftotext", "poppler-utils")
	dir, _ := convertSample(t, "pdf")
	page := func(n int) string {
		out, err := exec.Command(pdftotext, "-layout", "-f", strconv.Itoa(n), "-l", strconv.Itoa(n), filepath.Join(dir, "book.pdf"), "-").Output()
		if err != nil {
			t.Fatalf("pdftotext page %d: %v", n, err)
		}
		return string(out)
	}
	one, two := page(1), page(2)
	// Alerts prints its message whole, wrapped in its column (pdftotext's reading
	// order keeps a wrapped cell's lines together)
	raw, err := exec.Command(pdftotext, filepath.Join(dir, "book.pdf"), "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(strings.Fields(string(raw)), " "), alertMessage) {
		t.Errorf("the alert's message is not printed whole")
	}
	if !strings.Contains(one, "Renewal risk as of 2026-11-23") || !strings.Contains(one, "About") || !strings.Contains(one, "Data quality") {
		t.Errorf("page 1 is not the whole Summary:\n%s", one)
	}
	if !strings.Contains(two, "Organization id") || !strings.Contains(two, "In grace") || strings.Contains(two, "Key figures") {
		t.Errorf("page 2 is not Renewal risk, one page wide:\n%s", two)
	}
}

// TestExcelDateIsExcelizes: a date written as its serial number reads back as
// the same raw value excelize writes for the date's time.Time, on both sides of
// Excel's 29 February 1900 and at the ends of the dates the rules use.
func TestExcelDateIsExcelizes(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	for i, s := range []string{"1900-01-01", "1900-02-28", "1900-03-01", "1969-12-31", "1970-01-01", "2026-11-23", "9999-12-31"} {
		d := pipeline.MustDate(s)
		ours, theirs := "A"+strconv.Itoa(i+1), "B"+strconv.Itoa(i+1)
		if err := f.SetCellValue("Sheet1", ours, excelDate(d)); err != nil {
			t.Fatal(err)
		}
		if err := f.SetCellValue("Sheet1", theirs, d.Time()); err != nil {
			t.Fatal(err)
		}
		got, _ := f.GetCellValue("Sheet1", ours, excelize.Options{RawCellValue: true})
		want, _ := f.GetCellValue("Sheet1", theirs, excelize.Options{RawCellValue: true})
		if got != want || got == "" {
			t.Errorf("%s: got %q, want %q", s, got, want)
		}
	}
}
