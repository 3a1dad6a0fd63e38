package ingest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/parquet-go/parquet-go"

	"attain/pipeline"
	"attain/warehouse"
)

// inForce says whether every landed row of a delivery is still in force: no
// landed delivery of its feed that comes after it in restatement order (a
// later date, or a later part of its date) holds one of its keys. SPEC §3.3:
// the same content under another name is skipped only while this holds; once
// a later delivery has restated any of its keys, the content lands again like
// any delivery of its date (a snapshot delivered again to undo a change).
//
// Keys are compared by a 64-bit hash of their landed values: a collision can
// only land a file whose rows are all in force already, which changes no
// result (the later copy of a row restates an equal one). It reads only the
// key columns of the feed's landed files, and only when a content repeats.
func inForce(wh string, of pipeline.Delivery) (bool, error) {
	seed := maphash.MakeSeed()
	var keys []uint64
	err := landedKeys(warehouse.LandedPath(wh, of), of.Feed, seed, func(h uint64) bool {
		keys = append(keys, h)
		return true
	})
	if errors.Is(err, os.ErrNotExist) {
		return true, nil // nothing of it landed: nothing to restate
	}
	if err != nil || len(keys) == 0 {
		return true, err
	}
	slices.Sort(keys)
	later, err := landedAfter(wh, of)
	if err != nil {
		return false, err
	}
	restated := false
	for _, path := range later {
		err := landedKeys(path, of.Feed, seed, func(h uint64) bool {
			_, restated = slices.BinarySearch(keys, h)
			return !restated
		})
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return false, err
		}
		if restated {
			return false, nil
		}
	}
	return true, nil
}

// landedAfter lists the landed files of of's feed that come after it in
// restatement order.
func landedAfter(wh string, of pipeline.Delivery) ([]string, error) {
	dirs, err := os.ReadDir(warehouse.LandedDir(wh, of.Feed.Name))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, dir := range dirs {
		date, ok := strings.CutPrefix(dir.Name(), "delivery_date=")
		if !ok || !dir.IsDir() || date < of.Date.String() {
			continue
		}
		files, err := os.ReadDir(filepath.Join(warehouse.LandedDir(wh, of.Feed.Name), dir.Name()))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			name, ok := strings.CutSuffix(f.Name(), ".parquet")
			if !ok || strings.HasPrefix(name, ".") {
				continue
			}
			d, ok := pipeline.ParseDeliveryName(name + ".csv")
			if ok && d.Feed == of.Feed && d.Name != of.Name && compareDeliveries(d, of) > 0 {
				out = append(out, filepath.Join(warehouse.LandedDir(wh, of.Feed.Name), dir.Name(), f.Name()))
			}
		}
	}
	return out, nil
}

// landedKeys tells each row's key hash of a landed file to yield, until yield
// returns false. It reads the key columns only, a page at a time.
func landedKeys(path string, feed *pipeline.Feed, seed maphash.Seed, yield func(uint64) bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	pf, err := parquet.OpenFile(f, info.Size())
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var idx []int
	for _, k := range feed.Key {
		leaf, ok := pf.Schema().Lookup(k)
		if !ok {
			return fmt.Errorf("%s: no key column %s", path, k)
		}
		idx = append(idx, leaf.ColumnIndex)
	}
	var h maphash.Hash
	h.SetSeed(seed)
	for _, rg := range pf.RowGroups() {
		cols := make([]*columnCursor, len(idx))
		for j, ci := range idx {
			cols[j] = &columnCursor{pages: rg.ColumnChunks()[ci].Pages()}
			defer cols[j].pages.Close()
		}
		for range rg.NumRows() {
			h.Reset()
			for _, c := range cols {
				v, err := c.next()
				if err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				var b [8]byte
				switch v.Kind() {
				case parquet.ByteArray:
					h.Write(v.ByteArray())
				case parquet.Int32:
					h.Write(binary.LittleEndian.AppendUint64(b[:0], uint64(v.Int32())))
				default:
					h.Write(binary.LittleEndian.AppendUint64(b[:0], uint64(v.Int64())))
				}
				h.WriteByte(0)
			}
			if !yield(h.Sum64()) {
				return nil
			}
		}
	}
	return nil
}

// columnCursor reads a column chunk's values one at a time, a page at a time.
type columnCursor struct {
	pages parquet.Pages
	vals  []parquet.Value
	i     int
}

func (c *columnCursor) next() (parquet.Value, error) {
	for c.i >= len(c.vals) {
		p, err := c.pages.ReadPage()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF // the row group promised more rows
			}
			return parquet.Value{}, err
		}
		c.vals = slices.Grow(c.vals[:0], int(p.NumValues()))[:p.NumValues()]
		n, err := p.Values().ReadValues(c.vals)
		if err != nil && err != io.EOF {
			return parquet.Value{}, err
		}
		c.vals, c.i = c.vals[:n], 0
	}
	c.i++
	return c.vals[c.i-1], nil
}
