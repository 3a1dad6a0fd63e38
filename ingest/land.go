package ingest

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/maphash"
	"io"
	"os"
	"slices"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"

	"attain/pipeline"
	"attain/warehouse"
)

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
	wh     string
	d      pipeline.Delivery
	path   string // inbox path
	maxBad float64

	fault                     func(point string) error
	keys                      func() keyChecker // the one-pass key checker; tests force collisions
	sha                       string
	read, landed, quarantined int64
	warnings                  []string
	renames                   []pipeline.Rename // the files written, for Run to put in place with others
	opened                    os.FileInfo       // the file as its last pass opened it
}

// land parses the file, writes its good rows to the landed Parquet and its bad
// rows to quarantine, and replaces any earlier landing of the same name. A
// file-level problem returns a *rejection after its rows are quarantined;
// any other error means the warehouse could not be written.
func (l *landing) land(ctx context.Context) error {
	// One pass, keeping a 64-bit hash of each good row's key; a file in which
	// a hash comes twice (a repeated key, or two keys sharing a hash) is landed
	// again, exactly, comparing the keys of those hashes only.
	keys := l.keys
	if keys == nil {
		keys = func() keyChecker { return newHashLog(warehouse.TmpDir(l.wh)) }
	}
	err := l.pass(ctx, "", keys())
	var rep *errRepeats
	if errors.As(err, &rep) {
		err = l.pass(ctx, "", rep.exact)
	}
	var rej *rejection
	if errors.As(err, &rej) {
		// Nothing of a rejected file lands; every row it held goes to
		// quarantine, so that rows read = landed + quarantined still holds.
		// Repeated keys keep their own reason: find them exactly, when the
		// file reads far enough for that.
		dups, derr := l.scanKeys(ctx)
		if derr != nil {
			dups = &dupFinder{}
		}
		if perr := l.pass(ctx, rej.reason, dups); perr != nil && !errors.As(perr, new(*rejection)) {
			return perr
		}
		return rej
	}
	return err
}

// errRepeats: the one pass found a key hash twice; exact lands the file again.
type errRepeats struct{ exact *dupFinder }

func (*errRepeats) Error() string { return "a key hash repeats within the file" }

// crash is the test hook of Options.fault.
func (l *landing) crash(point string) error {
	if l.fault == nil {
		return nil
	}
	return l.fault(point)
}

// trimSpace is bytes.TrimSpace, without its work for the common field that
// starts and ends with a printable ASCII character.
func trimSpace(b []byte) []byte {
	if n := len(b); n == 0 || (b[0] > ' ' && b[0] < utf8.RuneSelf && b[n-1] > ' ' && b[n-1] < utf8.RuneSelf) {
		return b
	}
	return bytes.TrimSpace(b)
}

// hashAhead is a reader that hashes (SHA-256) what passes through it on a
// goroutine of its own: the parsing goroutine is ingest's slowest stage, and
// hashing a 438 MiB file on it was 0.28 s of 4.3.
type hashAhead struct {
	r       io.Reader
	h       hash.Hash
	chunks  chan []byte
	free    chan []byte
	done    chan struct{}
	stopped bool
}

func newHashAhead(r io.Reader) *hashAhead {
	a := &hashAhead{r: r, h: sha256.New(), chunks: make(chan []byte, 4), free: make(chan []byte, 5), done: make(chan struct{})}
	go func() {
		defer close(a.done)
		for c := range a.chunks {
			a.h.Write(c)
			select { // kept for a later chunk, unless enough are kept
			case a.free <- c:
			default:
			}
		}
	}()
	return a
}

func (a *hashAhead) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if n > 0 {
		var c []byte
		select {
		case c = <-a.free:
		default:
		}
		a.chunks <- append(c[:0], p[:n]...)
	}
	return n, err
}

// stop waits for what was read to be hashed and returns the hash, to which
// the caller may write more.
func (a *hashAhead) stop() hash.Hash {
	if !a.stopped {
		a.stopped = true
		close(a.chunks)
		<-a.done
	}
	return a.h
}

// source is an open inbox file positioned after its header row.
type source struct {
	f       *os.File
	path    string
	opened  os.FileInfo // the file as it was opened
	gz      *gzip.Reader
	h       *hashAhead
	rr      *recordReader
	cols    []int // feed column → field index, -1 when absent
	nfields int
}

// size and modTime are the file's as its last pass opened it, else as the
// inbox listing saw it: the log's record of what was read.
func (l *landing) size(listed os.FileInfo) int64 {
	if l.opened != nil {
		return l.opened.Size()
	}
	return listed.Size()
}

func (l *landing) modTime(listed os.FileInfo) int64 {
	if l.opened != nil {
		return l.opened.ModTime().UnixNano()
	}
	return listed.ModTime().UnixNano()
}

// errChanged: the file changed while it was read (written to in place, or
// replaced); nothing of it is landed, and the next run reads it again.
var errChanged = errors.New("the file changed while it was read")

// unchanged says whether the file is still as it was opened: the open file's
// size and time, and the path still naming it.
func (s *source) unchanged() error {
	now, err := s.f.Stat()
	if err != nil {
		return err
	}
	named, err := os.Stat(s.path)
	if err != nil || now.Size() != s.opened.Size() || !now.ModTime().Equal(s.opened.ModTime()) || !os.SameFile(named, s.opened) {
		return errChanged
	}
	return nil
}

func (s *source) Close() {
	if s.gz != nil {
		s.gz.Close()
	}
	if s.h != nil {
		s.h.stop()
	}
	s.f.Close()
}

// next reads the next record, turning stream failures into rejections.
func (s *source) next(file string) error {
	err := s.rr.next()
	if err == nil {
		return nil // before errors.As: its targets would escape, two allocations a row
	}
	var se *sourceError
	var nu errNotUTF8
	var long errRecordTooLong
	switch {
	case errors.As(err, &se):
		return &rejection{fmt.Sprintf("cannot be read: %v", se.err)}
	case errors.As(err, &nu):
		return &rejection{fmt.Sprintf("line %d: not valid UTF-8", nu.line)}
	case errors.As(err, &long):
		return &rejection{long.Error()}
	}
	return err
}

// sha finishes hashing the file: a rejection can stop reading early, and the
// SHA-256 in the log is always of the whole file.
func (s *source) sha() string {
	h := s.h.stop()
	io.Copy(h, s.f)
	return hex.EncodeToString(h.Sum(nil))
}

// open opens the file and reads its header; hashed says to compute its
// SHA-256 on the way.
func (l *landing) open(hashed bool) (*source, error) {
	// Non-blocking, so that a FIFO put in a file's place after the inbox was
	// listed cannot hang the run; only a regular file is read.
	f, err := os.OpenFile(l.path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, &rejection{fmt.Sprintf("cannot be opened: %v", errors.Unwrap(err))}
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, &rejection{"is not a regular file"}
	}
	s := &source{f: f, path: l.path, opened: st}
	l.opened = st
	var src io.Reader = f
	if hashed {
		s.h = newHashAhead(f)
		src = s.h
	}
	if l.d.Gzip {
		if s.gz, err = gzip.NewReader(src); err != nil {
			f.Close()
			return nil, &rejection{fmt.Sprintf("not a readable gzip file: %v", err)}
		}
		src = s.gz
	}
	// a buffer the file's size, up to 1 MiB: a small file needs no more, and
	// allocating (and clearing) 1 MiB for each was a visible share of a cold start
	size := st.Size() + 1
	if l.d.Gzip {
		size *= 8
	}
	s.rr = newRecordReaderSize(sourceReader{src}, int(min(max(size, 4096), 1<<20)))
	if s.cols, err = l.header(s); err != nil {
		s.Close()
		return nil, err
	}
	s.nfields = s.rr.fields()
	return s, nil
}

// scanKeys is the first pass of the exact method: it hashes every row's key
// (good or not) and returns the finder that knows which hashes repeat.
func (l *landing) scanKeys(ctx context.Context) (*dupFinder, error) {
	s, err := l.open(true)
	if err != nil {
		l.sha, _ = fileSHA(l.path)
		return nil, err
	}
	defer s.Close()
	defer func() { l.sha = s.sha() }()
	keys := newHashLog(warehouse.TmpDir(l.wh))
	p := newRowParser(l.d, s.cols, s.nfields, nil, keys)
	n := 0
	for {
		if n%4096 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		err := s.next(l.d.File)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		n++
		if key, ok := p.scanKey(s.rr); ok {
			keys.check(key, 0)
		}
	}
	return keys.exact(), nil
}

// pass reads the file and writes it out. With reject empty it lands good rows;
// otherwise every row goes to quarantine, the good ones with reject as the
// reason.
func (l *landing) pass(ctx context.Context, reject string, dups keyChecker) error {
	l.read, l.landed, l.quarantined, l.warnings, l.renames = 0, 0, 0, nil, nil
	s, err := l.open(true)
	if err != nil {
		if l.sha == "" {
			l.sha, _ = fileSHA(l.path)
		}
		return err
	}
	defer s.Close()
	defer func() { l.sha = s.sha() }()

	var lt *table
	var landedFile *pipeline.AtomicFile
	if reject == "" {
		if landedFile, err = pipeline.CreateAtomic(warehouse.LandedPath(l.wh, l.d)); err != nil {
			return err
		}
		defer landedFile.Abort()
		lt = newTable(landedFile, landedSchema(l.d.Feed))
		defer lt.Close()
	}
	// A rejected file's rows go beside the landing of its name, never over
	// it: a rejected re-delivery keeps the earlier landing, and its quarantine.
	qPath := warehouse.QuarantinePath(l.wh, l.d)
	if reject != "" {
		qPath = warehouse.RejectedPath(l.wh, l.d)
	}
	// The quarantine file is made at the first bad row: most files have none.
	q := quarantiner{path: qPath, file: l.d.File}
	defer q.abort()
	rows := newRowParser(l.d, s.cols, s.nfields, lt, dups)
	for {
		if l.read%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		err := s.next(l.d.File)
		if err == io.EOF {
			break
		}
		if err != nil && reject != "" && errors.As(err, new(*rejection)) {
			break // rejected part-way: the rows read up to there are quarantined
		}
		if err != nil {
			return err
		}
		l.read++
		if l.read%10 == 0 {
			if err := l.crash("rows"); err != nil {
				return err
			}
		}
		col, why := rows.check(s.rr)
		switch {
		case why != "":
			if err := q.add(s.rr, col, why); err != nil {
				return err
			}
			l.quarantined++
		case reject != "":
			if err := q.add(s.rr, "", "file rejected: "+reject); err != nil {
				return err
			}
			l.quarantined++
		default:
			if err := rows.write(s.rr); err != nil {
				return err
			}
			l.landed++
		}
	}
	if x, ok := dups.(*hashLog); ok {
		if exact := x.exact(); exact.needed() {
			return &errRepeats{exact: exact}
		}
	}
	if reject == "" && l.read > 0 && float64(l.quarantined)/float64(l.read) > l.maxBad {
		return &rejection{fmt.Sprintf("%d of %d rows are bad (%.1f%%), more than --max-bad-fraction %g allows",
			l.quarantined, l.read, 100*float64(l.quarantined)/float64(l.read), l.maxBad)}
	}

	// Only what was read from the file as it stands lands (a file rewritten
	// while read would land a prefix, or a mix of two versions).
	if err := s.unchanged(); err != nil {
		return err
	}
	if lt != nil {
		if err := lt.Close(); err != nil {
			return fmt.Errorf("write %s: %w", landedFile.Name(), err)
		}
		r, err := landedFile.Unsynced()
		if err != nil {
			return err
		}
		l.renames = append(l.renames, r)
		if err := l.crash("landed"); err != nil {
			return err
		}
	}
	if reject == "" {
		// landed: an earlier rejection of this name is superseded
		if err := os.Remove(warehouse.RejectedPath(l.wh, l.d)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if q.t == nil {
		// nothing quarantined: an earlier landing's quarantine goes
		if err := os.Remove(qPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	r, err := q.commit()
	if err != nil {
		return err
	}
	l.renames = append(l.renames, r)
	return nil
}

// header reads the header row and maps the file's columns onto the feed's.
func (l *landing) header(s *source) ([]int, error) {
	rr := s.rr
	err := s.next(l.d.File)
	switch {
	case err == io.EOF:
		return nil, &rejection{"no header row"}
	case err != nil:
		return nil, err
	case rr.malformed != "":
		return nil, &rejection{fmt.Sprintf("line %d: header row: %s", rr.line, rr.malformed)}
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
			return nil, &rejection{fmt.Sprintf("line %d: header names column %q twice", rr.line, name)}
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
		return nil, &rejection{fmt.Sprintf("line %d: missing required column(s): %s", rr.line, strings.Join(missing, ", "))}
	}
	if len(unknown) > 0 {
		// what a message quotes is cut: a header of a million names is one line
		names := make([]string, 0, min(len(unknown), 10))
		for _, n := range unknown[:min(len(unknown), 10)] {
			names = append(names, clip([]byte(n)))
		}
		if len(unknown) > 10 {
			names = append(names, fmt.Sprintf("and %d more", len(unknown)-10))
		}
		l.warnings = append(l.warnings, fmt.Sprintf("%s: unknown column(s) ignored: %s", l.d.File, strings.Join(names, ", ")))
	}
	return cols, nil
}

// quarantiner writes bad rows with the reason a person reads.
type quarantiner struct {
	path, file                        string
	f                                 *pipeline.AtomicFile
	t                                 *table // nil until the first bad row
	iFile, iLine, iRaw, iCol, iReason int
}

func (q *quarantiner) add(rr *recordReader, col, why string) error {
	return q.addRaw(rr.line, rr.raw, col, why)
}

func (q *quarantiner) addRaw(line int, raw []byte, col, why string) error {
	if q.t == nil {
		f, err := pipeline.CreateAtomic(q.path)
		if err != nil {
			return err
		}
		q.f, q.t = f, newTable(f, quarantineSchema)
		q.iFile, q.iLine, q.iRaw, q.iCol, q.iReason = q.t.col("file"), q.t.col("line"), q.t.col("raw"), q.t.col("column"), q.t.col("reason")
	}
	q.t.setString(q.iFile, q.file)
	q.t.setInt64(q.iLine, int64(line))
	q.t.setBytes(q.iRaw, raw)
	if col == "" {
		q.t.setNull(q.iCol)
	} else {
		q.t.setString(q.iCol, col)
	}
	reason := fmt.Sprintf("%s:%d: %s", q.file, line, why)
	if col != "" {
		reason = fmt.Sprintf("%s:%d: %s: %s", q.file, line, col, why)
	}
	q.t.setString(q.iReason, reason)
	return q.t.endRow()
}

// commit writes the quarantine file out, to be put in place (Run).
func (q *quarantiner) commit() (pipeline.Rename, error) {
	if err := q.t.Close(); err != nil {
		return pipeline.Rename{}, fmt.Errorf("write %s: %w", q.f.Name(), err)
	}
	return q.f.Unsynced()
}

// abort drops an unfinished quarantine file (after commit, nothing).
func (q *quarantiner) abort() {
	if q.t != nil {
		q.t.Close()
		q.f.Abort()
	}
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
	keyIdx  []int
	dups    keyChecker

	iFile, iLine, iPart int
	file, part          string
	keyBuf              []byte
}

type check struct {
	col, than, when int
	is              string
	colName         string
}

func newRowParser(d pipeline.Delivery, cols []int, nfields int, t *table, dups keyChecker) *rowParser {
	feed := d.Feed
	p := &rowParser{feed: feed, cols: cols, nfields: nfields, t: t, file: d.File, part: d.Part,
		vals: make([]value, len(feed.Columns)), keyCol: strings.Join(feed.Key, ","), dups: dups}
	for _, k := range feed.Key {
		p.keyIdx = append(p.keyIdx, feed.Column(k))
	}
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
	col, why = p.fieldsOK(rr)
	if why != "" {
		return col, why
	}
	if first, dup := p.dups.check(p.key(), rr.line); dup {
		return p.keyCol, fmt.Sprintf("key repeats line %d of this file", first)
	}
	return "", ""
}

// fieldsOK parses the current record into p.vals and checks every rule but the
// key's uniqueness.
func (p *rowParser) fieldsOK(rr *recordReader) (col, why string) {
	if rr.malformed != "" {
		if rr.longField >= 0 {
			// a record longer than the bound: the column it ran long in
			if k := slices.Index(p.cols, rr.longField); k >= 0 {
				return p.feed.Columns[k].Name, rr.malformed
			}
		}
		return "", rr.malformed
	}
	if rr.fields() != p.nfields {
		return "", fmt.Sprintf("expected %d fields, got %d", p.nfields, rr.fields())
	}
	for i := range p.feed.Columns {
		c := &p.feed.Columns[i]
		var b []byte
		if p.cols[i] >= 0 {
			b = trimSpace(rr.field(p.cols[i]))
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
	return "", ""
}

// key encodes the parsed key columns of the current row.
func (p *rowParser) key() []byte {
	p.keyBuf = p.keyBuf[:0]
	for _, k := range p.keyIdx {
		v := p.vals[k]
		p.keyBuf = append(p.keyBuf, v.s...)
		if v.s == nil {
			p.keyBuf = binary.LittleEndian.AppendUint64(p.keyBuf, uint64(v.i))
		}
		p.keyBuf = append(p.keyBuf, 0)
	}
	return p.keyBuf
}

// scanKey parses only the key columns of the current record; ok is false when
// the record cannot have a valid key (it will be quarantined anyway).
func (p *rowParser) scanKey(rr *recordReader) (key []byte, ok bool) {
	if rr.malformed != "" || rr.fields() != p.nfields {
		return nil, false
	}
	for _, k := range p.keyIdx {
		var b []byte
		if p.cols[k] >= 0 {
			b = bytes.TrimSpace(rr.field(p.cols[k]))
		}
		v, err := parseValue(&p.feed.Columns[k], b)
		if err != nil {
			return nil, false
		}
		p.vals[k] = v
	}
	return p.key(), true
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
				t.setInt32(leaf, int32(v.i))
			case pipeline.KindRate:
				t.setDouble(leaf, v.f)
			default:
				t.setInt64(leaf, v.i)
			}
		}
	}
	t.setString(p.iFile, p.file)
	t.setInt64(p.iLine, int64(rr.line))
	if p.part == "" {
		t.setNull(p.iPart)
	} else {
		t.setString(p.iPart, p.part)
	}
	return t.endRow()
}

// dupFinder finds keys repeated within one file without holding every key:
// a first pass (scanKeys) keeps only a 64-bit hash per row and sorts them; the
// hashes seen twice are the suspects, and only rows with a suspect hash have
// their key kept, so a hash collision is settled by comparing the keys.
type dupFinder struct {
	hash     func(key []byte) uint64
	suspects map[uint64]struct{}
	all      bool           // every key is a suspect (the hashes could not be kept)
	first    map[string]int // key → line of its first occurrence
}

// needed says whether any key may repeat.
func (f *dupFinder) needed() bool { return f.all || len(f.suspects) > 0 }

func (f *dupFinder) check(key []byte, line int) (first int, dup bool) {
	if !f.needed() {
		return 0, false
	}
	if _, ok := f.suspects[f.hash(key)]; !ok && !f.all {
		return 0, false
	}
	if l, ok := f.first[string(key)]; ok {
		return l, true
	}
	f.first[string(key)] = line
	return 0, false
}

// keyChecker decides whether a good row's key repeats an earlier good row's
// (dup, with the earlier line).
type keyChecker interface {
	check(key []byte, line int) (first int, dup bool)
}

// hashLog is the one-pass keyChecker: it answers "no" and keeps each key's
// 64-bit hash, appended to one of 256 buckets by its top byte (in order, where
// a hash table the size of the file took a cache miss an insert), and after
// the pass says which hashes came twice. Most files repeat no key and land in
// that one pass.
//
// Its memory is bounded whatever the file's size: past hashLogLimit hashes
// the buckets are sorted, deduplicated (a hash seen twice within them is a
// repeat) and written out as one sorted run to a temporary file, in bucket
// order, which is the order of the hashes; at the end the runs are merged, and
// a hash in two runs is a repeat too. A file of one row repeated millions of
// times (a gzip bomb) keeps one hash a run.
type hashLog struct {
	hash    func(key []byte) uint64
	buckets [256][]uint64
	n       int      // hashes in the buckets
	dir     string   // where runs go ("": the system's temporary directory)
	runs    []string // the runs written
	rep     map[uint64]struct{}
	err     error // a run that could not be written or read
	limit   int   // hashes held before a run is written (0: hashLogLimit)
}

// hashLogLimit is how many hashes a hashLog holds in memory (64 MiB of them,
// twice that while a bucket grows) before it writes a run.
const hashLogLimit = 8 << 20

func newHashLog(dir string) *hashLog {
	seed := maphash.MakeSeed()
	return &hashLog{hash: func(key []byte) uint64 { return maphash.Bytes(seed, key) }, dir: dir, rep: map[uint64]struct{}{}}
}

func (x *hashLog) check(key []byte, _ int) (int, bool) {
	h := x.hash(key)
	x.buckets[h>>56] = append(x.buckets[h>>56], h)
	if x.n++; x.n >= cmp.Or(x.limit, hashLogLimit) {
		x.spill()
	}
	return 0, false
}

// spill writes the buckets' hashes as one sorted run of distinct hashes.
func (x *hashLog) spill() {
	x.n = 0
	if x.rep == nil {
		x.rep = map[uint64]struct{}{}
	}
	if x.err != nil {
		x.buckets = [256][]uint64{}
		return
	}
	if x.dir != "" {
		// made at the first spill: most files never spill
		os.MkdirAll(x.dir, 0o755)
	}
	f, err := os.CreateTemp(x.dir, ".attain-keys-*"+pipeline.TempSuffix)
	if err != nil {
		x.err = err
		return
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var buf [8]byte
	for i, b := range x.buckets {
		slices.Sort(b)
		for j, h := range b {
			if j > 0 && b[j-1] == h {
				x.rep[h] = struct{}{}
				continue
			}
			binary.LittleEndian.PutUint64(buf[:], h)
			w.Write(buf[:])
		}
		x.buckets[i] = b[:0]
	}
	if err := w.Flush(); err != nil {
		x.err = err
	}
	f.Close()
	x.runs = append(x.runs, f.Name())
}

// merged adds to rep the hashes found in more than one run, and removes the
// runs.
func (x *hashLog) merged() {
	defer func() {
		for _, r := range x.runs {
			os.Remove(r)
		}
		x.runs = nil
	}()
	type cursor struct {
		r   *bufio.Reader
		h   uint64
		end bool
	}
	var cs []*cursor
	next := func(c *cursor) {
		var buf [8]byte
		if _, err := io.ReadFull(c.r, buf[:]); err != nil {
			c.end = true
			return
		}
		c.h = binary.LittleEndian.Uint64(buf[:])
	}
	for _, r := range x.runs {
		f, err := os.Open(r)
		if err != nil {
			x.err = err
			return
		}
		defer f.Close()
		c := &cursor{r: bufio.NewReaderSize(f, 256<<10)}
		next(c)
		cs = append(cs, c)
	}
	for {
		// the least hash at the cursors, and how many runs hold it
		var least uint64
		found, count := false, 0
		for _, c := range cs {
			switch {
			case c.end:
			case !found || c.h < least:
				least, found, count = c.h, true, 1
			case c.h == least:
				count++
			}
		}
		if !found {
			return
		}
		if count > 1 {
			x.rep[least] = struct{}{}
		}
		for _, c := range cs {
			if !c.end && c.h == least {
				next(c)
			}
		}
	}
}

// exact returns the finder that compares the keys of the hashes kept more than
// once (none: the file repeats no key).
func (x *hashLog) exact() *dupFinder {
	rep := x.repeated()
	return &dupFinder{hash: x.hash, suspects: rep, all: x.err != nil, first: map[string]int{}}
}

// repeated returns the hashes kept more than once. Each bucket's hashes go
// into an open-addressed set twice its size, small enough to stay in cache
// (sorting the buckets took 0.25 s of a 4.75 M-row file, this ~0.03 s).
func (x *hashLog) repeated() map[uint64]struct{} {
	if len(x.runs) > 0 {
		x.spill()
		x.merged()
		// When the runs could not be kept (x.err), exact makes every key a
		// suspect: the exact pass compares them all, correct if as large as
		// the file.
		return x.rep
	}
	rep := x.rep
	if rep == nil {
		rep = map[uint64]struct{}{}
	}
	var set []uint64
	for i, b := range x.buckets {
		size := 1
		for size < 2*len(b) {
			size <<= 1
		}
		set = slices.Grow(set[:0], size)[:size]
		clear(set)
		sawZero := false
		for _, h := range b {
			if h == 0 { // 0 marks a free slot
				if sawZero {
					rep[0] = struct{}{}
				}
				sawZero = true
				continue
			}
			// The top byte chose the bucket; the low bits spread the set.
			for j := h & uint64(size-1); ; j = (j + 1) & uint64(size-1) {
				if set[j] == 0 {
					set[j] = h
					break
				}
				if set[j] == h {
					rep[h] = struct{}{}
					break
				}
			}
		}
		x.buckets[i] = nil
	}
	return rep
}
