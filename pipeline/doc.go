// Package pipeline holds attain's domain: the eleven feeds and their columns,
// calendar dates, the run configuration and the errors that decide a run's exit
// code. It imports no adapter package; ingest, sql and reports meet only through
// the types here and the files they leave on disk.
package pipeline
