package pipeline

// Rows is a result table on its way to a report, read one row at a time so
// that no table has to fit in memory. Values are string, int64, float64, bool,
// Date or nil (null).
type Rows interface {
	Columns() []string
	Next() bool
	Values() []any
	Err() error
}

// SliceRows is Rows over rows already in memory (small tables, tests).
type SliceRows struct {
	Cols []string
	Data [][]any
	i    int
}

func (s *SliceRows) Columns() []string { return s.Cols }

func (s *SliceRows) Next() bool {
	s.i++
	return s.i <= len(s.Data)
}

func (s *SliceRows) Values() []any { return s.Data[s.i-1] }
func (s *SliceRows) Err() error    { return nil }
