// Package warehouse is the warehouse's storage (SPEC §6.1): its layout, the index
// of landed files and their compacted months, the parts and markers by which a
// date's results or a month's history become complete, the stored results'
// readers (history.sql and the Go that opens a stored date) and the history
// months. It stores and finds; it decides nothing of the rules.
//
// The line: package sql evaluates the rules and says which rows are in force
// (restatement, the split's superseded rows); warehouse says where files go,
// when a derived copy is up to date with what it was made from (KeptCopy), and
// publishes what a compute staged. Both use one DuckDB session (package duck);
// imports run one way: pipeline ← duck ← warehouse ← sql ← cmd. The split's
// units of deliveries are where the two meet: the warehouse writes and keeps
// each unit's rows with their key hashes (SplitFeed), sql ranks what each
// unit's deliveries supersede (SPEC §3.2) and loads a shard's rows in force.
package warehouse
