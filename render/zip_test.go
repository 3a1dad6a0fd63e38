package render

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"testing"
)

// TestZipWriterParts: parts written through the block deflater read back
// byte for byte with the standard library's zip reader (which checks each
// part's CRC): an empty part, a small one, one of exactly one block and one
// of several blocks and a bit, written in odd-sized pieces.
func TestZipWriterParts(t *testing.T) {
	var xml bytes.Buffer
	for i := 0; xml.Len() < 3*blockSize+12345; i++ {
		fmt.Fprintf(&xml, `<row r="%d"><c t="inlineStr"><is><t>ORG-%06d</t></is></c><c><v>%d.25</v></c></row>`, i, i%20000, i*7)
	}
	parts := map[string][]byte{
		"empty.xml":     nil,
		"small.xml":     []byte("<workbook/>"),
		"one-block.xml": xml.Bytes()[:blockSize],
		"sheet.xml":     xml.Bytes(),
	}
	names := []string{"empty.xml", "small.xml", "one-block.xml", "sheet.xml"}
	var out bytes.Buffer
	zw := newZipWriter(&out)
	for _, name := range names {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		for p := parts[name]; len(p) > 0; {
			k := min(len(p), 7919)
			if _, err := w.Write(p[:k]); err != nil {
				t.Fatal(err)
			}
			p = p[k:]
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(out.Bytes()), int64(out.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != len(names) {
		t.Fatalf("%d parts, want %d", len(zr.File), len(names))
	}
	for i, f := range zr.File {
		if f.Name != names[i] {
			t.Fatalf("part %d is %s, want %s", i, f.Name, names[i])
		}
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if !bytes.Equal(got, parts[f.Name]) {
			t.Fatalf("%s: %d bytes read back, want %d", f.Name, len(got), len(parts[f.Name]))
		}
	}
	if out.Len() > xml.Len()/3 {
		t.Errorf("%d bytes of zip for %d of XML: not compressed", out.Len(), xml.Len())
	}
}
