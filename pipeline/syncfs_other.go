//go:build !linux

package pipeline

import (
	"os"
	"path/filepath"
)

// syncFiles makes the bytes of a batch of files durable: without syncfs(2),
// an fsync each.
func syncFiles(_ string, rs []Rename) error {
	for _, r := range rs {
		f, err := os.OpenFile(r.From, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// syncDirs syncs each directory a batch renamed into, once.
func syncDirs(_ string, rs []Rename) error {
	seen := map[string]bool{}
	for _, r := range rs {
		d := filepath.Dir(r.To)
		if !seen[d] {
			seen[d] = true
			if err := SyncDir(d); err != nil {
				return err
			}
		}
	}
	return nil
}
