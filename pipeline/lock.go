package pipeline

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Lock is the warehouse's single-writer lock: an flock(2) on a file in the
// warehouse, so a killed run releases it with its process. The file holds a
// line naming the holder, for the run that finds it taken.
type Lock struct{ f *os.File }

// LockFile is the lock's name inside the warehouse.
const LockFile = "attain.lock"

// AcquireLock takes the lock of warehouse dir without waiting. When another
// process holds it, the error wraps ErrLocked and names the holder.
func AcquireLock(dir, holder string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: warehouse %s: %v", ErrUsage, dir, err)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%w: lock %s: %v", ErrUsage, path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			who := strings.TrimSpace(string(b))
			if who == "" {
				who = "an unknown process"
			}
			return nil, fmt.Errorf("%w: %s is held by %s", ErrLocked, path, who)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(holder+"\n"), 0)
		f.Sync()
	}
	return &Lock{f: f}, nil
}

// Release lets the next run in. The holder line is cleared first so that a
// reader never names a process that has gone.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	l.f.Truncate(0)
	err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}
