package reports

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"attain/pipeline"
)

// ExcelMaxRows is the most rows a worksheet holds; a longer table continues on
// "<Sheet> (2)", and so on (SPEC §6.3).
const ExcelMaxRows = 1048576

// Meta is what the Summary and About sheets say besides the tables.
type Meta struct {
	AsOf                       pipeline.Date
	RunID                      string
	CatalogVersion             string
	ProgramVersion             string
	FilesLanded, FilesRejected int
	RowsQuarantined            int64 // at ingest, over the files in force
	RowsLeftOut                int64 // at compute (no FX rate)
	UnknownOrgRows             int64 // rows naming an organization the feed lacks
	Inputs                     []Input
	Members                    []LevelStatus
	ByCompetency               []CompetencyRisk
}

// Input is one landed file.
type Input struct {
	File, SHA256 string
	Rows         int64
}

// LevelStatus counts members of one level in one status.
type LevelStatus struct {
	Level, Status string
	Members       int64
}

// CompetencyRisk counts the at-risk and lapsed members a competency's causes name.
type CompetencyRisk struct {
	Competency     string
	AtRisk, Lapsed int64
}

// Workbook is the renewal-risk workbook. Data sheets are streamed, so a
// million-row table does not sit in memory; Summary and About are small and
// written cell by cell (never the two on one sheet).
type Workbook struct {
	f       *excelize.File
	meta    Meta
	MaxRows int // rows per sheet, header included; ExcelMaxRows unless a test lowers it
	sheets  []string
	style   styles
}

type styles struct {
	header, date, money, count, text, title, link int
	status                                        map[string]int
}

// NewWorkbook starts a workbook with its Summary sheet.
func NewWorkbook(meta Meta) (*Workbook, error) {
	f := excelize.NewFile()
	f.SetZipWriter(newZipWriter)
	if err := f.SetSheetName("Sheet1", "Summary"); err != nil {
		return nil, err
	}
	// Summary opens first. Set now, while it is the only sheet: later excelize
	// would read every streamed sheet back in to unselect its tab (3 s of a
	// 700,000-row report went there).
	f.SetActiveSheet(0)
	w := &Workbook{f: f, meta: meta, MaxRows: ExcelMaxRows, sheets: []string{"Summary"}}
	var err error
	mk := func(s *excelize.Style) int {
		id, e := f.NewStyle(s)
		if e != nil && err == nil {
			err = e
		}
		return id
	}
	dateFmt, moneyFmt, countFmt := "yyyy-mm-dd", "#,##0.00", "#,##0"
	w.style = styles{
		header: mk(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}}}),
		date:   mk(&excelize.Style{CustomNumFmt: &dateFmt}),
		money:  mk(&excelize.Style{CustomNumFmt: &moneyFmt}),
		count:  mk(&excelize.Style{CustomNumFmt: &countFmt}),
		text:   mk(&excelize.Style{NumFmt: 49}), // "@": stored and shown as text
		title:  mk(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 14}}),
		link:   mk(&excelize.Style{Font: &excelize.Font{Color: "0563C1", Underline: "single"}}),
		status: map[string]int{},
	}
	for _, sc := range [][2]string{{"lapsed", "F8CBAD"}, {"at_risk", "FFE699"}, {"ok", "C6EFCE"}, {"not_member", "EDEDED"}} {
		status, color := sc[0], sc[1]
		w.style.status[status] = mk(&excelize.Style{Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{color}}, NumFmt: 49})
	}
	if err != nil {
		return nil, err
	}
	return w, nil
}

// widthSample is how many rows decide the column widths.
const widthSample = 1000

// AddSheet streams a table onto a sheet (and its overflow sheets), with a bold
// frozen header, an autofilter, dates as dates and money with separators. It
// returns the rows written.
func (w *Workbook) AddSheet(name string, rows pipeline.Rows) (int64, error) {
	cols := rows.Columns()
	// Widths come from the header and the first rows.
	var sample [][]any
	for len(sample) < widthSample && rows.Next() {
		sample = append(sample, append([]any(nil), rows.Values()...))
	}
	widths := make([]float64, len(cols))
	for i, c := range cols {
		widths[i] = float64(utf8.RuneCountInString(c)) + 4
	}
	for _, r := range sample {
		for i, v := range r {
			widths[i] = max(widths[i], float64(utf8.RuneCountInString(display(v)))+2)
		}
	}
	for i := range widths {
		widths[i] = min(widths[i], 80)
	}
	// A column of dates, counts or text (a DuckDB column has one type) takes its
	// style as the column's, so its cells are written as bare values: a styled
	// cell costs excelize an allocation per cell, a seventh of a large sheet.
	colStyle := make([]int, len(cols))
	for i, c := range cols {
		for _, r := range sample {
			if r[i] != nil {
				colStyle[i] = w.typeStyle(c, r[i])
				break
			}
		}
	}

	var total int64
	part := 1
	sheet := name
	var sw *excelize.StreamWriter
	rowNo := 0
	open := func() error {
		if part > 1 {
			sheet = fmt.Sprintf("%s (%d)", name, part)
		}
		if _, err := w.f.NewSheet(sheet); err != nil {
			return err
		}
		w.sheets = append(w.sheets, sheet)
		var err error
		if sw, err = w.f.NewStreamWriter(sheet); err != nil {
			return err
		}
		for i, wd := range widths {
			if err := sw.SetColWidth(i+1, i+1, wd); err != nil {
				return err
			}
			if colStyle[i] != 0 {
				if err := sw.SetColStyle(i+1, i+1, colStyle[i]); err != nil {
					return err
				}
			}
		}
		if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
			return err
		}
		header := make([]any, len(cols))
		for i, c := range cols {
			header[i] = excelize.Cell{StyleID: w.style.header, Value: c}
		}
		rowNo = 1
		return sw.SetRow("A1", header)
	}
	closeSheet := func() error {
		last, _ := excelize.CoordinatesToCellName(len(cols), max(rowNo, 2))
		tbl := strings.NewReplacer(" ", "", "(", "_", ")", "").Replace(sheet)
		if err := sw.AddTable(&excelize.Table{Range: "A1:" + last, Name: tbl, StyleName: "TableStyleLight1"}); err != nil {
			return err
		}
		return sw.Flush()
	}
	if err := open(); err != nil {
		return 0, err
	}
	metric := indexOf(cols, "metric")
	cells := make([]any, len(cols))
	write := func(vals []any) error {
		if rowNo == w.MaxRows {
			if err := closeSheet(); err != nil {
				return err
			}
			part++
			if err := open(); err != nil {
				return err
			}
		}
		money := metric >= 0 && vals[metric] == pipeline.MetricRevenue
		for i, v := range vals {
			cells[i] = w.cell(cols[i], v, money, colStyle[i])
		}
		rowNo++
		cell, _ := excelize.CoordinatesToCellName(1, rowNo)
		total++
		return sw.SetRow(cell, cells)
	}
	for _, r := range sample {
		if err := write(r); err != nil {
			return total, err
		}
	}
	for rows.Next() {
		if err := write(rows.Values()); err != nil {
			return total, err
		}
	}
	if err := rows.Err(); err != nil {
		return total, err
	}
	return total, closeSheet()
}

// cell gives a value its Excel type and format. Text is always a string cell,
// never a formula. A value whose style is its column's goes bare.
func (w *Workbook) cell(col string, v any, money bool, colStyle int) any {
	val := v
	switch x := v.(type) {
	case nil, bool:
		return v
	case pipeline.Date:
		val = excelDate(x)
	case int64, float64, string:
	default:
		return fmt.Sprint(v)
	}
	style := w.styleOf(col, v, money)
	if style == colStyle {
		return val
	}
	return excelize.Cell{StyleID: style, Value: val}
}

// styleOf is the style of a value in column col; money says the row's amounts
// are USD.
func (w *Workbook) styleOf(col string, v any, money bool) int {
	switch x := v.(type) {
	case pipeline.Date:
		return w.style.date
	case int64:
		return w.style.count
	case float64:
		if money || col == "amount" {
			return w.style.money
		}
		return w.style.count
	case string:
		if id, ok := w.style.status[x]; ok && col == "status" {
			return id
		}
		return w.style.text
	}
	return 0
}

// typeStyle is the style every value of a column of v's type takes, or 0 when
// the style depends on the value (status, and amounts in money or counts).
func (w *Workbook) typeStyle(col string, v any) int {
	if _, amount := v.(float64); amount || col == "status" {
		return 0
	}
	return w.styleOf(col, v, false)
}

// excelSerialOf1970 is 1970-01-01 as an Excel serial date (1900 date system).
const excelSerialOf1970 = 25569

// excelDate is a date as excelize writes it, a serial number in Excel's 1900 date
// system, computed from the day count instead of through a time.Time (a tenth of
// a 700,000-row sheet's time). Before 1900-03-01 Excel counts a 29 February 1900
// that never was: there excelize converts.
func excelDate(d pipeline.Date) any {
	if serial := int(d) + excelSerialOf1970; serial > 60 {
		return float64(serial)
	}
	return d.Time()
}

func display(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case pipeline.Date:
		return "2006-01-02"
	case float64:
		return fmt.Sprintf("%.2f,", x) // separators widen it a little
	}
	return fmt.Sprint(v)
}

func indexOf(xs []string, s string) int {
	for i, x := range xs {
		if x == s {
			return i
		}
	}
	return -1
}

// WriteTo finishes the Summary and About sheets and writes the workbook. Its
// document dates are the as-of date, so the same results give the same workbook.
func (w *Workbook) WriteTo(out io.Writer) (int64, error) {
	if err := w.summary(); err != nil {
		return 0, fmt.Errorf("summary sheet: %w", err)
	}
	if err := w.about(); err != nil {
		return 0, fmt.Errorf("about sheet: %w", err)
	}
	stamp := w.meta.AsOf.Time().Format(time.RFC3339)
	if err := w.f.SetDocProps(&excelize.DocProperties{Created: stamp, Modified: stamp, Creator: "attain",
		Title: "Renewal risk " + w.meta.AsOf.String(), Version: w.meta.ProgramVersion}); err != nil {
		return 0, err
	}
	return w.f.WriteTo(out)
}

// Close releases the workbook's temporary files.
func (w *Workbook) Close() error { return w.f.Close() }

// cells writes one small sheet cell by cell, keeping the first error.
type cells struct {
	f     *excelize.File
	sheet string
	err   error
}

func (c *cells) put(col, row int, v any, style int) {
	if c.err != nil {
		return
	}
	cell, _ := excelize.CoordinatesToCellName(col, row)
	if c.err = c.f.SetCellValue(c.sheet, cell, v); c.err == nil && style != 0 {
		c.err = c.f.SetCellStyle(c.sheet, cell, cell, style)
	}
}

func (w *Workbook) summary() error {
	const s = "Summary"
	m := w.meta
	c := &cells{f: w.f, sheet: s}
	put := c.put
	put(1, 1, "Renewal risk", w.style.title)
	put(1, 3, "As of", w.style.header)
	put(2, 3, m.AsOf.Time(), w.style.date)
	put(1, 4, "Run", w.style.header)
	put(2, 4, m.RunID, w.style.text)
	put(1, 5, "Catalog version", w.style.header)
	put(2, 5, m.CatalogVersion, w.style.text)

	// Members by level × status.
	row := 7
	put(1, row, "Members by level and status", w.style.title)
	row++
	statuses := []string{"lapsed", "at_risk", "ok"}
	put(1, row, "level", w.style.header)
	for i, st := range statuses {
		put(2+i, row, st, w.style.header)
	}
	put(2+len(statuses), row, "total", w.style.header)
	for _, level := range pipeline.Levels {
		row++
		put(1, row, level, w.style.text)
		var total int64
		for i, st := range statuses {
			n := count(m.Members, level, st)
			total += n
			put(2+i, row, n, w.style.count)
		}
		put(2+len(statuses), row, total, w.style.count)
	}
	row++
	put(1, row, "eligible non-members", w.style.text)
	put(2+len(statuses), row, count(m.Members, "", "not_member"), w.style.count)

	// At-risk and lapsed members by competency, with a bar chart.
	row += 2
	put(1, row, "At-risk and lapsed members by competency", w.style.title)
	row++
	put(1, row, "competency", w.style.header)
	put(2, row, "at_risk", w.style.header)
	put(3, row, "lapsed", w.style.header)
	first := row + 1
	for _, c := range m.ByCompetency {
		row++
		put(1, row, c.Competency, w.style.text)
		put(2, row, c.AtRisk, w.style.count)
		put(3, row, c.Lapsed, w.style.count)
	}
	if c.err == nil && len(m.ByCompetency) > 0 {
		cats := fmt.Sprintf("Summary!$A$%d:$A$%d", first, row)
		c.err = w.f.AddChart(s, "F7", &excelize.Chart{
			Type: excelize.Bar,
			Series: []excelize.ChartSeries{
				{Name: fmt.Sprintf("Summary!$B$%d", first-1), Categories: cats, Values: fmt.Sprintf("Summary!$B$%d:$B$%d", first, row)},
				{Name: fmt.Sprintf("Summary!$C$%d", first-1), Categories: cats, Values: fmt.Sprintf("Summary!$C$%d:$C$%d", first, row)},
			},
			Title:  excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: "At-risk and lapsed members by competency"}}},
			Legend: excelize.ChartLegend{Position: "bottom"},
		})
	}

	// Data quality.
	row += 2
	put(1, row, "Data quality", w.style.title)
	for _, dq := range []struct {
		label string
		n     int64
	}{
		{"files landed", int64(m.FilesLanded)},
		{"files rejected", int64(m.FilesRejected)},
		{"rows quarantined at ingest", m.RowsQuarantined},
		{"revenue rows left out (no FX rate)", m.RowsLeftOut},
		{"rows naming an unknown organization", m.UnknownOrgRows},
	} {
		row++
		put(1, row, dq.label, w.style.text)
		put(2, row, dq.n, w.style.count)
	}

	// Links to the other sheets.
	row += 2
	put(1, row, "Sheets", w.style.title)
	for _, sh := range append(w.sheets[1:], "About") {
		row++
		put(1, row, sh, w.style.link)
		if c.err == nil {
			cell, _ := excelize.CoordinatesToCellName(1, row)
			c.err = w.f.SetCellHyperLink(s, cell, fmt.Sprintf("'%s'!A1", sh), "Location")
		}
	}
	if c.err == nil {
		c.err = w.f.SetColWidth(s, "A", "A", 40)
	}
	if c.err == nil {
		c.err = w.f.SetColWidth(s, "B", "E", 16)
	}
	return c.err
}

func count(ms []LevelStatus, level, status string) int64 {
	for _, m := range ms {
		if m.Level == level && m.Status == status {
			return m.Members
		}
	}
	return 0
}

// sheetNotes and columnNotes are the About sheet's text.
var sheetNotes = [][2]string{
	{"Summary", "As-of date, run, catalog version; members by level and status; at-risk and lapsed members by the competency their cause names; data quality; links."},
	{"Renewal risk", "One row per member (and per non-member that attains a level), worst first: lapsed, at_risk, ok, then by anniversary."},
	{"Alerts", "Members whose status became at_risk or lapsed since the latest earlier result (or D − 1)."},
	{"Expiring", "For members: exams, assessments and overrides that count now and stop counting within 90 days, one row per competency they serve."},
	{"Attainment", "Each organization's level in each competency it attains, what carries it and when it lapses if nothing new arrives."},
	{"Requirements", "Every requirement of every path of the organizations on Renewal risk, at their own level (a member's level, an eligible non-member's eligible level): value, minimum for its market, met, and when its value falls below the minimum. requirements.csv holds every organization's rows at every level."},
	{"Profile", "The competencies each member's marketing profile shows, and at which level."},
}

var columnNotes = [][2]string{
	{"as_of", "The as-of date D: the state at the end of that day (UTC)."},
	{"org_id, org_name", "The organization, as the organizations feed names it."},
	{"competency_id, competency_name", "The competency, as the catalog names it."},
	{"level", "silver or gold; gold also carries silver."},
	{"basis", "The met path whose attainment lapses latest, or 'override' when no path is met."},
	{"lapses_on", "The first date after D on which the level (or requirement) would no longer be met if no data arrived after D; empty when not within 400 days."},
	{"days_to_lapse", "lapses_on − as_of."},
	{"path, metric", "The path of the level and the metric of the requirement (revenue_12m, new_customers_12m, active_users, deployed_seats, people)."},
	{"value, min, met", "The metric's value at D (revenue in USD), the minimum for the organization's market, and whether value ≥ min."},
	{"membership_level, purchased_on, anniversary_on", "The membership in force at D (purchased_on ≤ D < anniversary_on + 30 days)."},
	{"days_to_anniversary, in_grace", "anniversary_on − D (negative in the 30-day grace window); in_grace when the anniversary has passed."},
	{"status", "lapsed: no competency attains the member's level; at_risk: all supporting competencies lapse by max(anniversary, D); ok: otherwise; not_member: attains a level without a membership."},
	{"supporting_competencies", "Competencies attained at the member's level or higher, ';'-separated."},
	{"cause", "For at_risk and lapsed: the competency, level, path, the requirement that fails first, its value then and its minimum, the date and the item behind it."},
	{"upgrade_eligible, eligible_level", "A Silver member attaining Gold somewhere; the highest level a non-member attains."},
	{"alert, previous_status, message", "Whether the status turned at_risk or lapsed since the previous result, what it was, and the program's alert text."},
	{"individual_id, kind, code, ends_on, days_left", "The item that stops counting (an override's code is its level), the first date it no longer counts, and days until then."},
	{"displayed_level", "min(membership level, max(level at D, level at purchased_on))."},
}

func (w *Workbook) about() error {
	const s = "About"
	if _, err := w.f.NewSheet(s); err != nil {
		return err
	}
	m := w.meta
	c := &cells{f: w.f, sheet: s}
	put := c.put
	put(1, 1, "About this workbook", w.style.title)
	put(1, 2, "Program", w.style.header)
	put(2, 2, "attain "+m.ProgramVersion, w.style.text)
	row := 4
	// A two-column table of notes under its header, then a blank row.
	notes := func(head [2]string, lines [][2]string) {
		put(1, row, head[0], w.style.header)
		put(2, row, head[1], w.style.header)
		for _, n := range lines {
			row++
			put(1, row, n[0], w.style.text)
			put(2, row, n[1], w.style.text)
		}
		row += 2
	}
	notes([2]string{"Sheet", "What it holds"}, sheetNotes)
	notes([2]string{"Column", "Meaning"}, columnNotes)
	put(1, row, "Input file", w.style.header)
	put(2, row, "SHA-256", w.style.header)
	put(3, row, "rows", w.style.header)
	for _, in := range m.Inputs {
		row++
		put(1, row, in.File, w.style.text)
		put(2, row, in.SHA256, w.style.text)
		put(3, row, in.Rows, w.style.count)
	}
	if c.err == nil {
		c.err = w.f.SetColWidth(s, "A", "A", 42)
	}
	if c.err == nil {
		c.err = w.f.SetColWidth(s, "B", "B", 100)
	}
	return c.err
}
