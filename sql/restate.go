package sql

import (
	"strings"
	"text/template"

	"attain/pipeline"
)

// restated is a feed as restate.sql restates it.
type restated struct {
	Name string
	Key  string // the feed's key columns (SPEC §3.2), as SQL
	View bool   // rows in force as a view, not a copy (revenue: too big to copy)
}

// restateTemplate renders restate.sql: one block a feed, its key from
// pipeline.Feeds, so the two cannot disagree.
var restateTemplate = template.Must(template.New("restate.sql").ParseFS(files, "restate.sql"))

func restateFeeds() []restated {
	var out []restated
	for _, f := range pipeline.Feeds {
		out = append(out, restated{Name: f.Name, Key: strings.Join(f.Key, ", "), View: f.Name == "revenue"})
	}
	return out
}

// source is an embedded .sql file as it runs: restate.sql rendered for the feeds.
func source(file string) (string, error) {
	if file == "restate.sql" {
		var b strings.Builder
		if err := restateTemplate.Execute(&b, restateFeeds()); err != nil {
			return "", err
		}
		return b.String(), nil
	}
	b, err := files.ReadFile(file)
	return string(b), err
}
