// Package render writes what analysts open (SPEC §6.2, §6.3): a CSV file per
// result table and the renewal-risk workbook. Writers take rows and an
// io.Writer; only the command touches paths.
package render
