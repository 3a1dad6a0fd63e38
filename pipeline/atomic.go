package pipeline

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// TempSuffix marks files being written. A crash can leave them behind;
// RemoveTemps clears them under the warehouse lock (held alone: a shard
// process's ingest clears only ingest's own, ingest.Options.Shared).
const TempSuffix = ".tmp"

// TempName is where path is written before it is renamed into place: in its
// directory, under a name that starts with "." (SPEC §6.1: directory readers
// such as Spark, Trino, pyarrow and Polars skip such names, so they never read
// a file that is not in place) and ends with TempSuffix. With unique, the
// name is the process's own, for files two processes may write at once.
func TempName(path string, unique bool) string {
	dir, base := filepath.Split(path)
	if unique {
		base = fmt.Sprintf("%s.%d", base, os.Getpid())
	}
	return filepath.Join(dir, "."+base+TempSuffix)
}

// AtomicFile is a file that appears under its final name only when complete:
// it is written to a temporary name in the same directory, synced and renamed
// (SPEC §6.1).
type AtomicFile struct {
	*os.File
	path string
	done bool
}

// CreateAtomic starts writing path, creating its directory as needed.
func CreateAtomic(path string) (*AtomicFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	// the process's own temporary name: two processes may write one file
	// (the readers' files of history.sql, a marker) at once
	f, err := os.Create(TempName(path, true))
	if err != nil {
		return nil, err
	}
	return &AtomicFile{File: f, path: path}, nil
}

// Commit syncs the file, renames it to its final name and syncs the directory.
func (a *AtomicFile) Commit() error {
	if a.done {
		return errors.New("atomic file already committed or aborted")
	}
	a.done = true
	if err := a.File.Sync(); err != nil {
		a.File.Close()
		os.Remove(a.File.Name())
		return err
	}
	if err := a.File.Close(); err != nil {
		os.Remove(a.File.Name())
		return err
	}
	if err := os.Rename(a.File.Name(), a.path); err != nil {
		os.Remove(a.File.Name())
		return err
	}
	return SyncDir(filepath.Dir(a.path))
}

// Abort closes and removes the temporary file. It is a no-op after Commit,
// so it can be deferred.
func (a *AtomicFile) Abort() {
	if a.done {
		return
	}
	a.done = true
	a.File.Close()
	os.Remove(a.File.Name())
}

// WriteFileAtomic writes data to path atomically.
func WriteFileAtomic(path string, data []byte) error {
	f, err := CreateAtomic(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Commit()
}

// SyncDir makes a directory's entries (a rename, a removal) durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// RemoveTemps deletes the temporary files an interrupted run left under dir.
func RemoveTemps(dir string) error {
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, TempSuffix) {
			return os.Remove(p)
		}
		return nil
	})
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// Rename is a closed temporary file (From) waiting to be put in place (To).
type Rename struct{ From, To string }

// Unsynced closes the file without syncing or renaming it, for CommitRenames
// to make durable together with others: one sync of the file system for a
// batch of small files costs what one file's fsync does.
func (a *AtomicFile) Unsynced() (Rename, error) {
	if a.done {
		return Rename{}, errors.New("atomic file already committed or aborted")
	}
	a.done = true
	if err := a.File.Close(); err != nil {
		os.Remove(a.File.Name())
		return Rename{}, err
	}
	return Rename{From: a.File.Name(), To: a.path}, nil
}

// CommitRenames puts a batch of Unsynced files in place, each only after its
// bytes are durable: the file system under dir is synced, the files renamed in
// order, and it is synced again for the renames.
func CommitRenames(dir string, rs []Rename) error {
	if len(rs) == 0 {
		return nil
	}
	if err := syncFiles(dir, rs); err != nil {
		return err
	}
	for _, r := range rs {
		if err := os.Rename(r.From, r.To); err != nil {
			return err
		}
	}
	return syncDirs(dir, rs)
}
