package ingest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"attain/pipeline"
	"attain/warehouse"
)

// LogFile is the ingest log's name inside the warehouse (pipeline's layout): one JSON object a
// line, one line per file decision, appended and synced, never rewritten.
const LogFile = warehouse.IngestLogFile

// Status of a file in the ingest log.
const (
	StatusLanded       = "landed"
	StatusRejected     = "rejected"
	StatusUnrecognized = "unrecognized"
	// StatusUnchanged: touched since it landed, same content; nothing landed.
	StatusUnchanged = "unchanged"
	// StatusDuplicate: the content of another file that is landed (SPEC §3.3:
	// a content already landed is skipped); nothing landed.
	StatusDuplicate = "duplicate"
)

// Entry is one line of the ingest log.
type Entry struct {
	RunID           string    `json:"run_id"`
	At              time.Time `json:"at"`
	File            string    `json:"file"`
	Feed            string    `json:"feed,omitempty"`
	DeliveryDate    string    `json:"delivery_date,omitempty"`
	Part            string    `json:"part,omitempty"`
	Size            int64     `json:"size"`
	ModTime         int64     `json:"mod_time_ns"`
	SHA256          string    `json:"sha256,omitempty"`
	Status          string    `json:"status"`
	Replaces        string    `json:"replaces_sha256,omitempty"`
	RowsRead        int64     `json:"rows_read"`
	RowsLanded      int64     `json:"rows_landed"`
	RowsQuarantined int64     `json:"rows_quarantined"`
	Reason          string    `json:"reason,omitempty"`
	Warnings        []string  `json:"warnings,omitempty"`
}

// ReadLog returns every entry of the warehouse's ingest log, oldest first. A
// line torn by a crash at the end of the log is ignored.
func ReadLog(wh string) ([]Entry, error) {
	f, err := os.Open(filepath.Join(wh, LogFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Entry
	r := bufio.NewReader(f)
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if err == io.EOF {
			return out, nil // a final line without '\n' was torn by a crash
		}
		if err != nil {
			return nil, err
		}
		var e Entry
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", LogFile, n, err)
		}
		out = append(out, e)
	}
}

// logWriter appends entries to the ingest log.
type logWriter struct {
	f        *os.File
	unsynced int // entries appended since the last Sync
}

// openLog opens the log for appending, first cutting a line torn by a crash.
func openLog(wh string) (*logWriter, error) {
	path := filepath.Join(wh, LogFile)
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	keep := int64(bytes.LastIndexByte(b, '\n') + 1)
	if keep != int64(len(b)) {
		if err := f.Truncate(keep); err != nil {
			f.Close()
			return nil, err
		}
	}
	if _, err := f.Seek(keep, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return &logWriter{f: f}, nil
}

// append writes an entry whole or not at all (a full disk cuts the part it
// wrote off again); it is durable once Sync returns.
func (l *logWriter) append(e Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	at, err := l.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	if _, err := l.f.Write(append(b, '\n')); err != nil {
		if terr := l.f.Truncate(at); terr == nil {
			l.f.Seek(at, io.SeekStart)
		}
		return err
	}
	l.unsynced++
	return nil
}

// Sync makes the entries appended so far durable.
func (l *logWriter) Sync() error {
	if l.unsynced == 0 {
		return nil
	}
	l.unsynced = 0
	return l.f.Sync()
}

func (l *logWriter) Close() error { return l.f.Close() }

// Current returns, for each file, the entry of its landing in force (the
// latest landed one), and separately the files whose latest decision was a
// rejection, with that entry. Both are sorted by file name.
func Current(entries []Entry) (landed, rejected []Entry) {
	land := map[string]Entry{}
	decided := map[string]Entry{}
	for _, e := range entries {
		switch e.Status {
		case StatusLanded:
			land[e.File] = e
			decided[e.File] = e
		case StatusRejected:
			decided[e.File] = e
		}
	}
	for _, e := range land {
		landed = append(landed, e)
	}
	for _, e := range decided {
		if e.Status == StatusRejected {
			rejected = append(rejected, e)
		}
	}
	byFile := func(a, b Entry) int { return strings.Compare(a.File, b.File) }
	slices.SortFunc(landed, byFile)
	slices.SortFunc(rejected, byFile)
	return landed, rejected
}

// CheckLanded says whether every landed file the ingest log holds as current
// is in the warehouse: a compute over a warehouse that lost one would give
// other results and say nothing. The error names the missing files.
func CheckLanded(wh string) error {
	entries, err := ReadLog(wh)
	if err != nil {
		return err
	}
	landed, _ := Current(entries)
	var missing []string
	for _, e := range landed {
		d, ok := pipeline.ParseDeliveryName(e.File)
		if !ok {
			continue
		}
		if _, err := os.Stat(warehouse.LandedPath(wh, d)); errors.Is(err, os.ErrNotExist) {
			missing = append(missing, e.File)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the ingest log holds %d landed file(s) the warehouse no longer has (%s): restore them, or deliver the files again",
			len(missing), strings.Join(missing[:min(5, len(missing))], ", "))
	}
	return nil
}
