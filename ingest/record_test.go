package ingest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

type rec struct {
	line      int
	raw       string
	fields    []string
	malformed bool
}

func readAll(t testing.TB, in string) ([]rec, error) {
	t.Helper()
	rr := newRecordReader(strings.NewReader(in))
	var out []rec
	for {
		err := rr.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		r := rec{line: rr.line, raw: string(rr.raw), malformed: rr.malformed != ""}
		for i := 0; i < rr.fields(); i++ {
			r.fields = append(r.fields, string(rr.field(i)))
		}
		out = append(out, r)
	}
}

func TestRecordReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []rec
	}{
		{"plain LF", "a,b\n1,2\n", []rec{{1, "a,b", []string{"a", "b"}, false}, {2, "1,2", []string{"1", "2"}, false}}},
		{"CRLF and no final newline", "a,b\r\n1,2", []rec{{1, "a,b", []string{"a", "b"}, false}, {2, "1,2", []string{"1", "2"}, false}}},
		{"BOM stripped", "\xef\xbb\xbfa,b\n", []rec{{1, "a,b", []string{"a", "b"}, false}}},
		{"empty fields", ",,\n", []rec{{1, ",,", []string{"", "", ""}, false}}},
		{"quoted comma and escaped quote", `"x,y","say ""hi""",z` + "\n", []rec{{1, `"x,y","say ""hi""",z`, []string{"x,y", `say "hi"`, "z"}, false}}},
		{"quoted newline spans lines", "\"a\nb\",c\nd,e\n", []rec{{1, "\"a\nb\",c", []string{"a\nb", "c"}, false}, {3, "d,e", []string{"d", "e"}, false}}},
		{"quoted CRLF newline kept", "\"a\r\nb\",c\r\n", []rec{{1, "\"a\r\nb\",c", []string{"a\r\nb", "c"}, false}}},
		{"quoted newline on a blank line", "\"a\n\nb\"\n", []rec{{1, "\"a\n\nb\"", []string{"a\n\nb"}, false}}},
		{"blank lines skipped, lines counted", "a\n\n\r\nb\n", []rec{{1, "a", []string{"a"}, false}, {4, "b", []string{"b"}, false}}},
		{"quote inside unquoted field", "ab\"c,d\ne,f\n", []rec{{1, "ab\"c,d", []string{"ab\"c", "d"}, true}, {2, "e,f", []string{"e", "f"}, false}}},
		{"text after closing quote", "\"a\"b,c\n", []rec{{1, "\"a\"b,c", []string{"ab", "c"}, true}}},
		{"unclosed quote at end", "x\n\"abc,d\n", []rec{{1, "x", []string{"x"}, false}, {2, "\"abc,d", []string{"abc,d"}, true}}},
		{"empty quoted field", "\"\",a\n", []rec{{1, "\"\",a", []string{"", "a"}, false}}},
		{"trailing comma", "a,\n", []rec{{1, "a,", []string{"a", ""}, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(t, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestRecordReaderRejectsNonUTF8(t *testing.T) {
	_, err := readAll(t, "a,b\nok,1\n\xff\xfe,2\n")
	var nu errNotUTF8
	if !errors.As(err, &nu) || nu.line != 3 {
		t.Fatalf("got %v, want not valid UTF-8 at line 3", err)
	}
}

func TestRecordReaderLongLine(t *testing.T) {
	long := strings.Repeat("x", 512<<10) // past the reader's buffer, within maxRecord
	got, err := readAll(t, "a,"+long+"\nb,c\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].fields[1] != long || got[1].line != 2 {
		t.Fatalf("long line not read whole: %d records", len(got))
	}
	// an unclosed quote past maxRecord: the end of no record after it can be
	// known, so the file ends there, naming the line the quote opened on
	_, err = readAll(t, "a,b\nc,\""+strings.Repeat("x\n", 1<<20)+"d\n")
	var tooLong errRecordTooLong
	if !errors.As(err, &tooLong) || tooLong.line != 2 {
		t.Errorf("an unclosed quote from line 2: %v, want errRecordTooLong at line 2", err)
	}
}

// TestRecordReaderLongRecordIsOneRow: a record past maxRecord whose end is a
// line end outside quotes (a 10 MiB field, bare or quoted, over one line or
// several) is one malformed record, its raw text clipped, its field named;
// the records after it are read as usual, on their own lines, and the reader
// holds no more than the bound while it reads it.
func TestRecordReaderLongRecordIsOneRow(t *testing.T) {
	big := strings.Repeat("é", 5<<20) // 10 MiB, two bytes a character
	for _, c := range []struct{ name, field string }{
		{"bare", big},
		{"quoted", `"` + big + `"`},
		{"quoted over lines, with quotes and commas", `"` + big + "\n,\"\"\r\n" + big + `"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := "a,b,c\n1,2,3\n4," + c.field + ",6\n7,8,9"
			rr := newRecordReader(strings.NewReader(in))
			var got []rec
			var field []int
			for {
				err := rr.next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if held := cap(rr.own) + cap(rr.buf); held > 3*maxRecord {
					t.Errorf("line %d: the reader holds %d bytes for a record", rr.line, held)
				}
				got = append(got, rec{line: rr.line, raw: string(rr.raw), malformed: rr.malformed != ""})
				field = append(field, rr.longField)
			}
			lines := 1 + strings.Count(c.field, "\n")
			if len(got) != 4 || !got[2].malformed || got[2].line != 3 || got[3].line != 4+lines-1 || got[3].malformed || got[1].malformed {
				t.Fatalf("records %+v", summary(got))
			}
			if field[2] != 1 || len(got[2].raw) > keepLong || !strings.HasPrefix(got[2].raw, "4,") || !utf8.ValidString(got[2].raw) {
				t.Errorf("the long record: field %d, raw of %d bytes %.20q", field[2], len(got[2].raw), got[2].raw)
			}
			if !strings.Contains(malformedOf(in), "clipped") {
				t.Errorf("the reason does not say the raw text is clipped")
			}
		})
	}
	// not UTF-8 in the part of a long record that is not kept: the file ends
	_, err := readAll(t, "a,b\n1,"+strings.Repeat("x", 2<<20)+"\xff\n")
	var nu errNotUTF8
	if !errors.As(err, &nu) || nu.line != 2 {
		t.Errorf("a long record with a byte not UTF-8: %v, want not valid UTF-8 at line 2", err)
	}
}

// summary shortens records for a failure message.
func summary(rs []rec) []string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("line %d malformed %t raw %.20q", r.line, r.malformed, r.raw))
	}
	return out
}

// malformedOf is the reason the long record of in is malformed.
func malformedOf(in string) string {
	r := newRecordReader(strings.NewReader(in))
	for r.next() == nil {
		if r.malformed != "" {
			return r.malformed
		}
	}
	return ""
}

// TestHashAheadHashesWhatPassed: the SHA-256 of what was read through
// hashAhead, stopped at any point with the rest hashed after, is the file's,
// whichever of the reader and the hashing goroutine runs ahead (a stop once
// deadlocked when the goroutine had more chunks to give back than it keeps).
func TestHashAheadHashesWhatPassed(t *testing.T) {
	data := make([]byte, 3<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	want := sha256.Sum256(data)
	for trial := range 50 {
		done := make(chan struct{})
		go func() {
			defer close(done)
			a := newHashAhead(bytes.NewReader(data))
			p := make([]byte, 1+trial*997)
			stopAt := trial * (len(data) / 50)
			read := 0
			for read < stopAt {
				n, err := a.Read(p)
				read += n
				if err != nil {
					break
				}
			}
			h := a.stop()
			h.Write(data[read:])
			a.stop() // twice is fine
			if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
				t.Errorf("trial %d: stopped after %d bytes, the hash differs", trial, read)
			}
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("trial %d: hashAhead did not stop", trial)
		}
	}
}
