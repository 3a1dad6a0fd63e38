package sql

import (
	"regexp"
	"strings"
	"testing"

	"attain/pipeline"
)

// TestRestateKeysAreTheFeedKeys: restate.sql, as it runs, restates every feed
// by its key, once for the repeated-key hash and once for the ranking; both
// must be the key of SPEC §3.2 as pipeline.Feeds holds it.
func TestRestateKeysAreTheFeedKeys(t *testing.T) {
	src, err := source("restate.sql", nil, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range pipeline.Feeds {
		key := strings.Join(f.Key, ", ")
		hash := regexp.MustCompile(`SELECT hash\(([^)]*)\) AS h FROM landed_` + f.Name + ` `).FindStringSubmatch(src)
		if hash == nil || hash[1] != key {
			t.Errorf("%s: repeated keys hash (%v), want (%s)", f.Name, hash, key)
		}
		rank := regexp.MustCompile(`(?s)CREATE OR REPLACE TEMP TABLE superseded_` + f.Name + ` AS.*?PARTITION BY ([^\n]*)\n`).FindStringSubmatch(src)
		if rank == nil || rank[1] != key {
			t.Errorf("%s: ranked by (%v), want (%s)", f.Name, rank, key)
		}
	}
}
