package ingest

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
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
	// a record past maxRecord is not held in memory: the file ends there
	for _, body := range []string{"a,b\nc," + strings.Repeat("x", 3<<20) + "\n", "a,b\nc,\"" + strings.Repeat("x\n", 1<<20) + "d\n"} {
		_, err := readAll(t, body)
		var long errRecordTooLong
		if !errors.As(err, &long) || long.line != 2 {
			t.Errorf("a record of %d bytes from line 2: %v, want errRecordTooLong at line 2", len(body)-4, err)
		}
	}
}
