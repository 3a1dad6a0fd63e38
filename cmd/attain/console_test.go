package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestConsole: log lines written while a bar runs come out whole, the bar is
// redrawn at most every 100 ms however often it moves (not once a file), and
// a finished bar shows its total.
func TestConsole(t *testing.T) {
	var out bytes.Buffer
	c := &console{w: &out}
	log := slog.New(slog.NewTextHandler(c, nil))
	bar := c.newProgress("ingest", 10000)
	for i := 1; i <= 10000; i++ {
		bar.set(i)
		if i%2500 == 0 {
			log.Info("feed ingested", "feed", "revenue", "i", i)
		}
	}
	bar.finish()
	s := out.String()
	for _, i := range []string{"2500", "5000", "7500", "10000"} {
		if !strings.Contains(s, `msg="feed ingested" feed=revenue i=`+i+"\n") {
			t.Errorf("log line %s is not whole in %q", i, s)
		}
	}
	if !strings.Contains(s, "100%") || !strings.Contains(s, "(10000/10000") {
		t.Errorf("finished bar does not show its total: %q", s[max(0, len(s)-200):])
	}
	if len(s) > 8<<10 {
		t.Errorf("%d bytes for 10,000 steps: the bar is not throttled", len(s))
	}
	var none *console // not a terminal: no bar, and nothing breaks
	none.newProgress("x", 3).add()
}
