package render

import (
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
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
	Rejected                   []Rejection // the files in force that were rejected, with why
	QuarantinedByFeed          []FeedRows  // rows quarantined at ingest, over the files in force
	RowsQuarantined            int64       // their sum
	RowsLeftOut                int64       // at compute (no FX rate)
	UnknownOrgRows             int64       // rows naming an organization the feed lacks
	Inputs                     []Input
	Members                    []LevelStatus
	ByCompetency               []CompetencyRisk
	Figures                    Figures
	// the latest stored month end before D and its figures, when there is one
	MonthEnd        *pipeline.Date
	MonthEndFigures *Figures
	Act             []ActList       // the Summary's "act on today" (SPEC §6.3)
	Trend           []TrendPoint    // members by level × status at stored dates, D last
	TrendMissing    []pipeline.Date // month ends of the 13 months up to D with no stored result
	TrendAsKnown    bool            // the report reads the --as-known history first: the backfill that fills them is --as-known
	Previous        *pipeline.Date  // the latest stored result before D
	Changes         []StatusChange  // members whose status differs from Previous's
}

// StatusChange is a member whose status differs from the previous stored result.
type StatusChange struct {
	OrgID, OrgName, Level, Previous, Status, Cause string
}

// ActList is one list of the Summary's "act on today": members by name, worst
// first, at most ten of Total, with the date and the sentence that matter.
type ActList struct {
	Title, DateLabel, TextLabel string
	Rows                        []ActRow
	Total                       int64
	Sheet                       string // where the rest are
}

// ActRow is a member to act on.
type ActRow struct {
	OrgID, OrgName, Level, Status string
	On                            pipeline.Date // 0: none
	Text                          string
}

// Figures are the Summary's key figures at a date (SPEC §6.3).
type Figures struct {
	Silver, Gold, Lapsed, AtRisk, OK            int64 // members
	Alerts, UpgradeEligible, EligibleNonMembers int64
	// anniversaries in the next 30 and 90 days, and how many of those members
	// are at risk or lapsed
	Anniversaries30, AtRisk30, Anniversaries90, AtRisk90 int64
	// members with a key person (one departure makes them worse), and with
	// exactly one
	WithKeyPeople, OneKeyPerson int64
}

// Rejection is a rejected file and its reason.
type Rejection struct{ File, Reason string }

// FeedRows counts rows of a feed.
type FeedRows struct {
	Feed string
	Rows int64
}

// TrendPoint counts members of one level in one status at a stored date.
type TrendPoint struct {
	Date          pipeline.Date
	Level, Status string
	Members       int64
}

// Input is one input file in force: landed (its rows landed and quarantined) or
// rejected (and why).
type Input struct {
	File, Feed, Status, SHA256 string
	Rows, Quarantined          int64
	Reason                     string
}

// LevelStatus counts members of one level in one status.
type LevelStatus struct {
	Level, Status string
	Members       int64
}

// CompetencyRisk counts the at-risk and lapsed members a competency's causes
// name; Name is the catalog's.
type CompetencyRisk struct {
	Competency, Name string
	AtRisk, Lapsed   int64
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
	tables  int                 // the tables made so far: excelize numbers the next one tables+1
	edits   map[string]partEdit // parts the zip writer edits (slicers on a streamed sheet)
}

type styles struct {
	header, date, money, count, text, title, link, wrap, percent, subtitle int
	headerRight, textRight, change, countOrBlank                           int
	status                                                                 map[string]int
}

// NewWorkbook starts a workbook with its Summary sheet.
func NewWorkbook(meta Meta) (*Workbook, error) {
	f := excelize.NewFile()
	w := &Workbook{f: f, meta: meta, MaxRows: ExcelMaxRows, sheets: []string{"Summary"}, edits: map[string]partEdit{}}
	f.SetZipWriter(func(out io.Writer) excelize.ZipWriter { return newEditingZipWriter(out, w.edits) })
	if err := f.SetSheetName("Sheet1", "Summary"); err != nil {
		return nil, err
	}
	// Summary opens first. Set now, while it is the only sheet: later excelize
	// would read every streamed sheet back in to unselect its tab (3 s of a
	// 700,000-row report went there).
	f.SetActiveSheet(0)
	var err error
	mk := func(s *excelize.Style) int {
		id, e := f.NewStyle(s)
		if e != nil && err == nil {
			err = e
		}
		return id
	}
	dateFmt, moneyFmt, countFmt := "yyyy-mm-dd", "#,##0.00", "#,##0"
	changeFmt, countOrBlank := "+#,##0;-#,##0;0", countOrBlankFmt
	top := &excelize.Alignment{Vertical: "top"}
	w.style = styles{
		header: mk(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}}}),
		// data cells sit at the top of a row a wrapped sentence makes tall
		// dates start at the left: right-aligned, a date ran into the text of the
		// column after it ("2027-08-02Application Development")
		date:  mk(&excelize.Style{CustomNumFmt: &dateFmt, Alignment: &excelize.Alignment{Horizontal: "left", Vertical: "top"}}),
		money: mk(&excelize.Style{CustomNumFmt: &moneyFmt, Alignment: top}),
		count: mk(&excelize.Style{CustomNumFmt: &countFmt, Alignment: top}),
		text:  mk(&excelize.Style{NumFmt: 49, Alignment: top}), // "@": stored and shown as text
		title: mk(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 14}}),
		link:  mk(&excelize.Style{Font: &excelize.Font{Color: "0563C1", Underline: "single"}}),
		// wrapped text, top-aligned, for causes
		wrap:     mk(&excelize.Style{NumFmt: 49, Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}}),
		percent:  mk(&excelize.Style{NumFmt: 10}), // 0.00%
		subtitle: mk(&excelize.Style{Font: &excelize.Font{Color: "404040"}}),
		headerRight: mk(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}},
			Alignment: &excelize.Alignment{Horizontal: "right"}}),
		textRight:    mk(&excelize.Style{NumFmt: 49, Alignment: &excelize.Alignment{Horizontal: "right"}}),
		change:       mk(&excelize.Style{CustomNumFmt: &changeFmt}),
		countOrBlank: mk(&excelize.Style{CustomNumFmt: &countOrBlank}),
		status:       map[string]int{},
	}
	for _, status := range slices.Sorted(maps.Keys(statusColor)) { // in order: the same style ids every time
		w.style.status[status] = mk(&excelize.Style{Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{statusColor[status]}}, NumFmt: 49,
			Alignment: top})
	}
	if err != nil {
		return nil, err
	}
	return w, nil
}

// widthSample is how many rows decide the column widths.
const widthSample = 1000

// SheetOptions say how a table shows on its sheet.
type SheetOptions struct {
	// Order lists the columns the sheet shows first, in order (those an analyst
	// acts on, printed); the others follow in their own order.
	Order []string
	// Keep is how many of the first columns stay in view when scrolling right.
	Keep int
	// Slicers are the columns with an Excel slicer (SPEC §6.3).
	Slicers []string
}

// wrapWidths are the columns of sentences, read in full: wrapped in a column of
// this width, each row as tall as its lines (excelize writes no height of its
// own, and Excel does not fit one).
var wrapWidths = map[string]float64{"cause": 38, "needs": 34, "message": 40, "competency_names": 30, "supporting_competencies": 24,
	"reason": 50}

// maxWidth is the widest a column of values gets (names: 30); a longer value
// wraps.
const maxWidth = 30

// AddSheet streams a table onto a sheet (and its overflow sheets) as an Excel
// table: headers in words, the header row frozen (and opt.Keep columns), dates as
// dates, money with separators, sentences wrapped; printed landscape at a scale
// that reads, its first columns when it is too wide (SPEC §6.3). It returns the
// rows written.
func (w *Workbook) AddSheet(name string, rows pipeline.Rows, opt SheetOptions) (int64, error) {
	src := rows.Columns()
	// the sheet's column i is the rows' column perm[i]
	var perm []int
	for _, c := range opt.Order {
		if i := indexOf(src, c); i >= 0 {
			perm = append(perm, i)
		}
	}
	// then the rest, the as-of date last (the same on every row)
	for i, c := range src {
		if !slices.Contains(opt.Order, c) && c != "as_of" {
			perm = append(perm, i)
		}
	}
	if i := indexOf(src, "as_of"); i >= 0 && !slices.Contains(opt.Order, "as_of") {
		perm = append(perm, i)
	}
	cols := make([]string, len(src))
	for i, j := range perm {
		cols[i] = src[j]
	}
	// Widths come from the header and the first rows.
	var sample [][]any
	for len(sample) < widthSample && rows.Next() {
		sample = append(sample, permuted(rows.Values(), perm, nil))
	}
	widths := make([]float64, len(cols))
	for i, c := range cols {
		widths[i] = float64(utf8.RuneCountInString(Header(c))) + 3 // the filter button
	}
	for _, r := range sample {
		for i, v := range r {
			widths[i] = max(widths[i], float64(utf8.RuneCountInString(display(v)))+2)
		}
	}
	wrapped := make([]bool, len(cols))
	for i, c := range cols {
		widths[i] = min(widths[i], maxWidth)
		if wd, ok := wrapWidths[c]; ok {
			widths[i], wrapped[i] = wd, true
		}
	}
	printed := printedColumns(widths)
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
	head := 1 // the header row
	open := func() error {
		if part > 1 {
			sheet = fmt.Sprintf("%s (%d)", name, part)
		}
		// Slicers (the first part's) sit in rows above the header, in view.
		head = 1
		if len(opt.Slicers) > 0 && part == 1 {
			head = slicerRows + 1
		}
		if _, err := w.f.NewSheet(sheet); err != nil {
			return err
		}
		w.sheets = append(w.sheets, sheet)
		// before the stream writer, which writes the worksheet's settings as
		// they are now (set after its Flush, excelize would read the whole
		// sheet back in)
		if err := w.printSetup(sheet, false, head); err != nil {
			return err
		}
		if printed < len(cols) {
			last, _ := excelize.ColumnNumberToName(printed)
			if err := w.f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Area",
				RefersTo: fmt.Sprintf("'%s'!$A:$%s", sheet, last), Scope: sheet}); err != nil {
				return err
			}
		}
		if head > 1 {
			if err := w.slicers(sheet, cols, widths, head, opt.Slicers); err != nil {
				return err
			}
		}
		var err error
		if sw, err = w.f.NewStreamWriter(sheet); err != nil {
			return err
		}
		for i, wd := range widths {
			if err := sw.SetColWidth(i+1, i+1, wd); err != nil {
				return err
			}
			if wrapped[i] {
				colStyle[i] = w.style.wrap
			}
			if colStyle[i] != 0 {
				if err := sw.SetColStyle(i+1, i+1, colStyle[i]); err != nil {
					return err
				}
			}
		}
		if err := sw.SetPanes(freezePanes(opt.Keep, head)); err != nil {
			return err
		}
		if head > 1 {
			note := "Filter with the slicers beside this note (in Excel) or the buttons on the header row."
			if err := sw.SetRow("A1", []any{excelize.Cell{StyleID: w.style.wrap, Value: note}}); err != nil {
				return err
			}
			last, _ := excelize.CoordinatesToCellName(2, slicerRows)
			if err := sw.MergeCell("A1", last); err != nil {
				return err
			}
		}
		header := make([]any, len(cols))
		for i, c := range cols {
			header[i] = excelize.Cell{StyleID: w.style.header, Value: Header(c)}
		}
		rowNo = head
		cell, _ := excelize.CoordinatesToCellName(1, head)
		return sw.SetRow(cell, header)
	}
	closeSheet := func() error {
		first, _ := excelize.CoordinatesToCellName(1, head)
		last, _ := excelize.CoordinatesToCellName(len(cols), max(rowNo, head+1))
		if head > 1 {
			// the table made before the rows (slicers): its range now
			dummy, _ := excelize.CoordinatesToCellName(len(cols), head+1)
			w.edits[fmt.Sprintf("xl/tables/table%d.xml", w.tables)] = partEdit{Head: 1 << 16,
				Replace: []string{`ref="` + first + ":" + dummy + `"`, `ref="` + first + ":" + last + `"`}}
			return sw.Flush()
		}
		w.tables++
		if err := sw.AddTable(&excelize.Table{Range: first + ":" + last, Name: TableName(sheet), StyleName: tableStyle}); err != nil {
			return err
		}
		return sw.Flush()
	}
	if err := open(); err != nil {
		return 0, err
	}
	metric := indexOf(cols, "metric")
	cells := make([]any, len(cols))
	row := make([]any, len(cols))
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
		lines := 1
		for i, v := range vals {
			if c, ok := v.(string); ok && wrapped[i] {
				v = Readable(c)
				lines = max(lines, linesOf(v.(string), widths[i]))
			}
			cells[i] = w.cell(cols[i], v, money, colStyle[i])
		}
		rowNo++
		cell, _ := excelize.CoordinatesToCellName(1, rowNo)
		total++
		if lines > 1 {
			return sw.SetRow(cell, cells, excelize.RowOpts{Height: float64(lines) * lineHeight})
		}
		return sw.SetRow(cell, cells)
	}
	for _, r := range sample {
		if err := write(r); err != nil {
			return total, err
		}
	}
	for rows.Next() {
		if err := write(permuted(rows.Values(), perm, row)); err != nil {
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
	case nil:
		return v
	case bool:
		// as text: Excel shows a boolean cell TRUE/FALSE, LibreOffice 1/0 or
		// TRUE/FALSE by the cell's format; "true"/"false" reads alike in both
		// and as the CSV files write it
		val = strconv.FormatBool(x)
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
		if id, ok := w.style.status[x]; ok && strings.Contains(col, "status") {
			return id
		}
		if _, ok := wrapWidths[col]; ok {
			return w.style.wrap
		}
		return w.style.text
	case bool:
		return w.style.text
	}
	return 0
}

// typeStyle is the style every value of a column of v's type takes, or 0 when
// the style depends on the value (status, and amounts in money or counts).
func (w *Workbook) typeStyle(col string, v any) int {
	if _, amount := v.(float64); amount || strings.Contains(col, "status") {
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

// permuted is vals in the sheet's order, into out (a new slice when nil).
func permuted(vals []any, perm []int, out []any) []any {
	if out == nil {
		out = make([]any, len(perm))
	}
	for i, j := range perm {
		out[i] = vals[j]
	}
	return out
}

// freezePanes keeps the rows down to the header row, and the first keep
// columns, in view.
func freezePanes(keep, head int) *excelize.Panes {
	if keep == 0 {
		return &excelize.Panes{Freeze: true, YSplit: head, TopLeftCell: fmt.Sprintf("A%d", head+1), ActivePane: "bottomLeft"}
	}
	cell, _ := excelize.CoordinatesToCellName(keep+1, head+1)
	return &excelize.Panes{Freeze: true, XSplit: keep, YSplit: head, TopLeftCell: cell, ActivePane: "bottomRight"}
}

// tableStyle is the data tables' style.
const tableStyle = "TableStyleLight9"

// slicers makes, on a sheet not yet streamed, its table (header row head, a
// row for now) and Excel's slicers on columns of it, side by side above the
// header from column C. excelize adds a slicer to a sheet it holds, so they are
// made before the sheet's stream writer, which keeps the table part, the drawing
// and everything else but the worksheet's extLst, where a sheet lists its
// slicers: the zip writer puts it back (and the table's final range) as the
// parts are written, so the sheet is never read back (2 s and 200 MB at 20,000
// organizations).
func (w *Workbook) slicers(sheet string, cols []string, widths []float64, head int, on []string) error {
	header := make([]any, len(cols))
	for i, c := range cols {
		header[i] = Header(c)
	}
	first, _ := excelize.CoordinatesToCellName(1, head)
	if err := w.f.SetSheetRow(sheet, first, &header); err != nil {
		return err
	}
	dummy, _ := excelize.CoordinatesToCellName(len(cols), head+1)
	w.tables++
	if err := w.f.AddTable(sheet, &excelize.Table{Range: first + ":" + dummy, Name: TableName(sheet), StyleName: tableStyle}); err != nil {
		return err
	}
	at, x := 2, 0.0 // column index (0-based) of the next slicer, its left edge in pixels from C
	for _, col := range on {
		if !slices.Contains(cols, col) {
			continue
		}
		cell, _ := excelize.CoordinatesToCellName(at+1, 1)
		show := true
		if err := w.f.AddSlicer(sheet, &excelize.SlicerOptions{Name: Header(col), Cell: cell, TableSheet: sheet,
			TableName: TableName(sheet), Caption: Header(col), Width: slicerWidth, Height: slicerRows * 17,
			DisplayHeader: &show, Format: excelize.GraphicOptions{OffsetY: 2}}); err != nil {
			return fmt.Errorf("slicer %s: %w", col, err)
		}
		// the next at the first column that starts right of this one (an offset
		// cannot leave its cell)
		for end := x + slicerWidth + 8; x < end && at < len(widths)-1; at++ {
			x += 7*widths[at] + 5
		}
	}
	// The slicers' drawing (the first of the workbook: the Summary's charts come
	// last) without the text boxes excelize adds for applications without
	// slicers, which LibreOffice draws over the header row and prints; without
	// them it shows nothing, and keeps the table's filters.
	w.edits["xl/drawings/drawing1.xml"] = partEdit{Head: 1 << 20, Drop: fallbacks}
	// The sheet's slicer list, as excelize writes it: its relationship to the
	// slicers part is the sheet's second, after the table's.
	id := 0
	for i, name := range w.f.GetSheetMap() {
		if name == sheet {
			id = i
		}
	}
	w.edits[fmt.Sprintf("xl/worksheets/sheet%d.xml", id)] = partEdit{Before: "</worksheet>",
		Tail: `<extLst><ext xmlns:x15="http://schemas.microsoft.com/office/spreadsheetml/2010/11/main" uri="{3A4CF648-6AED-40f4-86FF-DC5316D8AED3}">` +
			`<x14:slicerList xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"><x14:slicer r:id="rId2"></x14:slicer></x14:slicerList></ext></extLst>`}
	return nil
}

// fallbacks are the alternatives to a drawing's slicers.
var fallbacks = regexp.MustCompile(`(?s)<mc:Fallback>.*?</mc:Fallback>`)

// Slicers: rows above the header (20 px each) and a slicer's width in pixels.
const (
	slicerRows  = 6
	slicerWidth = 190
)

// TableName is a sheet's Excel table name: letters, digits and underscores.
func TableName(sheet string) string {
	return strings.NewReplacer(" ", "", "(", "_", ")", "").Replace(sheet)
}

// The printed page (SPEC §6.3): landscape Letter, 0.7 in margins, at 70% at
// least. A column of width w (characters of Calibri 11) is 7w + 5 pixels, 3/4
// of a point each.
const (
	pagePoints = (11 - 2*0.7) * 72
	minScale   = 0.7
)

// printedColumns is how many of the first columns print at minScale or more:
// all of them when they fit.
func printedColumns(widths []float64) int {
	var points float64
	for i, wd := range widths {
		points += 0.75 * (7*wd + 5)
		if points*minScale > pagePoints {
			return max(1, i)
		}
	}
	return len(widths)
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
	f      *excelize.File
	sheet  string
	err    error
	tables *int // the workbook's count of tables
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

// table makes the cells from top-left cell tl, cols wide, to row last an Excel
// table with a header row and the data sheets' style.
func (c *cells) table(tl string, cols, last int, name string) {
	if c.err != nil {
		return
	}
	br, _ := excelize.CoordinatesToCellName(cols, last)
	*c.tables++
	c.err = c.f.AddTable(c.sheet, &excelize.Table{Range: tl + ":" + br, Name: name, StyleName: tableStyle})
}

// merge merges a range of cells.
func (c *cells) merge(col1, row1, col2, row2 int) {
	if c.err != nil {
		return
	}
	a, _ := excelize.CoordinatesToCellName(col1, row1)
	b, _ := excelize.CoordinatesToCellName(col2, row2)
	c.err = c.f.MergeCell(c.sheet, a, b)
}

// height sets a row's height (points).
func (c *cells) height(row int, h float64) {
	if c.err == nil {
		c.err = c.f.SetRowHeight(c.sheet, row, h)
	}
}

// link makes a cell a link to another sheet's first cell.
func (c *cells) link(col, row int, sheet string) {
	if c.err != nil {
		return
	}
	cell, _ := excelize.CoordinatesToCellName(col, row)
	c.err = c.f.SetCellHyperLink(c.sheet, cell, fmt.Sprintf("'%s'!A1", sheet), "Location")
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
	{"Summary", "One page: key figures (members by level and status, alerts today, upgrade-eligible members, eligible non-members, anniversaries coming up, members resting on key people); members by level and status; at-risk and lapsed members by the competency their cause names, with a chart; members by status over time from the stored results; data quality; links."},
	{"Renewal risk", "One row per member (and per non-member that attains a level), worst first: lapsed, at_risk, ok, then by anniversary. The cause is shown with thousands separators and currency; renewal_risk.csv keeps it as computed. key_people counts the member's key people."},
	{"Key people", "For each member, the individuals whose leaving today (not counting from today on) would make its status worse: its status and lapses_on now and without them, and the supporting competencies they alone keep at the member's level."},
	{"Trend", "Members by level and status at each stored month end of the 13 months up to the as-of date, and at it, read from the stored results (attain backfill --every month fills the months that are missing, named under the table); then the members whose status differs from the latest stored result before the as-of date, worst first."},
	{"Alerts", "Members whose status became at_risk or lapsed since the latest earlier result (or D − 1)."},
	{"Expiring", "For members: exams, assessments and overrides that count now and stop counting within 90 days, one row per competency they serve."},
	{"Attainment", "Each organization's level in each competency it attains, what carries it and when it lapses if nothing new arrives."},
	{"Requirements", "Only the organizations on Renewal risk, at their own level (a member's level, an eligible non-member's eligible level): every requirement of every path, its value, the minimum for its market, met, and when its value falls below the minimum. requirements.csv holds every organization's rows at every level."},
	{"Profile", "The competencies each member's marketing profile shows, and at which level."},
	{"Inputs", "Every input file in force: landed (rows landed and quarantined, SHA-256) or rejected, and why."},
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
	{"key_people", "On Renewal risk: how many individuals the member rests on (Key people)."},
	{"status_now, status_if_leaves", "The member's status, and what it would be if the individual no longer counted from the as-of date on."},
	{"lapses_on_now, lapses_on_if_leaves", "The member's lapses_on, now and without the individual (empty when it does not lapse within 400 days, or is lapsed)."},
	{"competencies, competency_names", "The supporting competencies that attain the member's level with the individual and not without."},
	{"true / false", "Yes/no columns are written as the words true and false, alike in Excel and LibreOffice."},
}

// about writes the About sheet (what each sheet and column means, the program
// version: a page or two) and the Inputs sheet (SPEC §6.3).
func (w *Workbook) about() error {
	const s = "About"
	if _, err := w.f.NewSheet(s); err != nil {
		return err
	}
	if err := w.printSetup(s, false, 1); err != nil {
		return err
	}
	m := w.meta
	c := &cells{f: w.f, sheet: s, tables: &w.tables}
	put := c.put
	put(1, 1, "About this workbook", w.style.title)
	put(1, 2, "Program", w.style.header)
	put(2, 2, "attain "+m.ProgramVersion+" · as of "+m.AsOf.String()+" · catalog "+m.CatalogVersion, w.style.text)
	row := 4
	// A two-column table of notes under its header, then a blank row; each note
	// wrapped, its row as tall as its lines.
	notes := func(head [2]string, lines [][2]string, name string) {
		first := row
		put(1, row, head[0], w.style.header)
		put(2, row, head[1], w.style.header)
		for _, n := range lines {
			row++
			put(1, row, n[0], w.style.wrap)
			put(2, row, n[1], w.style.wrap)
			if l := max(linesOf(n[1], aboutWidth), linesOf(n[0], aboutKeyWidth)); l > 1 {
				c.height(row, float64(l)*lineHeight)
			}
		}
		cell, _ := excelize.CoordinatesToCellName(1, first)
		c.table(cell, 2, row, name)
		row += 2
	}
	notes([2]string{"Sheet", "What it holds"}, sheetNotes, "AboutSheets")
	notes([2]string{"Column", "Meaning"}, columnNotes, "AboutColumns")
	if c.err == nil {
		c.err = w.f.SetColWidth(s, "A", "A", aboutKeyWidth)
	}
	if c.err == nil {
		c.err = w.f.SetColWidth(s, "B", "B", aboutWidth)
	}
	if c.err != nil {
		return c.err
	}
	// Inputs: every file in force, streamed (a program's years of daily files).
	rows := &pipeline.SliceRows{Cols: []string{"file", "feed", "status", "rows", "quarantined", "reason", "sha256"}}
	for _, in := range m.Inputs {
		rows.Data = append(rows.Data, []any{in.File, in.Feed, in.Status, in.Rows, in.Quarantined, in.Reason, in.SHA256})
	}
	_, err := w.AddSheet("Inputs", rows, SheetOptions{})
	return err
}

// The About sheet's columns.
const (
	aboutKeyWidth = 30.0
	aboutWidth    = 100.0
)
