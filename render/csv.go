package render

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"attain/pipeline"
)

// CSV writes a result table as SPEC §6.2 says: RFC 4180, UTF-8 without BOM, "\n"
// line ends, a header row, ISO dates, true/false, "." as the decimal point, no
// thousands separator, empty for null; a text value that a spreadsheet would run
// as a formula gets a leading "'". Numbers are never altered.
type CSV struct {
	w    *bufio.Writer
	line []byte
}

// NewCSV starts a CSV file with its header row.
func NewCSV(w io.Writer, columns []string) (*CSV, error) {
	c := &CSV{w: bufio.NewWriterSize(w, 256<<10)}
	vals := make([]any, len(columns))
	for i, col := range columns {
		vals[i] = col
	}
	return c, c.Encode(vals)
}

// Encode writes one row.
func (c *CSV) Encode(row []any) error {
	b := c.line[:0]
	for i, v := range row {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendField(b, v)
	}
	b = append(b, '\n')
	c.line = b
	_, err := c.w.Write(b)
	return err
}

// Close flushes what is buffered and returns the error of doing so.
func (c *CSV) Close() error { return c.w.Flush() }

// WriteCSV writes every row of rows.
func WriteCSV(w io.Writer, rows pipeline.Rows) (int64, error) {
	c, err := NewCSV(w, rows.Columns())
	if err != nil {
		return 0, err
	}
	var n int64
	for rows.Next() {
		if err := c.Encode(rows.Values()); err != nil {
			return n, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	return n, c.Close()
}

func appendField(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return b
	case string:
		return appendText(b, x)
	case bool:
		return strconv.AppendBool(b, x)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case float64:
		return strconv.AppendFloat(b, x, 'f', -1, 64)
	case pipeline.Date:
		return x.AppendTo(b)
	}
	return appendText(b, fmt.Sprint(v))
}

// appendText quotes as RFC 4180 needs, after the formula-injection guard.
func appendText(b []byte, s string) []byte {
	if s != "" {
		switch s[0] {
		case '=', '+', '-', '@', '\t', '\r':
			s = "'" + s
		}
	}
	if !needsQuotes(s) {
		return append(b, s...)
	}
	b = append(b, '"')
	b = append(b, strings.ReplaceAll(s, `"`, `""`)...)
	return append(b, '"')
}

// needsQuotes reports whether a field holds a comma, a quote or a line end.
func needsQuotes(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ',', '"', '\n', '\r':
			return true
		}
	}
	return false
}
