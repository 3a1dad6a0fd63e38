package render

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"attain/pipeline"
)

// trendCauseWidth is the width of the Trend sheet's cause column (F), and
// lineHeight the height of a wrapped line (points, Calibri 11).
const (
	trendCauseWidth = 56.0
	lineHeight      = 15.0
)

// linesOf estimates the lines a text takes wrapped in a column of width
// characters (a column's width counts digits, which are wider than most letters).
func linesOf(text string, width float64) int {
	return max(1, int(math.Ceil(float64(len([]rune(text)))/(width*1.1))))
}

var (
	causeAmount = regexp.MustCompile(`(revenue_12m (?:is|falls to|fell to) )(-?\d+\.\d\d)( \(needs )(-?\d+\.\d\d)\)`)
	causeUSD    = regexp.MustCompile(`(-?\d{4,}\.\d\d) USD`)
	causeCount  = regexp.MustCompile(`((?:is|falls to|fell to) )(\d{4,})( \(needs )(\d+)\)`)
	causeMoved  = regexp.MustCompile(`\(revenue_12m (-?\d+\.\d\d) → (-?\d+\.\d\d)\)`)
)

// Readable is a cause or needs sentence as the workbook shows it (SPEC §6.3):
// amounts with thousands separators and their currency, counts with separators.
// The CSV files keep the sentence as computed, for scripts.
func Readable(c string) string {
	c = causeAmount.ReplaceAllStringFunc(c, func(m string) string {
		p := causeAmount.FindStringSubmatch(m)
		return p[1] + grouped(p[2]) + " USD" + p[3] + grouped(p[4]) + " USD)"
	})
	c = causeMoved.ReplaceAllStringFunc(c, func(m string) string {
		p := causeMoved.FindStringSubmatch(m)
		return "(revenue_12m " + grouped(p[1]) + " USD → " + grouped(p[2]) + " USD)"
	})
	c = causeUSD.ReplaceAllStringFunc(c, func(m string) string {
		return grouped(causeUSD.FindStringSubmatch(m)[1]) + " USD"
	})
	return causeCount.ReplaceAllStringFunc(c, func(m string) string {
		p := causeCount.FindStringSubmatch(m)
		return p[1] + grouped(p[2]) + p[3] + grouped(p[4]) + ")"
	})
}

// grouped puts thousands separators into a decimal number's whole part.
func grouped(n string) string {
	sign := ""
	if strings.HasPrefix(n, "-") {
		sign, n = "-", n[1:]
	}
	whole, frac, _ := strings.Cut(n, ".")
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if frac != "" {
		return sign + b.String() + "." + frac
	}
	return sign + b.String()
}

// printSetup prints a sheet landscape, one page wide (onePage: one page in all)
// and, for a data sheet, repeats its header row (titleRow) on every page (SPEC
// §6.3). It is set while the sheet is empty.
func (w *Workbook) printSetup(sheet string, onePage bool, titleRow int) error {
	landscape, wide, tall, fit := "landscape", 1, 0, true
	if onePage {
		tall = 1
	}
	if err := w.f.SetSheetProps(sheet, &excelize.SheetPropsOptions{FitToPage: &fit}); err != nil {
		return err
	}
	if err := w.f.SetPageLayout(sheet, &excelize.PageLayoutOptions{Orientation: &landscape, FitToWidth: &wide, FitToHeight: &tall}); err != nil {
		return err
	}
	if onePage {
		return nil
	}
	return w.f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Titles", RefersTo: fmt.Sprintf("'%s'!$%d:$%d", sheet, titleRow, titleRow), Scope: sheet})
}

// statuses are the member statuses, worst first, with the names the sheets use.
var statuses = []struct{ id, label string }{{"lapsed", "lapsed"}, {"at_risk", "at risk"}, {"ok", "ok"}}

// statusColor is each status's fill on the data sheets (NewWorkbook), which the
// charts use too.
var statusColor = map[string]string{"lapsed": "F8CBAD", "at_risk": "FFE699", "ok": "C6EFCE", "not_member": "EDEDED"}

// statusLine is each status's colour as a line: the fill, darker, to read on white.
var statusLine = map[string]string{"lapsed": "C55A11", "at_risk": "BF8F00", "ok": "548235"}

// summary writes the Summary sheet (SPEC §6.3): one printed page an analyst reads
// first and acts on. Left, the key figures beside the latest stored month end's;
// right, members by level and status and the at-risk and lapsed by competency;
// then, across, the members to act on today by name; the two charts; members by
// status over time and data quality; links.
func (w *Workbook) summary() error {
	const s = "Summary"
	m, fig := w.meta, w.meta.Figures
	if err := w.printSetup(s, true, 0); err != nil {
		return err
	}
	c := &cells{f: w.f, sheet: s, tables: &w.tables}
	put := c.put
	// the widths first: excelize places a chart by the widths of the columns
	// it spans as they are when it is added
	for _, cw := range []struct {
		cols  string
		width float64
	}{{"A", 46}, {"B", 12}, {"C", 10}, {"D", 12}, {"E", 10}, {"F", 3}, {"G", 34}, {"H", 10}, {"I", 10}, {"J", 10}, {"K", 10}} {
		if c.err == nil {
			c.err = w.f.SetColWidth(s, cw.cols, cw.cols, cw.width)
		}
	}
	put(1, 1, "Renewal risk as of "+m.AsOf.String(), w.style.title)
	put(1, 2, fmt.Sprintf("run %s · catalog %s · attain %s", m.RunID, m.CatalogVersion, m.ProgramVersion), w.style.subtitle)

	// Key figures, each beside the latest stored month end's and the change.
	members := fig.Silver + fig.Gold
	share := func(n int64) any {
		if members == 0 {
			return ""
		}
		return float64(n) / float64(members)
	}
	row := 4
	put(1, row, "Key figures", w.style.header)
	put(2, row, m.AsOf.String(), w.style.headerRight)
	put(3, row, "share", w.style.headerRight)
	if m.MonthEnd != nil {
		put(4, row, m.MonthEnd.String(), w.style.headerRight)
	} else {
		put(4, row, "month end", w.style.headerRight)
	}
	put(5, row, "change", w.style.headerRight)
	figure := func(label string, pick func(Figures) int64, withShare bool, style int) {
		row++
		put(1, row, label, style)
		n := pick(fig)
		put(2, row, n, w.style.count)
		if withShare {
			put(3, row, share(n), w.style.percent)
		}
		if m.MonthEndFigures != nil {
			before := pick(*m.MonthEndFigures)
			put(4, row, before, w.style.count)
			put(5, row, n-before, w.style.change)
		} else {
			put(4, row, "–", w.style.textRight)
		}
	}
	figure(fmt.Sprintf("members (silver %s, gold %s)", grouped(strconv.FormatInt(fig.Silver, 10)), grouped(strconv.FormatInt(fig.Gold, 10))),
		func(f Figures) int64 { return f.Silver + f.Gold }, false, w.style.text)
	figure("  lapsed", func(f Figures) int64 { return f.Lapsed }, true, w.style.status["lapsed"])
	figure("  at risk", func(f Figures) int64 { return f.AtRisk }, true, w.style.status["at_risk"])
	figure("  ok", func(f Figures) int64 { return f.OK }, true, w.style.status["ok"])
	figure("alerts today", func(f Figures) int64 { return f.Alerts }, false, w.style.text)
	figure("upgrade-eligible members (silver attaining gold)", func(f Figures) int64 { return f.UpgradeEligible }, false, w.style.text)
	figure("eligible non-members", func(f Figures) int64 { return f.EligibleNonMembers }, false, w.style.text)
	figure("anniversaries in the next 30 days", func(f Figures) int64 { return f.Anniversaries30 }, false, w.style.text)
	figure("  of them at risk or lapsed", func(f Figures) int64 { return f.AtRisk30 }, false, w.style.text)
	figure("anniversaries in the next 90 days", func(f Figures) int64 { return f.Anniversaries90 }, false, w.style.text)
	figure("  of them at risk or lapsed", func(f Figures) int64 { return f.AtRisk90 }, false, w.style.text)
	figure("members one departure would put at risk or lapse", func(f Figures) int64 { return f.WithKeyPeople }, true, w.style.text)
	figure("  of them resting on exactly one person", func(f Figures) int64 { return f.OneKeyPerson }, true, w.style.text)
	figuresEnd := row

	// Members by level × status, beside the key figures.
	top := 4
	put(7, top, "Members by level and status", w.style.header)
	for i, st := range statuses {
		put(8+i, top, st.label, w.style.status[st.id])
	}
	put(11, top, "total", w.style.headerRight)
	for j, level := range pipeline.Levels {
		r := top + 1 + j
		put(7, r, level, w.style.text)
		var total int64
		for i, st := range statuses {
			n := count(m.Members, level, st.id)
			total += n
			put(8+i, r, n, w.style.count)
		}
		put(11, r, total, w.style.count)
	}

	// At-risk and lapsed members by competency (its name), the bar chart's data.
	r := top + 4
	put(7, r, "At risk and lapsed by competency", w.style.header)
	put(8, r, "at risk", w.style.status["at_risk"])
	put(9, r, "lapsed", w.style.status["lapsed"])
	compFirst := r + 1
	for _, x := range m.ByCompetency {
		r++
		put(7, r, x.Name, w.style.text)
		put(8, r, x.AtRisk, w.style.countOrBlank)
		put(9, r, x.Lapsed, w.style.countOrBlank)
	}
	compLast := r

	// Act on today: by name, worst first, ten of each, then where the rest are.
	row = max(figuresEnd, compLast) + 2
	put(1, row, "Act on today", w.style.title)
	for _, l := range m.Act {
		row++
		put(1, row, fmt.Sprintf("%s (%d)", l.Title, l.Total), w.style.header)
		put(2, row, "level", w.style.header)
		put(3, row, "status", w.style.header)
		put(4, row, l.DateLabel, w.style.header)
		put(5, row, l.TextLabel, w.style.header)
		c.merge(5, row, 11, row)
		if len(l.Rows) == 0 {
			row++
			put(1, row, "none", w.style.subtitle)
		}
		for _, a := range l.Rows {
			row++
			put(1, row, a.OrgName+" ("+a.OrgID+")", w.style.text)
			put(2, row, a.Level, w.style.text)
			put(3, row, a.Status, w.style.status[a.Status])
			if a.On != 0 {
				put(4, row, a.On.Time(), w.style.date)
			}
			text := Readable(a.Text)
			put(5, row, text, w.style.wrap)
			c.merge(5, row, 11, row)
			if lines := linesOf(text, actTextWidth); lines > 1 {
				c.height(row, float64(lines)*lineHeight)
			}
		}
		if more := l.Total - int64(len(l.Rows)); more > 0 {
			row++
			put(1, row, fmt.Sprintf("… and %d more on %s", more, l.Sheet), w.style.link)
			c.link(1, row, l.Sheet)
		}
	}

	// The two charts, side by side.
	row += 2
	chartRow := row
	axisFont := excelize.Font{Size: 10, Color: "000000"}
	title := func(t string) excelize.ChartTitle {
		return excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: t, Font: &excelize.Font{Size: 11, Bold: true, Color: "000000"}}}}
	}
	if c.err == nil && len(m.ByCompetency) > 0 {
		cats := fmt.Sprintf("Summary!$G$%d:$G$%d", compFirst, compLast)
		series := func(col, status string) excelize.ChartSeries {
			return excelize.ChartSeries{Name: fmt.Sprintf("Summary!$%s$%d", col, compFirst-1), Categories: cats,
				Values: fmt.Sprintf("Summary!$%s$%d:$%s$%d", col, compFirst, col, compLast),
				Fill:   excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{statusColor[status]}},
				Line:   excelize.LineOptions{Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{statusLine[status]}}, Width: 0.75}}
		}
		c.err = w.f.AddChart(s, fmt.Sprintf("A%d", chartRow), &excelize.Chart{
			Type:   excelize.BarStacked,
			Series: []excelize.ChartSeries{series("H", "at_risk"), series("I", "lapsed")},
			Title:  title("At risk and lapsed members by competency"),
			Legend: excelize.ChartLegend{Position: "bottom"},
			XAxis:  excelize.ChartAxis{ReverseOrder: true, Font: axisFont}, // the table's order, top down
			YAxis:  excelize.ChartAxis{Font: axisFont, MajorGridLines: true, NumFmt: excelize.ChartNumFmt{CustomNumFmt: "0"}},
			// a 0 is no bar and no label (a "0" beside a name read as part of it)
			PlotArea:  excelize.ChartPlotArea{ShowVal: true, NumFmt: excelize.ChartNumFmt{CustomNumFmt: countOrBlankFmt}},
			Dimension: excelize.ChartDimension{Width: 620, Height: 300},
		})
	}
	// Members by status over time: at risk and lapsed on an axis of their own
	// size, so that one member more or less shows (ok, ten times more, is in the
	// table).
	dates := trendDates(m.Trend)
	tableRow := chartRow + 17
	put(1, tableRow, "Members by status over time", w.style.header)
	for i, st := range statuses {
		put(2+i, tableRow, st.label, w.style.status[st.id])
	}
	for i, d := range dates {
		put(1, tableRow+1+i, d.Time(), w.style.date)
		for j, st := range statuses {
			put(2+j, tableRow+1+i, trendCount(m.Trend, d, "", st.id), w.style.count)
		}
	}
	if c.err == nil && len(dates) > 0 {
		first, last := tableRow+1, tableRow+len(dates)
		cats := fmt.Sprintf("Summary!$A$%d:$A$%d", first, last)
		var ser []excelize.ChartSeries
		for i, st := range statuses[:2] {
			col := string(rune('B' + i))
			ser = append(ser, excelize.ChartSeries{Name: fmt.Sprintf("Summary!$%s$%d", col, tableRow), Categories: cats,
				Values: fmt.Sprintf("Summary!$%s$%d:$%s$%d", col, first, col, last),
				Fill:   excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{statusLine[st.id]}},
				Line:   excelize.LineOptions{Width: 2.25, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{statusLine[st.id]}}},
				Marker: excelize.ChartMarker{Symbol: "circle", Size: 6, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{statusLine[st.id]}}}})
		}
		c.err = w.f.AddChart(s, fmt.Sprintf("G%d", chartRow), &excelize.Chart{
			Type:   excelize.Line,
			Series: ser,
			Title:  title("At risk and lapsed members over time"),
			Legend: excelize.ChartLegend{Position: "bottom"},
			XAxis:  excelize.ChartAxis{Font: axisFont, NumFmt: excelize.ChartNumFmt{CustomNumFmt: "mmm yy"}},
			YAxis: excelize.ChartAxis{Font: axisFont, MajorGridLines: true, MajorUnit: majorUnit(m.Trend),
				NumFmt: excelize.ChartNumFmt{CustomNumFmt: "0"}},
			PlotArea:  excelize.ChartPlotArea{ShowVal: true},
			Dimension: excelize.ChartDimension{Width: 720, Height: 300},
		})
	}

	// Data quality, beside the table over time: the rejected files by name, each
	// reason wrapped under it where it prints.
	row = tableRow
	put(7, row, "Data quality", w.style.header)
	put(8, row, "count", w.style.headerRight)
	dq := func(label string, n int64) {
		row++
		put(7, row, label, w.style.text)
		put(8, row, n, w.style.count)
	}
	dq("files landed", int64(m.FilesLanded))
	dq("files rejected", int64(m.FilesRejected))
	for i, rj := range m.Rejected {
		if i == maxRejectedShown {
			row++
			put(7, row, fmt.Sprintf("  … and %d more on Inputs", len(m.Rejected)-i), w.style.link)
			c.link(7, row, "Inputs")
			break
		}
		row++
		text := "  " + rj.File + ": " + rj.Reason
		put(7, row, text, w.style.wrap)
		c.merge(7, row, 11, row)
		if lines := linesOf(text, dqTextWidth); lines > 1 {
			c.height(row, float64(lines)*lineHeight)
		}
	}
	dq("rows quarantined at ingest", m.RowsQuarantined)
	for _, q := range m.QuarantinedByFeed {
		dq("  "+q.Feed, q.Rows)
	}
	dq("revenue rows without an FX rate (left out)", m.RowsLeftOut)
	dq("rows naming an unknown organization", m.UnknownOrgRows)

	// Links to the other sheets, under data quality.
	row += 2
	put(7, row, "Sheets", w.style.header)
	for _, sh := range append(w.sheets[1:], "About", "Inputs") {
		row++
		put(7, row, sh, w.style.link)
		c.link(7, row, sh)
	}
	return c.err
}

// The Summary's wrapped texts: an act-on-today sentence spans E:K, a rejected
// file's reason G:K.
const (
	actTextWidth     = 10 + 3 + 34 + 4*10
	dqTextWidth      = 34 + 4*10
	maxRejectedShown = 8
)

// countOrBlankFmt shows a count, and nothing for 0.
const countOrBlankFmt = `#,##0;-#,##0;;@`

// majorUnit is the trend chart's gridline step: 1 while the at-risk and lapsed
// counts are small, so that a change by one member is a step you can count.
func majorUnit(ps []TrendPoint) float64 {
	var most int64
	for _, d := range trendDates(ps) {
		most = max(most, trendCount(ps, d, "", "lapsed"), trendCount(ps, d, "", "at_risk"))
	}
	switch {
	case most <= 20:
		return 1
	case most <= 100:
		return 5
	}
	return 0 // Excel's choice
}

// trendDates are the dates of the trend points, in order.
func trendDates(ps []TrendPoint) []pipeline.Date {
	var ds []pipeline.Date
	for _, p := range ps {
		if len(ds) == 0 || ds[len(ds)-1] != p.Date {
			ds = append(ds, p.Date)
		}
	}
	return ds
}

// trendCount is the members at d in status (of level, or of every level when "").
func trendCount(ps []TrendPoint, d pipeline.Date, level, status string) int64 {
	var n int64
	for _, p := range ps {
		if p.Date == d && p.Status == status && (level == "" || p.Level == level) {
			n += p.Members
		}
	}
	return n
}

// AddTrend writes the Trend sheet (SPEC §6.3): members by level × status at each
// stored month end of the 13 months up to D and at D, as an Excel table; the month
// ends not stored, with the command that fills them; below, the members whose
// status changed since the latest stored result before D, worst first, as a second
// table.
func (w *Workbook) AddTrend() error {
	const s = "Trend"
	m := w.meta
	if _, err := w.f.NewSheet(s); err != nil {
		return err
	}
	w.sheets = append(w.sheets, s)
	if err := w.printSetup(s, false, 1); err != nil {
		return err
	}
	c := &cells{f: w.f, sheet: s, tables: &w.tables}
	put := c.put
	put(1, 1, "Date", w.style.header)
	col := 2
	for _, level := range pipeline.Levels {
		for _, st := range statuses {
			put(col, 1, Header(level)+" "+st.label, w.style.status[st.id])
			col++
		}
	}
	put(col, 1, "Members", w.style.header)
	row := 1
	for _, d := range trendDates(m.Trend) {
		row++
		put(1, row, d.Time(), w.style.date)
		col, total := 2, int64(0)
		for _, level := range pipeline.Levels {
			for _, st := range statuses {
				n := trendCount(m.Trend, d, level, st.id)
				total += n
				put(col, row, n, w.style.count)
				col++
			}
		}
		put(col, row, total, w.style.count)
	}
	c.table("A1", col, max(row, 2), "Trend")
	row += 2
	if len(m.TrendMissing) > 0 {
		put(1, row, "Month ends without stored results", w.style.header)
		c.merge(1, row, 3, row)
		for _, d := range m.TrendMissing {
			row++
			put(1, row, d.Time(), w.style.date)
		}
		row++
		fill := fmt.Sprintf("fill them with: attain backfill --from %s --to %s --every month --report-every none",
			m.TrendMissing[0], m.TrendMissing[len(m.TrendMissing)-1])
		if m.TrendAsKnown {
			fill += " --as-known"
		}
		put(1, row, fill, w.style.text)
		row += 2
	}
	if m.Previous == nil {
		put(1, row, "No stored result before "+m.AsOf.String()+": no changes to show.", w.style.text)
	} else {
		put(1, row, fmt.Sprintf("Members whose status changed since %s (%d)", m.Previous, len(m.Changes)), w.style.title)
		row++
		first := row
		for i, h := range []string{"Organization id", "Organization", "Level", "Previous status", "Status", "Cause"} {
			put(1+i, row, h, w.style.header)
		}
		for _, x := range m.Changes {
			row++
			cause := Readable(x.Cause)
			for i, v := range []string{x.OrgID, x.OrgName, x.Level, x.Previous, x.Status, cause} {
				style := w.style.text
				if i == 3 || i == 4 {
					style = w.style.status[v]
				}
				if i == 5 {
					style = w.style.wrap
				}
				put(1+i, row, v, style)
			}
			if lines := linesOf(cause, trendCauseWidth); lines > 1 {
				c.height(row, float64(lines)*lineHeight)
			}
		}
		cell, _ := excelize.CoordinatesToCellName(1, first)
		c.table(cell, 6, max(row, first+1), "TrendChanges")
	}
	if c.err == nil {
		c.err = w.f.SetPanes(s, freezePanes(0, 1))
	}
	// the counts' columns under the changes' widths: both tables print whole
	for i, width := range []float64{14, 30, 12, 16, 12, trendCauseWidth, 12, 12} {
		if c.err == nil {
			name, _ := excelize.ColumnNumberToName(i + 1)
			c.err = w.f.SetColWidth(s, name, name, width)
		}
	}
	return c.err
}
