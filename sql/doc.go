// Package sql holds the rules of SPEC §5 as DuckDB SQL, one concern a file, and the
// Go that runs them: it loads the landed Parquet and the catalog into an in-memory
// DuckDB, evaluates every organization at the as-of date (and at the other dates the
// rules need) in one pass, and writes the result tables of SPEC §6.2 as Parquet.
//
// The .sql files run as they are in a DuckDB shell once the catalog and landed
// tables exist and the variables they read with getvariable are set.
package sql
