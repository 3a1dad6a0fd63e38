package ingest

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"attain/pipeline"
	"attain/warehouse"
)

// Options says what one ingest does.
type Options struct {
	Inbox, Warehouse string
	AsOf             pipeline.Date // files delivered after it wait for a later run
	MaxBadFraction   float64
	RunID            string
	Now              func() time.Time
	Log              *slog.Logger
	// Progress, when set, is told after each file how many of the files to
	// land are done.
	Progress func(done, total int)
	// Workers is how many files land at once (default 1).
	Workers int
	// Held, when set, says whether the caller still holds the warehouse lock;
	// it is asked before each write to the ingest log, which two writers
	// would interleave.
	Held func() error
	// Shared says that shard processes share the warehouse lock while this
	// ingest runs (run --shard): the temporary files it clears before it
	// starts are then only ingest's own (landed/, quarantine/), not those other
	// processes are writing.
	Shared bool

	// fault, in tests, is called at points where a crash could strike; an
	// error it returns stops the run there, as a kill would.
	fault func(point string) error
}

// FeedCounts are the rows one run landed and quarantined for a feed.
type FeedCounts struct {
	Files, Landed, Quarantined int64
}

// Summary is what one ingest did.
type Summary struct {
	Landed, Rejected, Skipped, Waiting, Unrecognized int
	Changed                                          int // changed while read: left for the next run
	Feeds                                            map[string]*FeedCounts
	Rejections                                       []string
	Entries                                          []Entry
}

// Run lands every new inbox file delivered on or before opt.AsOf. The caller
// holds the warehouse lock. It returns an error wrapping pipeline.ErrRejected
// when a file was rejected (after all other files are landed), one wrapping
// pipeline.ErrUsage when the inbox cannot be read, and any other error when the
// warehouse cannot be written.
// logBatch files, or those of logBatchTime, are put in place and logged
// together (Run).
const (
	logBatch     = 128
	logBatchTime = 250 * time.Millisecond
)

func Run(ctx context.Context, opt Options) (sum *Summary, err error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	entries, err := os.ReadDir(opt.Inbox)
	if err != nil {
		return nil, fmt.Errorf("%w: inbox: %v", pipeline.ErrUsage, err)
	}
	if err := os.MkdirAll(opt.Warehouse, 0o755); err != nil {
		return nil, fmt.Errorf("%w: warehouse: %v", pipeline.ErrUsage, err)
	}
	temps := []string{opt.Warehouse}
	if opt.Shared {
		temps = []string{warehouse.LandedRoot(opt.Warehouse), warehouse.QuarantineRoot(opt.Warehouse)}
	}
	for _, dir := range temps {
		if err := pipeline.RemoveTemps(dir); err != nil {
			return nil, fmt.Errorf("clear interrupted writes: %w", err)
		}
	}
	past, err := ReadLog(opt.Warehouse)
	if err != nil {
		return nil, fmt.Errorf("read ingest log: %w", err)
	}
	last := map[string]Entry{} // file → its latest decision
	for _, e := range past {
		last[e.File] = e
	}
	content := map[string]string{} // SHA-256 → the file whose landing holds it
	for _, e := range last {
		if e.SHA256 != "" && (e.Status == StatusLanded || e.Status == StatusUnchanged) {
			content[e.SHA256] = e.File
		}
	}
	log, err := openLog(opt.Warehouse)
	if err != nil {
		return nil, fmt.Errorf("open ingest log: %w", err)
	}
	defer log.Close()

	// Files are put in place and logged a batch at a time, not one by one:
	// the batch's landed and quarantine files, written and closed, are made
	// durable by one sync of the file system, renamed into place, synced
	// again; only then are their log entries written and the log synced. So an
	// entry never outlives what it records, and a crash loses at most a batch
	// of entries, whose files the next run lands again over the same paths
	// (and removes the temporary files of): nothing twice. One sync of a batch
	// costs what one small file's fsync does.
	var (
		pending  []Entry
		renames  []pipeline.Rename
		lastSync = time.Now()
	)
	flush := func() error {
		if err := pipeline.CommitRenames(opt.Warehouse, renames); err != nil {
			return err
		}
		renames = renames[:0]
		if opt.Held != nil && len(pending) > 0 {
			if err := opt.Held(); err != nil {
				return err
			}
		}
		for _, e := range pending {
			if err := log.append(e); err != nil {
				return err
			}
		}
		pending = pending[:0]
		lastSync = time.Now()
		return log.Sync()
	}
	defer func() {
		if ferr := flush(); ferr != nil && err == nil {
			err = fmt.Errorf("ingest log: %w", ferr)
		}
	}()
	sum = &Summary{Feeds: map[string]*FeedCounts{}}
	record := func(e Entry, rs ...pipeline.Rename) error {
		if opt.Held != nil {
			if err := opt.Held(); err != nil {
				return err
			}
		}
		e.RunID, e.At = opt.RunID, opt.Now().UTC()
		sum.Entries = append(sum.Entries, e)
		pending = append(pending, e)
		renames = append(renames, rs...)
		if len(pending) >= logBatch || time.Since(lastSync) > logBatchTime {
			return flush()
		}
		return nil
	}

	// rejectListed rejects a file found unfit while listing the inbox.
	rejectListed := func(e Entry) error {
		sum.Rejected++
		sum.Rejections = append(sum.Rejections, e.Reason)
		e.Status = StatusRejected
		return record(e)
	}

	var todo []pipeline.Delivery
	listed := map[string]os.FileInfo{} // file → as the listing saw it
	byName := map[string]string{}      // landing name → the file that holds it
	for _, de := range entries {
		if de.IsDir() {
			continue
		}
		file := de.Name()
		d, ok := pipeline.ParseDeliveryName(file)
		// The file itself, through a symlink: its size and time decide whether
		// it is new. One that cannot be read is rejected, the others go on.
		info, err := os.Stat(filepath.Join(opt.Inbox, file))
		if err != nil && ok && d.Date <= opt.AsOf {
			reason := fmt.Sprintf("%s: cannot be read: %v", file, errors.Unwrap(err))
			if prev, seen := last[file]; seen && prev.Status == StatusRejected && prev.Reason == reason {
				sum.Skipped++ // rejected already: one run says so, not every run
				continue
			}
			opt.Log.Error("file rejected", "file", file, "reason", reason)
			if err := rejectListed(Entry{File: file, Feed: d.Feed.Name, DeliveryDate: d.Date.String(), Part: d.Part, Reason: reason}); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			info, err = de.Info()
			if err != nil {
				continue // gone since the listing
			}
		}
		why := "unrecognized inbox file left alone"
		if !info.Mode().IsRegular() {
			// A FIFO, device or directory named like a delivery is never
			// opened (a FIFO would block the run).
			ok, why = false, "inbox file is not a regular file; left alone"
		}
		if !ok {
			sum.Unrecognized++
			if _, seen := last[file]; !seen {
				opt.Log.Warn(why, "file", file)
				if err := record(Entry{File: file, Size: info.Size(), ModTime: info.ModTime().UnixNano(), Status: StatusUnrecognized}); err != nil {
					return nil, err
				}
			}
			continue
		}
		if d.Date > opt.AsOf {
			sum.Waiting++
			continue
		}
		if e, ok := last[file]; ok && e.Size == info.Size() {
			if e.ModTime == info.ModTime().UnixNano() {
				sum.Skipped++
				continue
			}
			// Touched, perhaps rewritten: the content decides (SPEC §3.3).
			// (unreadable: landing it says why)
			if sha, err := fileSHA(filepath.Join(opt.Inbox, file)); err == nil && sha == e.SHA256 {
				sum.Skipped++
				e.ModTime, e.Status, e.Replaces = info.ModTime().UnixNano(), StatusUnchanged, ""
				e.RowsRead, e.RowsLanded, e.RowsQuarantined, e.Warnings, e.Reason = 0, 0, 0, nil, ""
				if err := record(e); err != nil {
					return nil, err
				}
				last[file] = e
				continue
			}
		}
		if other, ok := byName[d.Name]; ok {
			// foo.csv and foo.csv.gz would land in the same place.
			reason := fmt.Sprintf("%s: %s delivers the same name; only one of them is landed", file, other)
			if err := rejectListed(Entry{File: file, Feed: d.Feed.Name, DeliveryDate: d.Date.String(), Part: d.Part,
				Size: info.Size(), ModTime: info.ModTime().UnixNano(), Reason: reason}); err != nil {
				return nil, err
			}
			continue
		}
		byName[d.Name] = file
		listed[file] = info
		todo = append(todo, d)
	}
	slices.SortFunc(todo, compareDeliveries)

	workers := max(opt.Workers, 1)
	err = landInOrder(ctx, todo, workers, func(d pipeline.Delivery) landed {
		l := &landing{wh: opt.Warehouse, d: d, path: filepath.Join(opt.Inbox, d.File), maxBad: opt.MaxBadFraction, fault: opt.fault}
		start := time.Now()
		err = l.land(ctx)
		return landed{l: l, err: err, took: time.Since(start)}
	}, func(i int, r landed) error {
		d := todo[i]
		if errors.Is(r.err, errChanged) {
			// Not logged: the next run finds it new and reads it again.
			sum.Changed++
			opt.Log.Warn("inbox file changed while it was read; nothing of it landed, the next run reads it again", "file", d.File)
			return nil
		}
		var rej *rejection
		if r.err != nil && !errors.As(r.err, &rej) {
			if errors.Is(r.err, pipeline.ErrUsage) {
				return r.err
			}
			return fmt.Errorf("land %s: %w", d.File, r.err)
		}
		l := r.l
		e := Entry{File: d.File, Feed: d.Feed.Name, DeliveryDate: d.Date.String(), Part: d.Part,
			Size: l.size(listed[d.File]), ModTime: l.modTime(listed[d.File]), SHA256: l.sha, Status: StatusLanded,
			RowsRead: l.read, RowsLanded: l.landed, RowsQuarantined: l.quarantined, Warnings: l.warnings}
		if prev, ok := last[d.File]; ok && prev.SHA256 != "" && prev.SHA256 != l.sha {
			e.Replaces = prev.SHA256
		}
		if other, ok := content[l.sha]; ok && other != d.File && rej == nil {
			// SPEC §3.3: a content already landed under another name is
			// skipped while every row of that landing is in force; once a
			// later delivery restated one of its keys, it lands like any
			// delivery of its date (this run's landings before it are put
			// in place first, so that they count)
			inForce, err := sameContentInForce(opt.Warehouse, other, flush)
			if err != nil {
				return fmt.Errorf("land %s: %w", d.File, err)
			}
			if inForce {
				for _, rn := range l.renames {
					os.Remove(rn.From)
				}
				sum.Skipped++
				e.Status, e.Reason = StatusDuplicate, fmt.Sprintf("%s: the same content as %s, whose rows are all still in force; skipped", d.File, other)
				e.RowsRead, e.RowsLanded, e.RowsQuarantined, e.Warnings, e.Replaces = 0, 0, 0, nil, ""
				opt.Log.Warn("file skipped: its content is landed already", "file", d.File, "same_as", other)
				if err := record(e); err != nil {
					return fmt.Errorf("ingest log: %w", err)
				}
				return nil
			}
			l.warnings = append(l.warnings, fmt.Sprintf("the same content as %s, landed again: a later delivery restated rows of it", other))
			e.Warnings = l.warnings
		}
		if rej == nil && l.sha != "" {
			content[l.sha] = d.File
		}
		if rej != nil {
			e.Status, e.Reason = StatusRejected, d.File+": "+rej.reason
			sum.Rejected++
			sum.Rejections = append(sum.Rejections, e.Reason)
			opt.Log.Error("file rejected", "file", d.File, "reason", rej.reason)
		} else {
			sum.Landed++
		}
		for _, w := range l.warnings {
			opt.Log.Warn(w, "file", d.File)
		}
		fc := sum.Feeds[d.Feed.Name]
		if fc == nil {
			fc = &FeedCounts{}
			sum.Feeds[d.Feed.Name] = fc
		}
		fc.Files++
		fc.Landed += e.RowsLanded
		fc.Quarantined += e.RowsQuarantined
		if err := l.crash("before-log"); err != nil {
			return err
		}
		if err := record(e, l.renames...); err != nil {
			return fmt.Errorf("ingest log: %w", err)
		}
		opt.Log.Debug("file ingested", "file", d.File, "status", e.Status, "rows_read", e.RowsRead,
			"rows_landed", e.RowsLanded, "rows_quarantined", e.RowsQuarantined, "duration", r.took)
		if opt.Progress != nil {
			opt.Progress(i+1, len(todo))
		}
		return nil
	})
	if err != nil {
		return sum, err
	}
	if sum.Rejected > 0 {
		return sum, fmt.Errorf("%w: %d file(s) rejected", pipeline.ErrRejected, sum.Rejected)
	}
	return sum, nil
}

// sameContentInForce says whether the landing of file (an inbox file name)
// is still wholly in force (inForce), after flush has put this run's
// landings in place.
func sameContentInForce(wh, file string, flush func() error) (bool, error) {
	d, ok := pipeline.ParseDeliveryName(file)
	if !ok {
		return true, nil
	}
	if err := flush(); err != nil {
		return false, err
	}
	return inForce(wh, d)
}

func fileSHA(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// landed is one file's landing, handed from a worker to the log writer.
type landed struct {
	l    *landing
	err  error
	took time.Duration
}

// landInOrder lands files on up to workers goroutines and hands each result to
// emit in the order of todo, so the log reads the same whatever finishes first.
// It stops at emit's first error, or when ctx ends, after the landings under
// way have finished (their temporary files removed).
func landInOrder(ctx context.Context, todo []pipeline.Delivery, workers int,
	land func(pipeline.Delivery) landed, emit func(int, landed) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	slots := make([]chan landed, len(todo))
	for i := range slots {
		slots[i] = make(chan landed, 1)
	}
	var wg sync.WaitGroup
	defer func() {
		// Stopped early: the landings that finished but were not emitted
		// leave no temporary files.
		wg.Wait()
		for _, slot := range slots {
			select {
			case r := <-slot:
				if r.l != nil {
					for _, rn := range r.l.renames {
						os.Remove(rn.From)
					}
				}
			default:
			}
		}
	}()
	sem := make(chan struct{}, workers)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i, d := range todo {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				slots[i] <- land(d)
				<-sem
			}()
		}
	}()
	for i := range todo {
		select {
		case r := <-slots[i]:
			if err := emit(i, r); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// compareDeliveries orders deliveries as restatement does: by date, then by
// part (numerically when both parts are numbers), then by feed and file.
func compareDeliveries(a, b pipeline.Delivery) int {
	if c := cmp.Compare(a.Date, b.Date); c != 0 {
		return c
	}
	if c := ComparePart(a.Part, b.Part); c != 0 {
		return c
	}
	return cmp.Or(cmp.Compare(a.Feed.Name, b.Feed.Name), cmp.Compare(a.File, b.File))
}

// ComparePart orders the parts of one date's deliveries: no part first, then
// numeric parts by value, then other parts as text.
func ComparePart(a, b string) int {
	an, aerr := strconv.ParseUint(a, 10, 63)
	bn, berr := strconv.ParseUint(b, 10, 63)
	switch {
	case a == "" || b == "":
		return cmp.Compare(len(a), len(b))
	case aerr == nil && berr == nil:
		return cmp.Compare(an, bn)
	case aerr == nil:
		return -1
	case berr == nil:
		return 1
	}
	return cmp.Compare(a, b)
}
