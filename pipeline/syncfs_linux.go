package pipeline

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// syncFiles makes the bytes of a batch of files durable: on Linux one
// syncfs(2) of the file system that holds dir.
func syncFiles(dir string, _ []Rename) error { return syncFS(dir) }

// syncDirs makes a batch of renames durable: one syncfs(2) again.
func syncDirs(dir string, _ []Rename) error { return syncFS(dir) }

func syncFS(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := unix.Syncfs(int(d.Fd())); err != nil {
		return fmt.Errorf("syncfs %s: %w", dir, err)
	}
	return nil
}
