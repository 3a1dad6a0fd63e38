package ingest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// recordReader splits an RFC 4180 stream into records, keeping for each the
// raw text (for quarantine) and the line it starts on. A malformed record is
// returned with malformed set, and reading goes on after it. An error from next
// is about the stream itself (I/O, gzip, UTF-8) and ends the file.
type recordReader struct {
	r     *bufio.Reader
	line  int // physical line the current record starts on
	after int // physical line the next record starts on
	first bool

	raw       []byte // the current record as read, without its line end (valid until the next read)
	own       []byte // raw's storage when the record is not one plain line
	buf       []byte // unquoted field bytes, back to back
	starts    []int  // start offset of each field in buf
	ends      []int  // end offset of each field in buf
	malformed string // why the current record is malformed, or ""
	longField int    // with a record longer than maxRecord, the field it passed the bound in; else -1
	utf8Carry []byte // an incomplete rune at the end of a skipped chunk of a long record
}

// maxRecord is the longest record held in memory, line ends and quotes
// included: a record of a feed is a few hundred bytes. A longer one is read to
// its end without being kept and returned malformed, its raw text clipped to
// keepLong bytes (one bad row); an unclosed quote past the bound ends the file.
const (
	maxRecord = 1 << 20
	keepLong  = 1 << 10
)

// errRecordTooLong ends a file whose quote opened on line is not closed
// before the end of the file, past maxRecord (a file-level rejection): the
// end of that record, and of every record after it, cannot be known.
type errRecordTooLong struct{ line int }

func (e errRecordTooLong) Error() string {
	return fmt.Sprintf("line %d: a record longer than %d MiB (an unclosed quote?)", e.line, maxRecord>>20)
}

// errNotUTF8 ends a file whose text is not UTF-8 (a file-level rejection).
type errNotUTF8 struct{ line int }

func (e errNotUTF8) Error() string { return fmt.Sprintf("line %d: not valid UTF-8", e.line) }

// The states of a field in RFC 4180's quoting.
type quoteState uint8

const (
	fieldStart quoteState = iota
	unquoted
	quoted
	quoteInQuoted // saw '"' inside a quoted field: either "" or the closing quote
)

// step is what one byte of a record is, in its field's state.
type step uint8

const (
	stepData         step = iota // field data
	stepQuoting                  // an opening quote, or a quote that may close: not data
	stepEndField                 // a comma outside quotes
	stepEscapedQuote             // the second quote of "": one '"' of data
	stepStrayQuote               // a quote in a field that does not start with one: data, malformed
	stepAfterClose               // text after a closing quote: data, malformed
)

// advance takes one byte c of a record in state and says what it is and the
// state after it. The record reader and the skipping of a long record share it.
func advance(state quoteState, c byte) (quoteState, step) {
	switch state {
	case fieldStart:
		switch c {
		case '"':
			return quoted, stepQuoting
		case ',':
			return fieldStart, stepEndField
		}
		return unquoted, stepData
	case unquoted:
		switch c {
		case ',':
			return fieldStart, stepEndField
		case '"':
			return unquoted, stepStrayQuote
		}
		return unquoted, stepData
	case quoted:
		if c == '"' {
			return quoteInQuoted, stepQuoting
		}
		return quoted, stepData
	default: // quoteInQuoted
		switch c {
		case '"':
			return quoted, stepEscapedQuote
		case ',':
			return fieldStart, stepEndField
		}
		return unquoted, stepAfterClose
	}
}

var bom = []byte("\xef\xbb\xbf")

func newRecordReader(r io.Reader) *recordReader { return newRecordReaderSize(r, 1<<20) }

// newRecordReaderSize reads through a buffer of size bytes.
func newRecordReaderSize(r io.Reader, size int) *recordReader {
	return &recordReader{r: bufio.NewReaderSize(r, size), after: 1, first: true}
}

// next reads the following record and returns io.EOF after the last one.
// Blank lines hold no record and are skipped.
func (rr *recordReader) next() error {
	for {
		rr.line = rr.after
		rr.raw, rr.own, rr.buf, rr.starts, rr.ends, rr.malformed, rr.longField = nil, rr.own[:0], rr.buf[:0], rr.starts[:0], rr.ends[:0], "", -1
		err := rr.scan()
		if err != nil && err != io.EOF {
			return err
		}
		if !utf8.Valid(rr.raw) {
			return errNotUTF8{line: rr.line}
		}
		if len(rr.raw) == 0 {
			if err == io.EOF {
				return io.EOF
			}
			continue
		}
		return nil
	}
}

// fields returns the number of fields of the current record.
func (rr *recordReader) fields() int { return len(rr.ends) }

// field returns field i of the current record, valid until the next call to next.
func (rr *recordReader) field(i int) []byte { return rr.buf[rr.starts[i]:rr.ends[i]] }

// endField closes the field that began where the previous one ended.
func (rr *recordReader) endField() {
	start := 0
	if n := len(rr.ends); n > 0 {
		start = rr.ends[n-1]
	}
	rr.starts = append(rr.starts, start)
	rr.ends = append(rr.ends, len(rr.buf))
}

// scan reads physical lines until the record is complete: a line end outside
// quotes, or the end of the stream.
func (rr *recordReader) scan() error {
	state := fieldStart
	var eol []byte // the line end of the previous line of this record
	for {
		line, err := rr.readLine()
		if err == errLineTooLong || len(rr.own)+len(line) > maxRecord {
			if rr.first {
				line = bytes.TrimPrefix(line, bom)
				rr.first = false
			}
			return rr.skipLong(state, eol, line, err)
		}
		if len(line) == 0 && err != nil {
			if state == quoted || state == quoteInQuoted {
				if state == quoted {
					rr.setMalformed("a quoted field is not closed before the end of the file")
				}
				rr.endField()
			} else if len(rr.raw) > 0 {
				rr.endField()
			}
			return err
		}
		rr.after++
		if rr.first {
			line = bytes.TrimPrefix(line, bom)
			rr.first = false
		}
		content := trimEOL(line)
		if len(rr.raw) == 0 && eol == nil && bytes.IndexByte(content, '"') < 0 {
			// The common case: a record on one line without quotes. Its raw
			// text is the line in the reader's buffer, not a copy.
			if len(content) == 0 {
				return err // blank line
			}
			rr.raw = content
			rr.splitPlain(content)
			return nil
		}
		if len(rr.raw) > 0 || eol != nil { // continuing a quoted field: its line end is data
			rr.own = append(rr.own, eol...)
			rr.buf = append(rr.buf, eol...)
		}
		rr.own = append(rr.own, content...)
		rr.raw = rr.own
		eol = append(eol[:0], line[len(content):]...)
		for _, c := range content {
			var st step
			switch state, st = advance(state, c); st {
			case stepData:
				rr.buf = append(rr.buf, c)
			case stepEndField:
				rr.endField()
			case stepEscapedQuote:
				rr.buf = append(rr.buf, '"')
			case stepStrayQuote:
				rr.setMalformed(fmt.Sprintf("field %d has a quote but does not start with one", len(rr.ends)+1))
				rr.buf = append(rr.buf, c)
			case stepAfterClose:
				rr.setMalformed(fmt.Sprintf("field %d has text after its closing quote", len(rr.ends)+1))
				rr.buf = append(rr.buf, c)
			}
		}
		if state != quoted {
			rr.endField()
			return nil
		}
		if err != nil { // end of stream inside a quoted field
			rr.setMalformed("a quoted field is not closed before the end of the file")
			rr.endField()
			return err
		}
	}
}

// splitPlain splits a quote-free line at its commas. Fields are short: a
// byte loop beats a bytes.IndexByte call a field (0.34 s of 43 M calls).
func (rr *recordReader) splitPlain(line []byte) {
	rr.buf = append(rr.buf, line...)
	start := 0
	for j, c := range line {
		if c == ',' {
			rr.starts = append(rr.starts, start)
			rr.ends = append(rr.ends, j)
			start = j + 1
		}
	}
	rr.starts = append(rr.starts, start)
	rr.ends = append(rr.ends, len(line))
}

func (rr *recordReader) setMalformed(why string) {
	if rr.malformed == "" {
		rr.malformed = why
	}
}

// readLine returns the next physical line with its line end. The slice is
// valid until the next read.
// A line longer than maxRecord is not read whole: errLineTooLong, with the
// part of it read.
func (rr *recordReader) readLine() ([]byte, error) {
	line, err := rr.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		long := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull {
			if len(long) > maxRecord {
				return long, errLineTooLong
			}
			line, err = rr.r.ReadSlice('\n')
			long = append(long, line...)
		}
		line = long
	}
	return line, err
}

var errLineTooLong = errors.New("line too long")

// skipLong reads the rest of a record that passed maxRecord, from chunk (read
// but not yet scanned; more follows when err is errLineTooLong) in quote
// state, after the record's earlier lines (rr.own, then their line end eol),
// keeping none of it but its first keepLong bytes: a record longer than the
// bound is one bad row, whatever its length, once its end is found at a line
// end outside quotes. It returns the record malformed, saying so, and its
// field at fault in longField. A quote still open at the end of the stream
// ends the file (errRecordTooLong, naming the record's first line).
func (rr *recordReader) skipLong(state quoteState, eol, chunk []byte, err error) error {
	size, field := len(rr.own), len(rr.ends)
	var raw []byte
	keep := func(b []byte) { raw = append(raw, b[:min(len(b), keepLong-len(raw))]...) }
	keep(rr.own)
	if len(rr.own) > 0 {
		keep(eol)
	}
	rr.utf8Carry = rr.utf8Carry[:0]
	for {
		ends := len(chunk) > 0 && chunk[len(chunk)-1] == '\n'
		content := chunk
		if ends {
			content = trimEOL(chunk)
		}
		if !rr.validUTF8(chunk) {
			return errNotUTF8{line: rr.line}
		}
		for i, c := range content {
			if rr.longField < 0 && size+i >= maxRecord {
				rr.longField = field
			}
			var st step
			if state, st = advance(state, c); st == stepEndField {
				field++
			}
		}
		size += len(chunk)
		if ends {
			rr.after++
			if state != quoted {
				keep(content)
				rr.endLong(raw, size, field)
				return nil
			}
		}
		keep(chunk)
		if err != nil && err != errLineTooLong && err != bufio.ErrBufferFull {
			switch {
			case err != io.EOF:
				return err
			case state == quoted:
				return errRecordTooLong{line: rr.line}
			case len(rr.utf8Carry) > 0:
				return errNotUTF8{line: rr.line}
			}
			rr.endLong(raw, size, field)
			return io.EOF
		}
		chunk, err = rr.r.ReadSlice('\n')
	}
}

// endLong makes the current record the malformed record of a long one: raw
// its first bytes (cut at a whole character), size its length, field the
// field it ended in.
func (rr *recordReader) endLong(raw []byte, size, field int) {
	for len(raw) > 0 && !utf8.Valid(raw) {
		raw = raw[:len(raw)-1]
	}
	rr.own = append(rr.own[:0], raw...)
	rr.raw = rr.own
	rr.buf, rr.starts, rr.ends = rr.buf[:0], rr.starts[:0], rr.ends[:0]
	if rr.longField < 0 {
		rr.longField = field
	}
	rr.setMalformed(fmt.Sprintf("the record is %d bytes, longer than the %d MiB a record may be (its raw text here is clipped to its first %d bytes)",
		size, maxRecord>>20, len(raw)))
}

// validUTF8 checks a chunk of a long record; a character cut at the chunk's
// end is carried over to the next chunk (rr.utf8Carry).
func (rr *recordReader) validUTF8(b []byte) bool {
	if len(rr.utf8Carry) > 0 {
		b = append(rr.utf8Carry, b...)
	}
	cut := len(b)
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				cut = i
			}
			break
		}
	}
	ok := utf8.Valid(b[:cut])
	rr.utf8Carry = append(rr.utf8Carry[:0], b[cut:]...)
	return ok
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}
