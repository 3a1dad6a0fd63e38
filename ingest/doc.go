// Package ingest lands inbox deliveries as typed Parquet (SPEC §3, §6.1): it
// scans the inbox, parses and validates each new file, writes good rows under
// warehouse/landed and bad ones under warehouse/quarantine, and records every
// decision in the ingest log, so that rows read = rows landed + rows
// quarantined for every file.
package ingest
