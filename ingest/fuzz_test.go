package ingest

import (
	"bytes"
	"encoding/csv"
	"io"
	"testing"

	"attain/pipeline"
)

// FuzzRecords feeds arbitrary bytes to the record reader and the revenue row
// checks. Neither may panic; line numbers only grow; a record read as well
// formed, written back by encoding/csv, reads back to the same fields; and a
// row the checks accept lands. Regression cases live in testdata/fuzz.
func FuzzRecords(f *testing.F) {
	for _, s := range []string{
		"t-1,o-1,c-1,AZURE,12.5,USD,2026-11-01,dpor\n",
		"\"t,1\",o-1,,AZURE,-0.0001,eur,2026-02-28,\n",
		"\"a\"\"b\",\"multi\nline\",x\r\n",
		"\xef\xbb\xbfa,b\n\n\"unterminated",
		"t-1,o-1,c-1,AZURE,99999999999999.9999,USD,2999-12-31,csp\n",
		"\"\"\"\",\",\"\r\n\r\n,,,,,,,\n",
	} {
		f.Add([]byte(s))
	}
	feed := pipeline.FeedByName("revenue")
	d := pipeline.Delivery{File: "revenue_2026-11-23.csv", Name: "revenue_2026-11-23", Feed: feed, Date: asOf}
	cols := make([]int, len(feed.Columns))
	for i := range cols {
		cols[i] = i
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rr := newRecordReader(bytes.NewReader(data))
		p := newRowParser(d, cols, len(cols), nil, &dupFinder{})
		last := 0
		for {
			err := rr.next()
			if err == io.EOF {
				return
			}
			if err != nil {
				return // not UTF-8: a file-level rejection
			}
			if rr.line <= last {
				t.Fatalf("line %d after line %d", rr.line, last)
			}
			last = rr.line
			if rr.malformed == "" {
				fields := make([]string, rr.fields())
				for i := range fields {
					fields[i] = string(rr.field(i))
				}
				var b bytes.Buffer
				w := csv.NewWriter(&b)
				w.Write(fields)
				w.Flush()
				again := newRecordReader(&b)
				if err := again.next(); err != nil {
					if len(fields) == 1 && fields[0] == "" {
						continue // a lone empty field is a blank line
					}
					t.Fatalf("re-read %q: %v", b.String(), err)
				}
				for i := range fields {
					if i >= again.fields() || string(again.field(i)) != fields[i] {
						t.Fatalf("fields %q came back as %q", fields, b.String())
					}
				}
			}
			if _, why := p.check(rr); why == "" {
				for i, c := range feed.Columns {
					v := p.vals[i]
					if c.Required && v.null {
						t.Fatalf("required %s accepted as null", c.Name)
					}
				}
			}
		}
	})
}
