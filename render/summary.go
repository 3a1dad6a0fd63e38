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

// causeWidth is the width of a cause column, and lineHeight the height of one
// of its wrapped lines (points, Calibri 11).
const (
	causeWidth      = 70.0
	trendCauseWidth = 6 * 12.0 // F:K on the Trend sheet
	lineHeight      = 15.0
)

// linesOf estimates the lines a text takes wrapped in a column of width
// characters (a column's width counts digits, which are wider than most letters).
func linesOf(text string, width float64) int {
	return max(1, int(math.Ceil(float64(len([]rune(text)))/(width*1.1))))
}

var (
	causeAmount = regexp.MustCompile(`(revenue_12m (?:is|falls to|fell to) )(-?\d+\.\d\d)( \(needs )(-?\d+\.\d\d)\)`)
	causeUSD    = regexp.MustCompile(`\((-?\d+\.\d\d) USD\)`)
	causeCount  = regexp.MustCompile(`((?:is|falls to|fell to) )(\d{4,})( \(needs )(\d+)\)`)
)

// ReadableCause is a cause as the workbook shows it (SPEC §6.3): amounts with
// thousands separators and their currency, counts with separators. The CSV
// files keep the sentence as computed, for scripts.
func ReadableCause(c string) string {
	c = causeAmount.ReplaceAllStringFunc(c, func(m string) string {
		p := causeAmount.FindStringSubmatch(m)
		return p[1] + grouped(p[2]) + " USD" + p[3] + grouped(p[4]) + " USD)"
	})
	c = causeUSD.ReplaceAllStringFunc(c, func(m string) string {
		return "(" + grouped(causeUSD.FindStringSubmatch(m)[1]) + " USD)"
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
// and, for a data sheet, repeats its header row on every page (SPEC §6.3). It
// is set while the sheet is empty.
func (w *Workbook) printSetup(sheet string, onePage bool) error {
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
	return w.f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Titles", RefersTo: fmt.Sprintf("'%s'!$1:$1", sheet), Scope: sheet})
}

// statuses are the member statuses, worst first, with the names the sheets use.
var statuses = []struct{ id, label string }{{"lapsed", "lapsed"}, {"at_risk", "at risk"}, {"ok", "ok"}}

// statusColor is each status's fill on the data sheets (NewWorkbook), which the
// charts use too.
var statusColor = map[string]string{"lapsed": "F8CBAD", "at_risk": "FFE699", "ok": "C6EFCE", "not_member": "EDEDED"}

// statusLine is each status's colour as a line: the fill, darker, to read on white.
var statusLine = map[string]string{"lapsed": "C55A11", "at_risk": "BF8F00", "ok": "548235"}

// summary writes the Summary sheet (SPEC §6.3): one printed page.
func (w *Workbook) summary() error {
	const s = "Summary"
	m, fig := w.meta, w.meta.Figures
	if err := w.printSetup(s, true); err != nil {
		return err
	}
	c := &cells{f: w.f, sheet: s}
	put := c.put
	put(1, 1, "Renewal risk as of "+m.AsOf.String(), w.style.title)
	put(1, 2, fmt.Sprintf("run %s · catalog %s · attain %s", m.RunID, m.CatalogVersion, m.ProgramVersion), w.style.subtitle)

	// Key figures.
	var members int64
	byStatus := map[string]int64{}
	byLevel := map[string]int64{}
	for _, x := range m.Members {
		if x.Level != "" {
			members += x.Members
			byStatus[x.Status] += x.Members
			byLevel[x.Level] += x.Members
		}
	}
	share := func(n int64) any {
		if members == 0 {
			return ""
		}
		return float64(n) / float64(members)
	}
	row := 4
	put(1, row, "Key figures", w.style.header)
	put(2, row, "members", w.style.header)
	put(3, row, "share", w.style.header)
	figure := func(label string, n int64, sh any) {
		row++
		put(1, row, label, w.style.text)
		put(2, row, n, w.style.count)
		if sh != nil {
			put(3, row, sh, w.style.percent)
		}
	}
	figure(fmt.Sprintf("members (silver %s, gold %s)", grouped(strconv.FormatInt(byLevel["silver"], 10)), grouped(strconv.FormatInt(byLevel["gold"], 10))), members, nil)
	for _, st := range statuses {
		figure("  "+st.label, byStatus[st.id], share(byStatus[st.id]))
		if c.err == nil {
			cell, _ := excelize.CoordinatesToCellName(1, row)
			c.err = w.f.SetCellStyle(s, cell, cell, w.style.status[st.id])
		}
	}
	figure("alerts today", fig.Alerts, nil)
	figure("upgrade-eligible members (silver attaining gold)", fig.UpgradeEligible, nil)
	figure("eligible non-members", fig.EligibleNonMembers, nil)
	figure(fmt.Sprintf("anniversaries in the next 30 days (%d at risk or lapsed)", fig.AtRisk30), fig.Anniversaries30, nil)
	figure(fmt.Sprintf("anniversaries in the next 90 days (%d at risk or lapsed)", fig.AtRisk90), fig.Anniversaries90, nil)
	figure(fmt.Sprintf("members one departure would put at risk or lapse (%d on exactly one person)", fig.OneKeyPerson), fig.WithKeyPeople, share(fig.WithKeyPeople))

	// Members by level × status, beside the key figures.
	top := 4
	put(6, top, "Members by level and status", w.style.header)
	for i, st := range statuses {
		put(7+i, top, st.label, w.style.status[st.id])
	}
	put(10, top, "total", w.style.header)
	for j, level := range pipeline.Levels {
		r := top + 1 + j
		put(6, r, level, w.style.text)
		var total int64
		for i, st := range statuses {
			n := count(m.Members, level, st.id)
			total += n
			put(7+i, r, n, w.style.count)
		}
		put(10, r, total, w.style.count)
	}

	// At-risk and lapsed members by competency, with a bar chart in the same
	// order, colours and numbers.
	row += 2
	put(1, row, "At risk and lapsed by competency (the cause names it)", w.style.header)
	put(2, row, "at risk", w.style.status["at_risk"])
	put(3, row, "lapsed", w.style.status["lapsed"])
	first := row + 1
	for _, x := range m.ByCompetency {
		row++
		put(1, row, x.Name, w.style.text)
		put(2, row, x.AtRisk, w.style.count)
		put(3, row, x.Lapsed, w.style.count)
	}
	axisFont := excelize.Font{Size: 10, Color: "000000"}
	if c.err == nil && len(m.ByCompetency) > 0 {
		cats := fmt.Sprintf("Summary!$A$%d:$A$%d", first, row)
		series := func(col, status string) excelize.ChartSeries {
			return excelize.ChartSeries{Name: fmt.Sprintf("Summary!$%s$%d", col, first-1), Categories: cats,
				Values:    fmt.Sprintf("Summary!$%s$%d:$%s$%d", col, first, col, row),
				Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{statusColor[status]}},
				Line:      excelize.LineOptions{Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{statusLine[status]}}, Width: 0.75},
				DataLabel: excelize.ChartDataLabel{Font: excelize.Font{Size: 10, Color: "000000"}}}
		}
		c.err = w.f.AddChart(s, fmt.Sprintf("F%d", top+4), &excelize.Chart{
			Type:      excelize.BarStacked,
			Series:    []excelize.ChartSeries{series("B", "at_risk"), series("C", "lapsed")},
			Title:     excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: "At risk and lapsed members by competency", Font: &excelize.Font{Size: 11, Bold: true, Color: "000000"}}}},
			Legend:    excelize.ChartLegend{Position: "bottom"},
			XAxis:     excelize.ChartAxis{ReverseOrder: true, Font: axisFont}, // the table's order, top down
			YAxis:     excelize.ChartAxis{Font: axisFont, MajorGridLines: true},
			PlotArea:  excelize.ChartPlotArea{ShowVal: true},
			Dimension: excelize.ChartDimension{Width: 560, Height: 300},
		})
	}

	// Members by status over time (the Trend sheet's counts).
	row += 2
	put(1, row, "Members by status over time (stored results)", w.style.header)
	for i, st := range statuses {
		put(2+i, row, st.label, w.style.status[st.id])
	}
	tFirst := row + 1
	for _, d := range trendDates(m.Trend) {
		row++
		put(1, row, d.String(), w.style.text) // text: the chart's categories, one a date
		for i, st := range statuses {
			put(2+i, row, trendCount(m.Trend, d, "", st.id), w.style.count)
		}
	}
	if c.err == nil && row >= tFirst {
		cats := fmt.Sprintf("Summary!$A$%d:$A$%d", tFirst, row)
		var ser []excelize.ChartSeries
		for i, st := range statuses {
			col := string(rune('B' + i))
			ser = append(ser, excelize.ChartSeries{Name: fmt.Sprintf("Summary!$%s$%d", col, tFirst-1), Categories: cats,
				Values: fmt.Sprintf("Summary!$%s$%d:$%s$%d", col, tFirst, col, row),
				Fill:   excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{statusLine[st.id]}},
				Line:   excelize.LineOptions{Width: 2.25, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{statusLine[st.id]}}},
				Marker: excelize.ChartMarker{Symbol: "circle", Size: 5, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{statusLine[st.id]}}}})
		}
		c.err = w.f.AddChart(s, fmt.Sprintf("F%d", top+21), &excelize.Chart{
			Type:      excelize.Line,
			Series:    ser,
			Title:     excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: "Members by status over time", Font: &excelize.Font{Size: 11, Bold: true, Color: "000000"}}}},
			Legend:    excelize.ChartLegend{Position: "bottom"},
			XAxis:     excelize.ChartAxis{Font: axisFont},
			YAxis:     excelize.ChartAxis{Font: axisFont, MajorGridLines: true},
			Dimension: excelize.ChartDimension{Width: 560, Height: 260},
		})
	}

	// Data quality.
	row += 2
	put(1, row, "Data quality", w.style.header)
	put(2, row, "count", w.style.header)
	dq := func(label string, n int64) {
		row++
		put(1, row, label, w.style.text)
		put(2, row, n, w.style.count)
	}
	dq("files landed", int64(m.FilesLanded))
	dq("files rejected", int64(m.FilesRejected))
	for _, r := range m.Rejected {
		row++
		put(1, row, "  "+r.File, w.style.text)
		put(3, row, r.Reason, w.style.text)
	}
	dq("rows quarantined at ingest", m.RowsQuarantined)
	for _, q := range m.QuarantinedByFeed {
		dq("  "+q.Feed, q.Rows)
	}
	dq("revenue rows without an FX rate (left out)", m.RowsLeftOut)
	dq("rows naming an unknown organization", m.UnknownOrgRows)

	// Links to the other sheets.
	row += 2
	put(1, row, "Sheets", w.style.header)
	for _, sh := range append(w.sheets[1:], "About") {
		row++
		put(1, row, sh, w.style.link)
		if c.err == nil {
			cell, _ := excelize.CoordinatesToCellName(1, row)
			c.err = w.f.SetCellHyperLink(s, cell, fmt.Sprintf("'%s'!A1", sh), "Location")
		}
	}
	for _, cw := range []struct {
		cols  string
		width float64
	}{{"A", 62}, {"B", 11}, {"C", 11}, {"D", 11}, {"E", 3}, {"F", 26}, {"G", 10}, {"H", 10}, {"I", 10}, {"J", 10}} {
		if c.err == nil {
			c.err = w.f.SetColWidth(s, cw.cols, cw.cols, cw.width)
		}
	}
	return c.err
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
// stored month end of the 13 months up to D and at D; the month ends not stored,
// with the command that fills them; the members whose status changed since the
// latest stored result before D, worst first.
func (w *Workbook) AddTrend() error {
	const s = "Trend"
	m := w.meta
	if _, err := w.f.NewSheet(s); err != nil {
		return err
	}
	w.sheets = append(w.sheets, s)
	if err := w.printSetup(s, false); err != nil {
		return err
	}
	c := &cells{f: w.f, sheet: s}
	put := c.put
	put(1, 1, "date", w.style.header)
	col := 2
	for _, level := range pipeline.Levels {
		for _, st := range statuses {
			put(col, 1, level+" "+st.label, w.style.status[st.id])
			col++
		}
	}
	put(col, 1, "members", w.style.header)
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
	row += 2
	if len(m.TrendMissing) > 0 {
		put(1, row, "Month ends without stored results", w.style.header)
		for _, d := range m.TrendMissing {
			row++
			put(1, row, d.Time(), w.style.date)
		}
		row++
		put(1, row, fmt.Sprintf("fill them with: attain backfill --from %s --to %s --every month --report-every none",
			m.TrendMissing[0], m.TrendMissing[len(m.TrendMissing)-1]), w.style.text)
		row += 2
	}
	if m.Previous == nil {
		put(1, row, "No stored result before "+m.AsOf.String()+": no changes to show.", w.style.text)
	} else {
		put(1, row, fmt.Sprintf("Members whose status changed since %s (%d)", m.Previous, len(m.Changes)), w.style.title)
		row++
		for i, h := range []string{"org_id", "org_name", "membership_level", "previous_status", "status", "cause"} {
			put(1+i, row, h, w.style.header)
		}
		if c.err == nil {
			c.err = w.f.MergeCell(s, fmt.Sprintf("F%d", row), fmt.Sprintf("K%d", row))
		}
		for _, x := range m.Changes {
			row++
			cause := ReadableCause(x.Cause)
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
			// the cause spans F:K, beside the counts' narrow columns
			if c.err == nil {
				c.err = w.f.MergeCell(s, fmt.Sprintf("F%d", row), fmt.Sprintf("K%d", row))
			}
			if lines := linesOf(cause, trendCauseWidth); lines > 1 && c.err == nil {
				c.err = w.f.SetRowHeight(s, row, float64(lines)*lineHeight)
			}
		}
	}
	for _, cw := range []struct {
		cols  string
		width float64
	}{{"A", 16}, {"B", 26}, {"C", 16}, {"D", 14}, {"E", 12}, {"F", 12}, {"G", 12}, {"H", 12}, {"I", 12}, {"J", 12}, {"K", 12}} {
		if c.err == nil {
			c.err = w.f.SetColWidth(s, cw.cols, cw.cols, cw.width)
		}
	}
	return c.err
}
