package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/maphash"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/parquet-go/parquet-go"

	"attain/pipeline"
)

// LandedPath is where a delivery's rows land (SPEC §6.1).
func LandedPath(warehouse string, d pipeline.Delivery) string {
	return filepath.Join(warehouse, "landed", d.Feed.Name, "delivery_date="+d.Date.String(), d.Name+".parquet")
}

// QuarantinePath is where a delivery's rejected rows go (SPEC §6.1).
func QuarantinePath(warehouse string, d pipeline.Delivery) string {
	return filepath.Join(warehouse, "quarantine", d.Feed.Name, "delivery_date="+d.Date.String(), d.Name+".parquet")
}

// rejection is a file-level failure: the file is rejected whole.
type rejection struct{ reason string }

func (r *rejection) Error() string { return r.reason }

// sourceError marks a failure to read the inbox file (a corrupt gzip stream,
// say), as opposed to a failure to write the warehouse.
type sourceError struct{ err error }

func (e *sourceError) Error() string { return e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

type sourceReader struct{ r io.Reader }

func (s sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		err = &sourceError{err}
	}
	return n, err
}

// landing lands one inbox file. Its counts fill the log entry.
type landing struct {
	warehouse string
	d         pipeline.Delivery
	path      string // inbox path
	maxBad    float64

	sha                       string
	read, landed, quarantined int64
	warnings                  []string
}

// land parses the file, writes its good rows to the landed Parquet and its bad
// rows to quarantine, and replaces any earlier landing of the same name. A
// file-level problem returns a *rejection after its rows are quarantined;
// any other error means the warehouse could not be written.
func (l *landing) land(ctx context.Context) error {
	err := l.pass(ctx, "")
	var rej *rejection
	if errors.As(err, &rej) {
		// Nothing of a rejected file lands; every row it held goes to
		// quarantine, so that rows read = landed + quarantined still holds.
		if perr := l.pass(ctx, rej.reason); perr != nil && !errors.As(perr, new(*rejection)) {
			return perr
		}
		return rej
	}
	return err
}

// pass reads the file once. With reject empty it lands good rows; otherwise
// every row goes to quarantine, the good ones with reject as the reason.
func (l *landing) pass(ctx context.Context, reject string) error {
	l.read, l.landed, l.quarantined, l.warnings = 0, 0, 0, nil
	f, err := os.Open(l.path)
	if err != nil {
		return fmt.Errorf("open %s: %w", l.d.File, err)
	}
	defer f.Close()
	h := sha256.New()
	var src io.Reader = io.TeeReader(f, h)
	if l.d.Gzip {
		gz, err := gzip.NewReader(src)
		if err != nil {
			return &rejection{fmt.Sprintf("%s: not a readable gzip file: %v", l.d.File, err)}
		}
		defer gz.Close()
		src = gz
	}
	rr := newRecordReader(sourceReader{src})
	cols, err := l.header(rr)
	if err != nil {
		return err
	}
	nfields := rr.fields()

	var lt *table
	var landedFile *pipeline.AtomicFile
	if reject == "" {
		if landedFile, err = pipeline.CreateAtomic(LandedPath(l.warehouse, l.d)); err != nil {
			return err
		}
		defer landedFile.Abort()
		lt = newTable(landedFile, landedSchema(l.d.Feed))
	}
	qFile, err := pipeline.CreateAtomic(QuarantinePath(l.warehouse, l.d))
	if err != nil {
		return err
	}
	defer qFile.Abort()
	qt := newTable(qFile, quarantineSchema)
	q := quarantiner{t: qt, file: l.d.File,
		iFile: qt.col("file"), iLine: qt.col("line"), iRaw: qt.col("raw"), iCol: qt.col("column"), iReason: qt.col("reason")}

	rows := newRowParser(l.d, cols, nfields, lt)
	for {
		if l.read%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		err := rr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *sourceError
			var nu errNotUTF8
			switch {
			case errors.As(err, &se):
				return &rejection{fmt.Sprintf("%s: cannot be read: %v", l.d.File, se.err)}
			case errors.As(err, &nu):
				return &rejection{fmt.Sprintf("%s:%d: not valid UTF-8", l.d.File, nu.line)}
			}
			return err
		}
		l.read++
		col, why := rows.check(rr)
		switch {
		case why != "":
			if err := q.add(rr, col, why); err != nil {
				return err
			}
			l.quarantined++
		case reject != "":
			if err := q.add(rr, "", "file rejected: "+reject); err != nil {
				return err
			}
			l.quarantined++
		default:
			if err := rows.write(rr); err != nil {
				return err
			}
			l.landed++
		}
	}
	l.sha = hex.EncodeToString(sumAll(h, f))
	if reject == "" && l.read > 0 && float64(l.quarantined)/float64(l.read) > l.maxBad {
		return &rejection{fmt.Sprintf("%s: %d of %d rows are bad (%.1f%%), more than --max-bad-fraction %g allows",
			l.d.File, l.quarantined, l.read, 100*float64(l.quarantined)/float64(l.read), l.maxBad)}
	}

	if lt != nil {
		if err := lt.Close(); err != nil {
			return fmt.Errorf("write %s: %w", landedFile.Name(), err)
		}
		if err := landedFile.Commit(); err != nil {
			return err
		}
	}
	if err := qt.Close(); err != nil {
		return fmt.Errorf("write %s: %w", qFile.Name(), err)
	}
	if l.quarantined == 0 {
		qFile.Abort()
		if err := os.Remove(QuarantinePath(l.warehouse, l.d)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	return qFile.Commit()
}

// sumAll finishes hashing the file: a rejection can stop reading early, and
// the SHA-256 in the log is always of the whole file.
func sumAll(h hash.Hash, f *os.File) []byte {
	io.Copy(h, f)
	return h.Sum(nil)
}

// header reads the header row and maps the file's columns onto the feed's.
func (l *landing) header(rr *recordReader) ([]int, error) {
	err := rr.next()
	var se *sourceError
	var nu errNotUTF8
	switch {
	case err == io.EOF:
		return nil, &rejection{fmt.Sprintf("%s: no header row", l.d.File)}
	case errors.As(err, &se):
		return nil, &rejection{fmt.Sprintf("%s: cannot be read: %v", l.d.File, se.err)}
	case errors.As(err, &nu):
		return nil, &rejection{fmt.Sprintf("%s:%d: not valid UTF-8", l.d.File, nu.line)}
	case err != nil:
		return nil, err
	case rr.malformed != "":
		return nil, &rejection{fmt.Sprintf("%s:%d: header row: %s", l.d.File, rr.line, rr.malformed)}
	}
	feed := l.d.Feed
	cols := make([]int, len(feed.Columns)) // feed column → field index, -1 when absent
	for i := range cols {
		cols[i] = -1
	}
	var unknown []string
	seen := map[string]bool{}
	for i := 0; i < rr.fields(); i++ {
		name := strings.ToLower(strings.TrimSpace(string(rr.field(i))))
		if seen[name] {
			return nil, &rejection{fmt.Sprintf("%s:%d: header names column %q twice", l.d.File, rr.line, name)}
		}
		seen[name] = true
		if c := feed.Column(name); c >= 0 {
			cols[c] = i
		} else {
			unknown = append(unknown, name)
		}
	}
	var missing []string
	for i, c := range feed.Columns {
		if c.Required && cols[i] < 0 {
			missing = append(missing, c.Name)
		}
	}
	if len(missing) > 0 {
		return nil, &rejection{fmt.Sprintf("%s:%d: missing required column(s): %s", l.d.File, rr.line, strings.Join(missing, ", "))}
	}
	if len(unknown) > 0 {
		l.warnings = append(l.warnings, fmt.Sprintf("%s: unknown column(s) ignored: %s", l.d.File, strings.Join(unknown, ", ")))
	}
	return cols, nil
}

// quarantiner writes bad rows with the reason a person reads.
type quarantiner struct {
	t                                 *table
	file                              string
	iFile, iLine, iRaw, iCol, iReason int
}

func (q *quarantiner) add(rr *recordReader, col, why string) error {
	q.t.setString(q.iFile, q.file)
	q.t.set(q.iLine, parquet.Int64Value(int64(rr.line)))
	q.t.setBytes(q.iRaw, rr.raw)
	if col == "" {
		q.t.setNull(q.iCol)
	} else {
		q.t.setString(q.iCol, col)
	}
	reason := fmt.Sprintf("%s:%d: %s", q.file, rr.line, why)
	if col != "" {
		reason = fmt.Sprintf("%s:%d: %s: %s", q.file, rr.line, col, why)
	}
	q.t.setString(q.iReason, reason)
	return q.t.endRow()
}

// rowParser validates records of one feed and writes the good ones.
type rowParser struct {
	feed    *pipeline.Feed
	cols    []int // feed column → field index, -1 when absent
	nfields int   // fields in the header row
	t       *table
	leaf    []int // feed column → table leaf
	vals    []value
	checks  []check
	keyCol  string
	keys    keySet

	iFile, iLine, iPart int
	file, part          string
	keyBuf              []byte
}

type check struct {
	col, than, when int
	is              string
	colName         string
}

func newRowParser(d pipeline.Delivery, cols []int, nfields int, t *table) *rowParser {
	feed := d.Feed
	p := &rowParser{feed: feed, cols: cols, nfields: nfields, t: t, file: d.File, part: d.Part,
		vals:   make([]value, len(feed.Columns)),
		keyCol: strings.Join(feed.Key, ","), keys: newKeySet()}
	for _, c := range feed.Checks {
		ch := check{col: feed.Column(c.Col), than: -1, when: -1, is: c.Is, colName: c.Col}
		if c.Than != "" {
			ch.than = feed.Column(c.Than)
		}
		if c.When != "" {
			ch.when = feed.Column(c.When)
		}
		p.checks = append(p.checks, ch)
	}
	if t != nil {
		for _, c := range feed.Columns {
			p.leaf = append(p.leaf, t.col(c.Name))
		}
		p.iFile, p.iLine, p.iPart = t.col(colSourceFile), t.col(colSourceLine), t.col(colSourcePart)
	}
	return p
}

// check parses the current record into p.vals. It returns the column at fault
// (empty for the whole row) and why, or an empty why for a good row.
func (p *rowParser) check(rr *recordReader) (col, why string) {
	if rr.malformed != "" {
		return "", rr.malformed
	}
	if rr.fields() != p.nfields {
		return "", fmt.Sprintf("expected %d fields, got %d", p.nfields, rr.fields())
	}
	for i := range p.feed.Columns {
		c := &p.feed.Columns[i]
		var b []byte
		if p.cols[i] >= 0 {
			b = bytes.TrimSpace(rr.field(p.cols[i]))
		}
		v, err := parseValue(c, b)
		if err != nil {
			return c.Name, err.Error()
		}
		p.vals[i] = v
	}
	for _, ch := range p.checks {
		v := p.vals[ch.col]
		switch {
		case ch.than >= 0:
			if !v.null && !p.vals[ch.than].null && v.i <= p.vals[ch.than].i {
				return ch.colName, fmt.Sprintf("%s is not after %s", fieldText(rr, p.cols[ch.col]), p.feed.Columns[ch.than].Name)
			}
		case ch.when >= 0:
			if v.null && string(p.vals[ch.when].s) == ch.is {
				return ch.colName, fmt.Sprintf("required when %s is %s", p.feed.Columns[ch.when].Name, ch.is)
			}
		}
	}
	p.keyBuf = p.keyBuf[:0]
	for _, k := range p.feed.Key {
		v := p.vals[p.feed.Column(k)]
		p.keyBuf = append(p.keyBuf, v.s...)
		if v.s == nil {
			p.keyBuf = fmt.Appendf(p.keyBuf, "%d", v.i)
		}
		p.keyBuf = append(p.keyBuf, 0)
	}
	if first, dup := p.keys.add(p.keyBuf, rr.line); dup {
		return p.keyCol, fmt.Sprintf("key repeats line %d of this file", first)
	}
	return "", ""
}

func fieldText(rr *recordReader, i int) string {
	return fmt.Sprintf("%q", bytes.TrimSpace(rr.field(i)))
}

// write lands the row check accepted.
func (p *rowParser) write(rr *recordReader) error {
	t := p.t
	for i := range p.feed.Columns {
		v, leaf := &p.vals[i], p.leaf[i]
		switch {
		case v.null:
			t.setNull(leaf)
		case v.s != nil:
			t.setBytes(leaf, v.s)
		default:
			switch p.feed.Columns[i].Kind {
			case pipeline.KindDate, pipeline.KindMonth:
				t.set(leaf, parquet.Int32Value(int32(v.i)))
			case pipeline.KindRate:
				t.set(leaf, parquet.DoubleValue(v.f))
			default:
				t.set(leaf, parquet.Int64Value(v.i))
			}
		}
	}
	t.setString(p.iFile, p.file)
	t.set(p.iLine, parquet.Int64Value(int64(rr.line)))
	if p.part == "" {
		t.setNull(p.iPart)
	} else {
		t.setString(p.iPart, p.part)
	}
	return t.endRow()
}

// keySet finds keys repeated within one file. It keeps each key's bytes once
// in an arena and indexes them by a 64-bit hash, so memory is about the size
// of the keys themselves; a hash collision is settled by comparing bytes.
type keySet struct {
	seed  maphash.Seed
	index map[uint64]int32 // hash → first entry
	spans []keySpan
	arena []byte
	spill map[string]int // keys whose hash collided with another key's
}

type keySpan struct {
	off, len uint32
	line     int
}

func newKeySet() keySet {
	return keySet{seed: maphash.MakeSeed(), index: map[uint64]int32{}}
}

// add records key at line; when the key was seen before it returns that line.
func (k *keySet) add(key []byte, line int) (first int, dup bool) {
	h := maphash.Bytes(k.seed, key)
	if i, ok := k.index[h]; ok {
		s := k.spans[i]
		if bytes.Equal(k.arena[s.off:s.off+s.len], key) {
			return s.line, true
		}
		if k.spill == nil {
			k.spill = map[string]int{}
		}
		if l, ok := k.spill[string(key)]; ok {
			return l, true
		}
		k.spill[string(key)] = line
		return 0, false
	}
	k.index[h] = int32(len(k.spans))
	k.spans = append(k.spans, keySpan{off: uint32(len(k.arena)), len: uint32(len(key)), line: line})
	k.arena = append(k.arena, key...)
	return 0, false
}
