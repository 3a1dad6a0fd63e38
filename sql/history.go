package sql

import (
	"attain/pipeline"
	"attain/warehouse"
)

// HistoryPlan says what a compute stores as history: each month's spine dates
// (every date stored in that month: those asked for, and those stored before),
// of which kind, and what each date's alerts compare with.
type HistoryPlan struct {
	Months  map[string][]pipeline.Date
	AsKnown bool
	// Prev is, for each date, the date before it on the backfill's spine: its
	// alerts (SPEC §5.6) compare with that date's statuses, as a nightly run
	// after that date's would. A date without one (the first, when nothing of
	// its kind is stored at the spine date before it) compares with D − 1.
	Prev map[pipeline.Date]pipeline.Date
}

// Kind is the history the plan writes.
func (h *HistoryPlan) Kind() warehouse.HistoryKind { return warehouse.HistoryKind(h.AsKnown) }
