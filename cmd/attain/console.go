package main

import (
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// console is standard error on a terminal, shared by the log and at most one
// progress bar (SPEC §7): a log line clears the bar, is written whole, and the
// bar is drawn again below it, so that the two never overwrite each other; the
// bar is redrawn at most every 100 ms, and reaches its total when finished.
type console struct {
	mu  sync.Mutex
	w   io.Writer
	bar *progressbar.ProgressBar
}

// Write writes a log line above the bar.
func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bar != nil {
		c.bar.Clear()
	}
	n, err := c.w.Write(p)
	if c.bar != nil {
		c.bar.RenderBlank()
	}
	return n, err
}

// progress is a bar on the console; nil when the console is nil (not a
// terminal), and every method of a nil progress does nothing.
type progress struct {
	c   *console
	bar *progressbar.ProgressBar
}

// newProgress starts a bar of total steps.
func (c *console) newProgress(what string, total int) *progress {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(c.w), progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionSetPredictTime(true))
	return &progress{c: c, bar: c.bar}
}

// newSpinner starts a line of work without a known total, described as it goes.
func (c *console) newSpinner(what string) *progress {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bar = progressbar.NewOptions(-1, progressbar.OptionSetWriter(c.w), progressbar.OptionSetDescription(what),
		progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionSpinnerType(14), progressbar.OptionShowElapsedTimeOnFinish())
	return &progress{c: c, bar: c.bar}
}

// describe says what the bar's work is doing now.
func (p *progress) describe(what string) { p.do(func(b *progressbar.ProgressBar) { b.Describe(what) }) }

// set moves the bar to done steps.
func (p *progress) set(done int) { p.do(func(b *progressbar.ProgressBar) { b.Set(done) }) }

// add moves the bar one step.
func (p *progress) add() { p.addN(1) }

// addN moves the bar n steps.
func (p *progress) addN(n int) { p.do(func(b *progressbar.ProgressBar) { b.Add(n) }) }

// do runs f on the bar, holding the console.
func (p *progress) do(f func(*progressbar.ProgressBar)) {
	if p == nil {
		return
	}
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	f(p.bar)
}

// finish draws the bar at its total, ends its line and takes it off the
// console.
func (p *progress) finish() {
	if p == nil {
		return
	}
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	p.bar.Finish()
	p.c.w.Write([]byte("\n"))
	if p.c.bar == p.bar {
		p.c.bar = nil
	}
}
