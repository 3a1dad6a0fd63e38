package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"attain/pipeline"
	"attain/warehouse"
)

var asOf = pipeline.MustDate("2026-11-23")

// inbox writes files into a new inbox directory.
func inbox(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func ingestOnce(t testing.TB, in, wh string, opts ...func(*Options)) (*Summary, error) {
	t.Helper()
	opt := Options{Inbox: in, Warehouse: wh, AsOf: asOf, MaxBadFraction: 0.5, RunID: "test",
		Now: func() time.Time { return time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC) }}
	for _, o := range opts {
		o(&opt)
	}
	return Run(context.Background(), opt)
}

// query runs SQL in a fresh in-memory DuckDB and returns rows as strings.
func query(t testing.TB, q string, args ...any) [][]string {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = "NULL"
			if v.Valid {
				row[i] = v.String
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func landedGlob(wh, feed string) string {
	return fmt.Sprintf("read_parquet('%s', hive_partitioning=true)", filepath.Join(wh, "landed", feed, "*", "*.parquet"))
}

func quarantined(wh string) string {
	return fmt.Sprintf("read_parquet('%s', hive_partitioning=true)", filepath.Join(wh, "quarantine", "*", "*", "*.parquet"))
}

// TestLandsEveryFeedTyped: good rows of each feed land with the types of
// SPEC §3.1, read back through DuckDB (a second reader, as parquet-go's date
// handling has been wrong before).
func TestLandsEveryFeedTyped(t *testing.T) {
	in := inbox(t, map[string]string{
		"organizations_2026-11-23.csv": "ORG_ID,org_name,Country\n o-1 ,\"Contoso, Ltd\",gb\no-2,Fabrikam,\n",
		"memberships_2026-11-23.csv":   "org_id,level,purchased_on,anniversary_on\no-1,GOLD,2026-01-15,2027-01-15\n",
		"customers_2026-11-23.csv":     "org_id,customer_id,product,added_on,attribution\no-1,c-1,AZURE,2026-03-01,dpor\no-1,c-2,O365,2026-03-02,\n",
		"revenue_2026-11-23.csv":       "transaction_id,org_id,customer_id,product,amount,currency,booked_on,attribution\nt-1,o-1,c-1,AZURE,-12.34,eur,2026-11-20,transacting\nt-2,o-1,,AZURE,1000000.1234,USD,2026-02-28,\n",
		"fx_rates_2026-11-23.csv":      "currency,month,usd_per_unit\nEUR,2026-11,1.0825\n",
		"usage_2026-11-23.csv":         "org_id,customer_id,product,month,active_users,attribution\no-1,c-2,O365,2026-10,2500,delegated_admin\n",
		"seats_2026-11-23.csv":         "org_id,customer_id,product,snapshot_on,deployed_seats,attribution\no-1,c-1,EMS,2026-11-01,300,csp\n",
		"exams_2026-11-23.csv":         "individual_id,code,passed_on,expires_on\ni-1,70-533,2026-11-22,2028-11-22\ni-1,70-532,2025-01-01,\n",
		"assessments_2026-11-23.csv":   "individual_id,code,passed_on,expires_on\ni-2,DA-FOUNDATIONAL,2026-06-30,\n",
		"associations_2026-11-23.csv":  "individual_id,org_id,event,event_at\ni-1,o-1,associate,2026-11-22T23:30:00+02:00\ni-1,,disassociate,2026-11-23T08:00:00.5Z\n",
		"overrides_2026-11-23_2.csv":   "org_id,competency_id,level,granted_on,expires_on,reason,granted_by\no-2,cloud-platform,silver,2026-11-01,,audit,pm-1\n",
	})
	wh := t.TempDir()
	sum, err := ingestOnce(t, in, wh)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Landed != 11 {
		t.Fatalf("landed %d files, want 11", sum.Landed)
	}
	tests := []struct {
		feed, sql string
		want      [][]string
	}{
		{"organizations", "SELECT org_id, org_name, country, source_line FROM %s ORDER BY org_id",
			[][]string{{"o-1", "Contoso, Ltd", "GB", "2"}, {"o-2", "Fabrikam", "NULL", "3"}}},
		{"memberships", "SELECT level, typeof(purchased_on), purchased_on, anniversary_on FROM %s",
			[][]string{{"gold", "DATE", "2026-01-15T00:00:00Z", "2027-01-15T00:00:00Z"}}},
		{"revenue", "SELECT transaction_id, typeof(amount), amount::VARCHAR, currency, booked_on, customer_id, attribution, delivery_date FROM %s ORDER BY 1",
			[][]string{
				{"t-1", "DECIMAL(18,4)", "-12.3400", "EUR", "2026-11-20T00:00:00Z", "c-1", "transacting", "2026-11-23T00:00:00Z"},
				{"t-2", "DECIMAL(18,4)", "1000000.1234", "USD", "2026-02-28T00:00:00Z", "NULL", "NULL", "2026-11-23T00:00:00Z"}}},
		{"fx_rates", "SELECT typeof(month), month, typeof(usd_per_unit), usd_per_unit FROM %s",
			[][]string{{"DATE", "2026-11-01T00:00:00Z", "DOUBLE", "1.0825"}}},
		{"usage", "SELECT month, typeof(active_users), active_users FROM %s",
			[][]string{{"2026-10-01T00:00:00Z", "BIGINT", "2500"}}},
		{"seats", "SELECT snapshot_on, deployed_seats, attribution FROM %s",
			[][]string{{"2026-11-01T00:00:00Z", "300", "csp"}}},
		{"exams", "SELECT code, passed_on, expires_on FROM %s ORDER BY code",
			[][]string{{"70-532", "2025-01-01T00:00:00Z", "NULL"}, {"70-533", "2026-11-22T00:00:00Z", "2028-11-22T00:00:00Z"}}},
		{"assessments", "SELECT code, passed_on FROM %s", [][]string{{"DA-FOUNDATIONAL", "2026-06-30T00:00:00Z"}}},
		{"associations", "SELECT event, typeof(event_at), strftime(event_at, '%%Y-%%m-%%d %%H:%%M:%%S.%%f'), org_id FROM %s ORDER BY event_at",
			[][]string{{"associate", "TIMESTAMP", "2026-11-22 21:30:00.000000", "o-1"}, {"disassociate", "TIMESTAMP", "2026-11-23 08:00:00.500000", "NULL"}}},
		{"overrides", "SELECT competency_id, level, expires_on, source_part, source_file FROM %s",
			[][]string{{"cloud-platform", "silver", "NULL", "2", "overrides_2026-11-23_2.csv"}}},
	}
	for _, tt := range tests {
		t.Run(tt.feed, func(t *testing.T) {
			got := query(t, fmt.Sprintf(tt.sql, landedGlob(wh, tt.feed)))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

// TestRowRules: each row rule of SPEC §3.3 quarantines the row with its own
// reason, and the good rows beside it land.
func TestRowRules(t *testing.T) {
	const revH = "transaction_id,org_id,customer_id,product,amount,currency,booked_on,attribution\n"
	const good = "t-0,o-1,c-1,AZURE,1,USD,2026-11-01,dpor\n"
	tests := []struct {
		name, file, body string
		column, reason   string
	}{
		{"field count", "revenue_2026-11-23.csv", revH + good + "t-1,o-1,c-1,AZURE,1,USD,2026-11-01\n",
			"", `revenue_2026-11-23.csv:3: expected 8 fields, got 7`},
		{"missing required", "revenue_2026-11-23.csv", revH + good + "t-1,,c-1,AZURE,1,USD,2026-11-01,dpor\n",
			"org_id", `revenue_2026-11-23.csv:3: org_id: required value is missing`},
		{"bad date", "revenue_2026-11-23.csv", revH + good + "t-1,o-1,c-1,AZURE,1,USD,2026-13-01,dpor\n",
			"booked_on", `revenue_2026-11-23.csv:3: booked_on: "2026-13-01" is not a date (YYYY-MM-DD)`},
		{"date that does not exist", "revenue_2026-11-23.csv", revH + good + "t-1,o-1,c-1,AZURE,1,USD,2026-02-29,dpor\n",
			"booked_on", `revenue_2026-11-23.csv:3: booked_on: "2026-02-29" is not a date (YYYY-MM-DD)`},
		{"date out of range", "revenue_2026-11-23.csv", revH + good + "t-1,o-1,c-1,AZURE,1,USD,0026-01-01,dpor\n",
			"booked_on", `revenue_2026-11-23.csv:3: booked_on: "0026-01-01" is out of range (1900-01-01 to 2999-12-31)`},
		{"money with 5 places", "revenue_2026-11-23.csv", revH + good + "t-1,o-1,c-1,AZURE,1.00001,USD,2026-11-01,dpor\n",
			"amount", `revenue_2026-11-23.csv:3: amount: "1.00001" is not an amount (a decimal with at most 4 places)`},
		{"money of 15 digits", "revenue_2026-11-23.csv", revH + good + "t-1,o-1,c-1,AZURE,-100000000000000,USD,2026-11-01,dpor\n",
			"amount", `revenue_2026-11-23.csv:3: amount: "-100000000000000" is out of range: an amount has at most 14 digits before the point`},
		{"money with thousands separator", "revenue_2026-11-23.csv", revH + good + "t-1,o-1,c-1,AZURE,\"1,000\",USD,2026-11-01,dpor\n",
			"amount", `revenue_2026-11-23.csv:3: amount: "1,000" is not an amount (a decimal with at most 4 places)`},
		{"currency", "revenue_2026-11-23.csv", revH + good + "t-1,o-1,c-1,AZURE,1,US,2026-11-01,dpor\n",
			"currency", `revenue_2026-11-23.csv:3: currency: "US" is not a currency code (3 letters)`},
		{"attribution", "revenue_2026-11-23.csv", revH + good + "t-1,o-1,c-1,AZURE,1,USD,2026-11-01,partner\n",
			"attribution", `revenue_2026-11-23.csv:3: attribution: "partner" is not one of dpor, transacting, delegated_admin, fasttrack, cpor, csp`},
		{"code", "revenue_2026-11-23.csv", revH + good + "t-1,o-1,c-1,AZ URE,1,USD,2026-11-01,dpor\n",
			"product", `revenue_2026-11-23.csv:3: product: "AZ URE" is not a code (1–64 of A-Z a-z 0-9 . _ -)`},
		{"id too long", "revenue_2026-11-23.csv", revH + good + strings.Repeat("x", 65) + ",o-1,c-1,AZURE,1,USD,2026-11-01,dpor\n",
			"transaction_id", `revenue_2026-11-23.csv:3: transaction_id: "` + strings.Repeat("x", 65) + `" is longer than 64 characters`},
		{"id not printable", "revenue_2026-11-23.csv", revH + good + "t\x01,o-1,c-1,AZURE,1,USD,2026-11-01,dpor\n",
			"transaction_id", `revenue_2026-11-23.csv:3: transaction_id: "t\x01" has a character that is not printable`},
		{"key repeated", "revenue_2026-11-23.csv", revH + good + "t-0,o-2,c-9,AZURE,5,USD,2026-11-02,dpor\n",
			"transaction_id", `revenue_2026-11-23.csv:3: transaction_id: key repeats line 2 of this file`},
		{"malformed quoting", "revenue_2026-11-23.csv", revH + good + "t-1,o\"1,c-1,AZURE,1,USD,2026-11-01,dpor\n",
			"", `revenue_2026-11-23.csv:3: field 2 has a quote but does not start with one`},
		{"negative int", "usage_2026-11-23.csv", "org_id,customer_id,product,month,active_users\no-1,c-1,O365,2026-10,5\no-1,c-1,O365,2026-09,-5\n",
			"active_users", `usage_2026-11-23.csv:3: active_users: "-5" is not a whole number ≥ 0`},
		{"month", "usage_2026-11-23.csv", "org_id,customer_id,product,month,active_users\no-1,c-1,O365,2026-10,5\no-1,c-1,O365,2026-13,5\n",
			"month", `usage_2026-11-23.csv:3: month: "2026-13" is not a month (YYYY-MM)`},
		{"rate of 13 places", "fx_rates_2026-11-23.csv", "currency,month,usd_per_unit\nEUR,2026-10,1.123456789012\nGBP,2026-10,0.0000000000001\n",
			"usd_per_unit", `fx_rates_2026-11-23.csv:3: usd_per_unit: "0.0000000000001" has more than 12 decimal places (a rate is converted exactly at 12)`},
		{"money of 15 digits and a fraction", "revenue_2026-11-23.csv", revH + good + "t-1,o-1,c-1,AZURE,-100000000000000.5,USD,2026-11-01,dpor\n",
			"amount", `revenue_2026-11-23.csv:3: amount: "-100000000000000.5" is out of range: an amount has at most 14 digits before the point`},
		{"rate not positive", "fx_rates_2026-11-23.csv", "currency,month,usd_per_unit\nEUR,2026-10,1.1\nGBP,2026-10,0\n",
			"usd_per_unit", `fx_rates_2026-11-23.csv:3: usd_per_unit: "0" is not a rate (a decimal > 0)`},
		{"expires before passed", "exams_2026-11-23.csv", "individual_id,code,passed_on,expires_on\ni-1,70-533,2026-01-01,\ni-2,70-533,2026-01-01,2026-01-01\n",
			"expires_on", `exams_2026-11-23.csv:3: expires_on: "2026-01-01" is not after passed_on`},
		{"anniversary before purchase", "memberships_2026-11-23.csv", "org_id,level,purchased_on,anniversary_on\no-1,gold,2026-01-01,2027-01-01\no-2,gold,2026-01-01,2025-01-01\n",
			"anniversary_on", `memberships_2026-11-23.csv:3: anniversary_on: "2025-01-01" is not after purchased_on`},
		{"level", "memberships_2026-11-23.csv", "org_id,level,purchased_on,anniversary_on\no-1,gold,2026-01-01,2027-01-01\no-2,platinum,2026-01-01,2027-01-01\n",
			"level", `memberships_2026-11-23.csv:3: level: "platinum" is not one of silver, gold`},
		{"associate without org", "associations_2026-11-23.csv", "individual_id,org_id,event,event_at\ni-1,o-1,associate,2026-11-01T00:00:00Z\ni-2,,associate,2026-11-01T00:00:00Z\n",
			"org_id", `associations_2026-11-23.csv:3: org_id: required when event is associate`},
		{"timestamp", "associations_2026-11-23.csv", "individual_id,org_id,event,event_at\ni-1,o-1,associate,2026-11-01T00:00:00Z\ni-2,o-1,associate,2026-11-01 10:00\n",
			"event_at", `associations_2026-11-23.csv:3: event_at: "2026-11-01 10:00" is not a timestamp (RFC 3339, e.g. 2026-11-23T14:05:00Z)`},
		{"offset hour 24", "associations_2026-11-23.csv", "individual_id,org_id,event,event_at\ni-1,o-1,associate,2026-11-01T00:00:00+23:59\ni-2,o-1,associate,2026-11-01T10:00:00+24:00\n",
			"event_at", `associations_2026-11-23.csv:3: event_at: "2026-11-01T10:00:00+24:00" is not a timestamp (RFC 3339, e.g. 2026-11-23T14:05:00Z)`},
		{"override expiry", "overrides_2026-11-23.csv", "org_id,competency_id,level,granted_on,expires_on\no-1,cloud-platform,gold,2026-01-01,\no-1,datacenter,gold,2026-01-01,2025-12-31\n",
			"expires_on", `overrides_2026-11-23.csv:3: expires_on: "2025-12-31" is not after granted_on`},
		{"country", "organizations_2026-11-23.csv", "org_id,org_name,country\no-1,A,US\no-2,B,USA\n",
			"country", `organizations_2026-11-23.csv:3: country: "USA" is not a country code (ISO 3166-1 alpha-2)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := inbox(t, map[string]string{tt.file: tt.body})
			wh := t.TempDir()
			sum, err := ingestOnce(t, in, wh)
			if err != nil {
				t.Fatal(err)
			}
			e := sum.Entries[0]
			if e.RowsRead != 2 || e.RowsLanded != 1 || e.RowsQuarantined != 1 {
				t.Errorf("read/landed/quarantined = %d/%d/%d, want 2/1/1", e.RowsRead, e.RowsLanded, e.RowsQuarantined)
			}
			got := query(t, "SELECT file, line, raw, coalesce(\"column\", ''), reason FROM "+quarantined(wh))
			raw := strings.TrimSuffix(strings.SplitN(tt.body, "\n", 3)[2], "\n")
			want := [][]string{{tt.file, "3", raw, tt.column, tt.reason}}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %q\nwant %q", got, want)
			}
		})
	}
}

func gz(t testing.TB, s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

// TestFileRules: a file that cannot be read whole is rejected (SPEC §3.3):
// nothing of it lands, its rows go to quarantine, the other files land, and
// the run ends with ErrRejected.
func TestFileRules(t *testing.T) {
	const exH = "individual_id,code,passed_on,expires_on\n"
	truncated := gz(t, exH+strings.Repeat("i-1,70-533,2026-01-01,\n", 1000))
	tests := []struct {
		name, file, body string
		read             int64
		reason           string
	}{
		{"no header", "exams_2026-11-23.csv", "", 0, "exams_2026-11-23.csv: no header row"},
		{"missing required column", "exams_2026-11-23.csv", "individual_id,passed_on\ni-1,2026-01-01\n", 0,
			"exams_2026-11-23.csv: line 1: missing required column(s): code"},
		{"column twice", "exams_2026-11-23.csv", "individual_id,code,CODE,passed_on\n", 0,
			`exams_2026-11-23.csv: line 1: header names column "code" twice`},
		{"not utf-8", "exams_2026-11-23.csv", exH + "i-1,70-533,2026-01-01,\ni-\xe9,70-533,2026-01-01,\n", 1,
			"exams_2026-11-23.csv: line 3: not valid UTF-8"},
		{"bad gzip", "exams_2026-11-23.csv.gz", "this is not gzip", 0,
			"exams_2026-11-23.csv.gz: not a readable gzip file: gzip: invalid header"},
		{"truncated gzip", "exams_2026-11-23.csv.gz", truncated[:len(truncated)/2], -1,
			"exams_2026-11-23.csv.gz: cannot be read: unexpected EOF"},
		{"too many bad rows", "exams_2026-11-23.csv", exH + "i-1,70-533,2026-01-01,\ni-2,70-533,bad,\ni-3,70-533,bad,\n", 3,
			"exams_2026-11-23.csv: 2 of 3 rows are bad (66.7%), more than --max-bad-fraction 0.5 allows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := inbox(t, map[string]string{tt.file: tt.body,
				"assessments_2026-11-23.csv": exH + "i-1,DA-FOUNDATIONAL,2026-01-01,\n"})
			wh := t.TempDir()
			sum, err := ingestOnce(t, in, wh)
			if !errors.Is(err, pipeline.ErrRejected) {
				t.Fatalf("err = %v, want ErrRejected", err)
			}
			if sum.Landed != 1 || sum.Rejected != 1 {
				t.Errorf("landed %d rejected %d, want 1 and 1", sum.Landed, sum.Rejected)
			}
			var e Entry
			for _, x := range sum.Entries {
				if x.File == tt.file {
					e = x
				}
			}
			if e.Status != StatusRejected || e.Reason != tt.reason {
				t.Errorf("got %s %q\nwant rejected %q", e.Status, e.Reason, tt.reason)
			}
			if tt.read >= 0 && e.RowsRead != tt.read {
				t.Errorf("rows read %d, want %d", e.RowsRead, tt.read)
			}
			if e.RowsLanded != 0 || e.RowsRead != e.RowsQuarantined {
				t.Errorf("read/landed/quarantined = %d/%d/%d, want nothing landed", e.RowsRead, e.RowsLanded, e.RowsQuarantined)
			}
			if got, _ := filepath.Glob(filepath.Join(wh, "landed", "exams", "*", "*")); len(got) > 0 {
				t.Errorf("a rejected file landed something: %v", got)
			}
			if got := query(t, "SELECT count(*) FROM "+landedGlob(wh, "assessments")); got[0][0] != "1" {
				t.Errorf("the good file beside it landed %s rows", got[0][0])
			}
		})
	}
}

// collider is the one-pass key log with every key hashing alike, as if all of
// them collided.
func collider() keyChecker { return &hashLog{hash: func([]byte) uint64 { return 42 }} }

// TestHashCollisionFallsBackToExactKeys: a file whose key hashes repeat lands
// again comparing exact keys (a repeated key and keys that only share a hash
// alike), and lands as it would have otherwise.
func TestHashCollisionFallsBackToExactKeys(t *testing.T) {
	const h = "transaction_id,org_id,product,amount,currency,booked_on\n"
	body := h + "t-1,o-1,AZURE,1,USD,2026-11-20\nt-2,o-1,AZURE,2,USD,2026-11-20\nt-1,o-1,AZURE,3,USD,2026-11-20\nt-3,o-1,AZURE,x,USD,2026-11-20\n"
	in := inbox(t, map[string]string{"revenue_2026-11-20.csv": body})
	d, _ := pipeline.ParseDeliveryName("revenue_2026-11-20.csv")
	for name, keys := range map[string]func() keyChecker{
		"hashes":    nil,
		"collision": collider,
	} {
		t.Run(name, func(t *testing.T) {
			wh := t.TempDir()
			l := &landing{wh: wh, d: d, path: filepath.Join(in, "revenue_2026-11-20.csv"), maxBad: 1, keys: keys}
			if err := l.land(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := pipeline.CommitRenames(wh, l.renames); err != nil { // as Run does
				t.Fatal(err)
			}
			if l.read != 4 || l.landed != 2 || l.quarantined != 2 {
				t.Errorf("read/landed/quarantined %d/%d/%d, want 4/2/2", l.read, l.landed, l.quarantined)
			}
			got := query(t, "SELECT line, reason FROM "+quarantined(wh)+" ORDER BY line")
			want := [][]string{{"4", "revenue_2026-11-20.csv:4: transaction_id: key repeats line 2 of this file"},
				{"5", `revenue_2026-11-20.csv:5: amount: "x" is not an amount (a decimal with at most 4 places)`}}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("quarantine %q", got)
			}
		})
	}
}

// TestRejectedFileKeepsRowReasons: in a file rejected for its share of bad
// rows, each bad row keeps its own reason (a repeated key too); the good ones
// carry the rejection.
func TestRejectedFileKeepsRowReasons(t *testing.T) {
	body := "individual_id,code,passed_on,expires_on\ni-1,70-533,2026-01-01,\ni-1,70-533,2026-01-01,\ni-2,70-533,bad,\n"
	in := inbox(t, map[string]string{"exams_2026-11-23.csv": body})
	wh := t.TempDir()
	if _, err := ingestOnce(t, in, wh); !errors.Is(err, pipeline.ErrRejected) {
		t.Fatalf("err = %v, want ErrRejected", err)
	}
	got := query(t, "SELECT line, reason FROM "+quarantined(wh)+" ORDER BY line")
	want := [][]string{
		{"2", "exams_2026-11-23.csv:2: file rejected: 2 of 3 rows are bad (66.7%), more than --max-bad-fraction 0.5 allows"},
		{"3", "exams_2026-11-23.csv:3: individual_id,code,passed_on: key repeats line 2 of this file"},
		{"4", `exams_2026-11-23.csv:4: passed_on: "bad" is not a date (YYYY-MM-DD)`},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestHashLogRepeated: the hashes kept more than once, and only those, come
// back — zero (the set's free mark) included, and many hashes in one bucket.
func TestHashLogRepeated(t *testing.T) {
	x := &hashLog{}
	add := func(hs ...uint64) {
		for _, h := range hs {
			x.buckets[h>>56] = append(x.buckets[h>>56], h)
		}
	}
	add(0, 7, 0, 1<<56|3, 9)
	want := map[uint64]struct{}{0: {}, 7: {}}
	for i := uint64(1); i <= 5000; i++ { // one bucket, colliding low bits
		add(i << 20)
		if i%1000 == 0 {
			add(i << 20)
			want[i<<20] = struct{}{}
		}
	}
	add(7, 7, 0xff<<56|1, 0xff<<56|2)
	if got := x.repeated(); !reflect.DeepEqual(got, want) {
		t.Errorf("repeated %v, want %v", got, want)
	}
}

// TestOddInboxFiles: a FIFO named like a delivery is left alone (opening it
// would block the run for good); a dangling symlink and a file that cannot be
// opened are rejected with their reasons while the other files land (SPEC
// §3.3), once; a symlinked file is skipped by the run after the one that
// landed it.
func TestOddInboxFiles(t *testing.T) {
	// each file's content its own: a content already landed is skipped
	good := func(name string) string { return "org_id,org_name,country\no-1," + name + ",US\n" }
	in := inbox(t, map[string]string{"organizations_2026-11-20.csv": good("A"), "target.csv": good("T")})
	if err := syscall.Mkfifo(filepath.Join(in, "organizations_2026-11-21.csv"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(in, "gone.csv"), filepath.Join(in, "organizations_2026-11-22.csv")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(in, "target.csv"), filepath.Join(in, "organizations_2026-11-23.csv")); err != nil {
		t.Fatal(err)
	}
	locked := filepath.Join(in, "organizations_2026-11-19.csv")
	if err := os.WriteFile(locked, []byte(good("L")), 0o000); err != nil {
		t.Fatal(err)
	}
	unreadable := os.Getuid() != 0 // root opens any file
	wh := t.TempDir()
	done := make(chan struct{})
	var sum *Summary
	var err error
	go func() { sum, err = ingestOnce(t, in, wh); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("ingest hangs on the FIFO")
	}
	if !errors.Is(err, pipeline.ErrRejected) {
		t.Fatalf("error %v, want one that says input was rejected (exit 3)", err)
	}
	wantRejected := 1
	if unreadable {
		wantRejected = 2
	}
	if sum.Rejected != wantRejected || len(sum.Rejections) != wantRejected {
		t.Errorf("rejected %d: %q, want %d", sum.Rejected, sum.Rejections, wantRejected)
	}
	if !strings.Contains(strings.Join(sum.Rejections, "\n"), "organizations_2026-11-22.csv: cannot be read: no such file or directory") {
		t.Errorf("rejections %q do not name the dangling symlink", sum.Rejections)
	}
	if want := 4 - wantRejected; sum.Landed != want { // 20 and 23, and 19 as root
		t.Errorf("landed %d files, want %d", sum.Landed, want)
	}
	again, err := ingestOnce(t, in, wh)
	if err != nil {
		t.Fatal(err)
	}
	if again.Landed != 0 || again.Rejected != 0 {
		t.Errorf("second run landed %d and rejected %d, want 0 and 0 (the symlink is unchanged, the rejection said once)", again.Landed, again.Rejected)
	}
}

// TestHashLogRuns: past its limit a hash log writes sorted runs and merges
// them; it finds the same repeats as one held in memory (within a run, across
// runs, zero included), and a key repeated many times keeps one hash a run
// (a gzip bomb of one row stays small). Its runs are removed.
func TestHashLogRuns(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(7, 8))
	x := &hashLog{hash: func(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }, dir: dir, limit: 1000}
	want := map[uint64]struct{}{}
	seen := map[uint64]bool{}
	var buf [8]byte
	for i := 0; i < 20000; i++ {
		h := rng.Uint64() >> uint(rng.IntN(3)*30) // some small, some colliding
		if i%97 == 0 {
			h = 0
		}
		if seen[h] {
			want[h] = struct{}{}
		}
		seen[h] = true
		binary.LittleEndian.PutUint64(buf[:], h)
		x.check(buf[:], i)
	}
	if len(x.runs) < 10 {
		t.Fatalf("%d runs written, want one a thousand hashes", len(x.runs))
	}
	if got := x.repeated(); !reflect.DeepEqual(got, want) {
		t.Errorf("repeated: %d hashes, want %d", len(got), len(want))
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("runs left behind: %v", left)
	}

	bomb := &hashLog{hash: func([]byte) uint64 { return 42 }, dir: dir, limit: 1000}
	for i := 0; i < 100000; i++ {
		bomb.check([]byte("same"), i)
		if i == 50000 {
			var size int64
			for _, r := range bomb.runs {
				st, _ := os.Stat(r)
				size += st.Size()
			}
			if size != int64(8*len(bomb.runs)) {
				t.Errorf("a repeated key's runs hold %d bytes, want one hash a run", size)
			}
		}
	}
	if got := bomb.repeated(); !reflect.DeepEqual(got, map[uint64]struct{}{42: {}}) {
		t.Errorf("bomb: repeated %v", got)
	}
}

// TestRejectedPartWayKeepsItsRows: a file rejected part-way (invalid UTF-8
// after some rows; a gzip file cut short) quarantines the rows read up to
// there, as many as the log says (rows read = landed + quarantined).
func TestRejectedPartWayKeepsItsRows(t *testing.T) {
	var rows strings.Builder
	rows.WriteString("org_id,org_name,country\n")
	for i := range 3000 {
		fmt.Fprintf(&rows, "o-%d,Org %d,US\n", i, i)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(rows.String()))
	zw.Close()
	for name, body := range map[string]string{
		"organizations_2026-11-20.csv":    rows.String() + "o-x,\xff\xfe,US\n",
		"organizations_2026-11-21.csv.gz": string(gz.Bytes()[:gz.Len()/2]),
	} {
		t.Run(name, func(t *testing.T) {
			wh := t.TempDir()
			sum, err := ingestOnce(t, inbox(t, map[string]string{name: body}), wh)
			if !errors.Is(err, pipeline.ErrRejected) {
				t.Fatalf("err = %v, want ErrRejected", err)
			}
			e := sum.Entries[0]
			if e.RowsQuarantined == 0 || e.RowsRead != e.RowsLanded+e.RowsQuarantined {
				t.Fatalf("read %d, landed %d, quarantined %d", e.RowsRead, e.RowsLanded, e.RowsQuarantined)
			}
			got := query(t, "SELECT count(*) FROM "+quarantined(wh))
			if got[0][0] != fmt.Sprint(e.RowsQuarantined) {
				t.Errorf("quarantine holds %s rows, the log says %d", got[0][0], e.RowsQuarantined)
			}
		})
	}
}

// TestRejectedRedeliveryKeepsTheLanding: a re-delivery that is rejected keeps
// the earlier landing of its name and that landing's quarantine; its own rows
// are quarantined beside them, until a good re-delivery supersedes it.
func TestRejectedRedeliveryKeepsTheLanding(t *testing.T) {
	name := "organizations_2026-11-20.csv"
	in := inbox(t, map[string]string{name: "org_id,org_name,country\no-1,A,US\no-2,B,USA\n"})
	wh := t.TempDir()
	if _, err := ingestOnce(t, in, wh); err != nil {
		t.Fatal(err)
	}
	before := query(t, "SELECT line, reason FROM "+quarantined(wh))
	os.WriteFile(filepath.Join(in, name), []byte("org_id,org_name,country\no-1,A,USA\no-3,C,XXX\n"), 0o644) // every row bad: rejected
	if _, err := ingestOnce(t, in, wh); !errors.Is(err, pipeline.ErrRejected) {
		t.Fatalf("err = %v, want ErrRejected", err)
	}
	if got := query(t, "SELECT org_id FROM "+landedGlob(wh, "organizations")+" ORDER BY 1"); !reflect.DeepEqual(got, [][]string{{"o-1"}}) {
		t.Errorf("landed %v, want the earlier landing's o-1", got)
	}
	d, _ := pipeline.ParseDeliveryName(name)
	q := fmt.Sprintf("read_parquet('%s')", warehouse.QuarantinePath(wh, d))
	if got := query(t, "SELECT line, reason FROM "+q); !reflect.DeepEqual(got, before) {
		t.Errorf("the landing's quarantine %q, want it kept: %q", got, before)
	}
	if got := query(t, "SELECT count(*) FROM "+quarantined(wh)); got[0][0] != "3" {
		t.Errorf("%s quarantined rows in all, want the landing's 1 and the rejected file's 2", got[0][0])
	}
	os.WriteFile(filepath.Join(in, name), []byte("org_id,org_name,country\no-1,A,US\n"), 0o644)
	if _, err := ingestOnce(t, in, wh); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(wh, "quarantine", "*", "*", "*.parquet")); len(left) != 0 {
		t.Errorf("quarantine files %v after a good re-delivery, want none", left)
	}
}

// TestFileChangedWhileReadIsLeftForTheNextRun: a file rewritten in place while
// ingest reads it lands nothing (not a prefix, not a mix of two versions) and
// is not logged; the next run lands the new version whole.
func TestFileChangedWhileReadIsLeftForTheNextRun(t *testing.T) {
	var old, updated strings.Builder
	old.WriteString("org_id,org_name,country\n")
	updated.WriteString("org_id,org_name,country\n")
	for i := range 100 {
		fmt.Fprintf(&old, "o-%d,Old %d,US\n", i, i)
		fmt.Fprintf(&updated, "o-%d,New %d,US\n", i, i)
	}
	name := "organizations_2026-11-20.csv"
	in := inbox(t, map[string]string{name: old.String()})
	wh := t.TempDir()
	rewritten := false
	sum, err := ingestOnce(t, in, wh, func(o *Options) {
		o.fault = func(point string) error {
			if point == "rows" && !rewritten {
				rewritten = true
				time.Sleep(10 * time.Millisecond) // a later modification time
				return os.WriteFile(filepath.Join(in, name), []byte(updated.String()), 0o644)
			}
			return nil
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if !rewritten || sum.Changed != 1 || sum.Landed != 0 || len(sum.Entries) != 0 {
		t.Fatalf("rewritten %v, changed %d, landed %d, logged %d: want the file left alone", rewritten, sum.Changed, sum.Landed, len(sum.Entries))
	}
	if landed, _ := filepath.Glob(filepath.Join(wh, "landed", "*", "*", "*.parquet")); len(landed) != 0 {
		t.Fatalf("landed %v from a file that changed while read", landed)
	}
	sum, err = ingestOnce(t, in, wh)
	if err != nil || sum.Landed != 1 {
		t.Fatalf("next run: landed %d, %v", sum.Landed, err)
	}
	got := query(t, "SELECT count(*), count(*) FILTER (WHERE org_name LIKE 'New%') FROM "+landedGlob(wh, "organizations"))
	if !reflect.DeepEqual(got, [][]string{{"100", "100"}}) {
		t.Errorf("landed %v, want the 100 rows of the new version", got)
	}
}

// TestIngestStopsWhenTheLockIsLost: before each write to the ingest log the
// run asks whether it still holds the warehouse lock; when not, it stops
// without writing, so that two writers never interleave the log.
func TestIngestStopsWhenTheLockIsLost(t *testing.T) {
	in := inbox(t, map[string]string{"organizations_2026-11-20.csv": "org_id,org_name,country\no-1,A,US\n"})
	wh := t.TempDir()
	_, err := ingestOnce(t, in, wh, func(o *Options) { o.Held = func() error { return pipeline.ErrLockLost } })
	if !errors.Is(err, pipeline.ErrLockLost) {
		t.Fatalf("err = %v, want ErrLockLost", err)
	}
	if entries, _ := ReadLog(wh); len(entries) != 0 {
		t.Errorf("%d log entries written without the lock", len(entries))
	}
}

// TestSharedIngestLeavesOthersTemporaryFiles: an ingest clears what an
// interrupted run left being written (*.tmp) everywhere in the warehouse when
// it holds the warehouse alone, and only in landed/ and quarantine/ when shard
// processes share it (run --shard), whose splits and result parts are being
// written beside it.
func TestSharedIngestLeavesOthersTemporaryFiles(t *testing.T) {
	for _, shared := range []bool{false, true} {
		wh := t.TempDir()
		landed := filepath.Join(warehouse.LandedDir(wh, "organizations"), "delivery_date=2026-10-30", "organizations_2026-10-30.parquet.tmp")
		other := filepath.Join(wh, "shards", "units-3", "revenue", "2026-10-31.superseded.parquet.77.tmp")
		for _, p := range []string{landed, other} {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		in := inbox(t, map[string]string{"organizations_2026-10-31.csv": "org_id,org_name,country\nORG-1,One,DE\n"})
		if _, err := ingestOnce(t, in, wh, func(o *Options) { o.Shared = shared }); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(landed); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("shared %v: ingest's own temporary file left (%v)", shared, err)
		}
		if _, err := os.Stat(other); shared == errors.Is(err, os.ErrNotExist) {
			t.Errorf("shared %v: another process's temporary file: %v", shared, err)
		}
	}
}

// TestValuesAtTheirBounds: what the types of SPEC §3.1 accept at their edges
// lands: an amount of 14 digits and 4 places either side of zero (DECIMAL(18,4)),
// a rate of 12 places, RFC 3339's lower-case t and z (§5.6).
func TestValuesAtTheirBounds(t *testing.T) {
	in := inbox(t, map[string]string{
		"revenue_2026-11-23.csv": "transaction_id,org_id,customer_id,product,amount,currency,booked_on,attribution\n" +
			"t-1,o-1,,AZURE,99999999999999.0001,USD,2026-11-01,dpor\nt-2,o-1,,AZURE,99999999999999.9999,USD,2026-11-01,dpor\n" +
			"t-3,o-1,,AZURE,-99999999999999.5,USD,2026-11-01,dpor\nt-4,o-1,,AZURE,-99999999999999.9999,USD,2026-11-01,dpor\n",
		"fx_rates_2026-11-23.csv":     "currency,month,usd_per_unit\nEUR,2026-10,0.000000000001\nGBP,2026-10,1.123456789012\n",
		"associations_2026-11-23.csv": "individual_id,org_id,event,event_at\ni-1,o-1,associate,2026-11-01t10:00:00z\ni-2,o-1,associate,2026-11-01t10:00:00+01:00\n",
	})
	wh := t.TempDir()
	sum, err := ingestOnce(t, in, wh)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range sum.Entries {
		if e.RowsQuarantined != 0 || e.RowsLanded != e.RowsRead {
			t.Errorf("%s: read/landed/quarantined = %d/%d/%d, want every row landed", e.File, e.RowsRead, e.RowsLanded, e.RowsQuarantined)
		}
	}
	got := query(t, "SELECT CAST(sum(amount) AS VARCHAR) FROM read_parquet('"+filepath.Join(wh, "landed", "revenue", "*", "*.parquet")+"')")
	if want := "-0.4999"; got[0][0] != want { // .0001 + .9999 - .5 - .9999
		t.Errorf("the amounts sum to %s, want %s", got[0][0], want)
	}
}

// TestSameContentUnderTwoNames: a content already landed is skipped under any
// other name (SPEC §3.3), and says so.
func TestSameContentUnderTwoNames(t *testing.T) {
	body := "org_id,org_name,country\no-1,One,US\n"
	in := inbox(t, map[string]string{"organizations_2026-11-22.csv": body, "organizations_2026-11-23.csv": body})
	wh := t.TempDir()
	sum, err := ingestOnce(t, in, wh)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Landed != 1 || sum.Skipped != 1 {
		t.Fatalf("landed %d, skipped %d; want 1 and 1", sum.Landed, sum.Skipped)
	}
	dup := sum.Entries[1]
	if dup.File != "organizations_2026-11-23.csv" || dup.Status != StatusDuplicate || !strings.Contains(dup.Reason, "organizations_2026-11-22.csv") {
		t.Errorf("second file: %+v", dup)
	}
	if files, _ := filepath.Glob(filepath.Join(wh, "landed", "organizations", "*", "*")); len(files) != 1 {
		t.Errorf("landed files %v, want one", files)
	}
}

// TestSnapshotDeliveredAgainTakesEffect: a delivery A, the next day A′ that
// restates its keys, and on the third day A's content again under its own
// date's name, to undo the change: A-again lands, since A′ restated rows of A
// (SPEC §3.3), and the rows in force are A's again; in one run and in three.
// The same content with nothing of it restated between (only other keys
// delivered) is skipped and logged as a duplicate. Every file's rows read =
// landed + quarantined.
func TestSnapshotDeliveredAgainTakesEffect(t *testing.T) {
	type feed struct {
		name, header, a, aPrime, other, inForce string
	}
	for _, f := range []feed{
		{"organizations", "org_id,org_name,country", "o-1,One,US\no-2,Two,DE\n", "o-1,One renamed,US\no-2,Two,DE\n", "o-3,Three,FR\n",
			"SELECT org_id || ':' || org_name FROM %s ORDER BY org_id"},
		{"revenue", "transaction_id,org_id,customer_id,product,amount,currency,booked_on,attribution",
			"t-1,o-1,c-1,AZURE,100,USD,2026-11-01,dpor\nt-2,o-1,c-1,AZURE,5,USD,2026-11-01,dpor\n",
			"t-1,o-1,c-1,AZURE,200,USD,2026-11-01,dpor\n", "t-3,o-2,c-2,AZURE,7,USD,2026-11-02,dpor\n",
			"SELECT transaction_id || ':' || CAST(amount AS VARCHAR) FROM %s ORDER BY transaction_id"},
	} {
		name := func(day int) string { return fmt.Sprintf("%s_2026-11-%02d.csv", f.name, day) }
		// the rows in force: each key's row of its latest delivery
		inForce := func(t *testing.T, wh string) []string {
			t.Helper()
			rows := fmt.Sprintf(`(SELECT * FROM read_parquet('%s', hive_partitioning = true)
				QUALIFY row_number() OVER (PARTITION BY %s ORDER BY delivery_date DESC) = 1)`,
				filepath.Join(wh, "landed", f.name, "*", "*.parquet"), strings.SplitN(f.header, ",", 2)[0])
			var out []string
			for _, r := range query(t, fmt.Sprintf(f.inForce, rows)) {
				out = append(out, r[0])
			}
			return out
		}
		// A's rows, landed alone
		aOnly := t.TempDir()
		if _, err := ingestOnce(t, inbox(t, map[string]string{name(20): f.header + "\n" + f.a}), aOnly); err != nil {
			t.Fatal(err)
		}
		want := inForce(t, aOnly)
		files := map[string]string{name(20): f.header + "\n" + f.a, name(21): f.header + "\n" + f.aPrime, name(22): f.header + "\n" + f.a}
		for _, runs := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s in %d run(s)", f.name, runs), func(t *testing.T) {
				in, wh := t.TempDir(), t.TempDir()
				var entries []Entry
				for day := 20; day <= 22; day++ {
					if err := os.WriteFile(filepath.Join(in, name(day)), []byte(files[name(day)]), 0o644); err != nil {
						t.Fatal(err)
					}
					if runs == 3 || day == 22 {
						sum, err := ingestOnce(t, in, wh)
						if err != nil {
							t.Fatal(err)
						}
						entries = append(entries, sum.Entries...)
					}
				}
				if len(entries) != 3 {
					t.Fatalf("%d entries: %+v", len(entries), entries)
				}
				for _, e := range entries {
					if e.Status != StatusLanded || e.RowsRead != e.RowsLanded+e.RowsQuarantined {
						t.Errorf("%s: %s, read/landed/quarantined = %d/%d/%d", e.File, e.Status, e.RowsRead, e.RowsLanded, e.RowsQuarantined)
					}
				}
				if w := entries[2].Warnings; len(w) != 1 || !strings.Contains(w[0], "the same content as "+name(20)+", landed again") {
					t.Errorf("A-again's warnings %q", w)
				}
				if got := inForce(t, wh); !reflect.DeepEqual(got, want) {
					t.Errorf("rows in force %q, want A's %q", got, want)
				}
			})
		}
		t.Run(f.name+" with nothing restated between", func(t *testing.T) {
			in := inbox(t, map[string]string{name(20): f.header + "\n" + f.a, name(21): f.header + "\n" + f.other, name(22): f.header + "\n" + f.a})
			sum, err := ingestOnce(t, in, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			dup := sum.Entries[2]
			if sum.Landed != 2 || sum.Skipped != 1 || dup.Status != StatusDuplicate || !strings.Contains(dup.Reason, "the same content as "+name(20)) {
				t.Errorf("landed %d, skipped %d; the third: %+v", sum.Landed, sum.Skipped, dup)
			}
		})
	}
}

// TestUnclosedQuoteRejectsTheFile: a quote left open on line 3 of a big file
// would make the rest of the file one record held in memory, and its valid
// rows one quarantined "row": the file is rejected with its reason instead.
func TestUnclosedQuoteRejectsTheFile(t *testing.T) {
	var b strings.Builder
	b.WriteString("transaction_id,org_id,customer_id,product,amount,currency,booked_on,attribution\n")
	b.WriteString("t-0,o-1,c-1,AZURE,1,USD,2026-11-01,dpor\n")
	b.WriteString("t-1,\"o-1,c-1,AZURE,1,USD,2026-11-01,dpor\n")
	for i := range 40000 {
		fmt.Fprintf(&b, "t-%d,o-1,c-1,AZURE,1,USD,2026-11-01,dpor\n", i+2)
	}
	in := inbox(t, map[string]string{"revenue_2026-11-23.csv": b.String()})
	sum, err := ingestOnce(t, in, t.TempDir())
	if !errors.Is(err, pipeline.ErrRejected) || sum.Rejected != 1 || !strings.Contains(sum.Rejections[0], "line 3: a record longer than 1 MiB (an unclosed quote?)") {
		t.Errorf("err %v, rejections %q", err, sum.Rejections)
	}
}

// TestLongRecordIsOneBadRow: a 10 MiB customer id on line 102 of a revenue
// file, after 100 good rows (bare, or inside a closed quote), is one
// quarantined row with its line, its column and its raw text clipped; the
// other rows land, within --max-bad-fraction, and the run exits 0.
func TestLongRecordIsOneBadRow(t *testing.T) {
	for _, c := range []struct{ name, field string }{
		{"bare", strings.Repeat("c", 10<<20)},
		{"quoted", `"` + strings.Repeat("c", 10<<20) + `"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b strings.Builder
			b.WriteString("transaction_id,org_id,customer_id,product,amount,currency,booked_on,attribution\n")
			for i := range 100 {
				fmt.Fprintf(&b, "t-%d,o-1,c-1,AZURE,1,USD,2026-11-01,dpor\n", i)
			}
			b.WriteString("t-100,o-1," + c.field + ",AZURE,1,USD,2026-11-01,dpor\n")
			in := inbox(t, map[string]string{"revenue_2026-11-23.csv": b.String()})
			wh := t.TempDir()
			sum, err := ingestOnce(t, in, wh, func(o *Options) { o.MaxBadFraction = 0.05 })
			if err != nil || sum.Landed != 1 || sum.Rejected != 0 {
				t.Fatalf("err %v, summary %+v", err, sum)
			}
			e := sum.Entries[0]
			if e.RowsRead != 101 || e.RowsLanded != 100 || e.RowsQuarantined != 1 {
				t.Errorf("read/landed/quarantined = %d/%d/%d, want 101/100/1", e.RowsRead, e.RowsLanded, e.RowsQuarantined)
			}
			got := query(t, "SELECT line, \"column\", length(raw), reason FROM "+quarantined(wh))
			if len(got) != 1 || got[0][0] != "102" || got[0][1] != "customer_id" || got[0][2] != "1024" ||
				!strings.Contains(got[0][3], "longer than the 1 MiB a record may be (its raw text here is clipped to its first 1024 bytes)") {
				t.Errorf("quarantine %q", got)
			}
		})
	}
}

// TestLogAppendIsWhole: an entry whose write fails part-way (here the file
// size limit, as a full disk would) is cut off again, so the log never holds
// a torn line.
func TestLogAppendIsWhole(t *testing.T) {
	wh := t.TempDir()
	l, err := openLog(wh)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.append(Entry{File: "a.csv", Status: StatusLanded}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(wh, LogFile)
	before, _ := os.ReadFile(path)
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Skip(err)
	}
	signal.Ignore(syscall.SIGXFSZ)
	defer signal.Reset(syscall.SIGXFSZ)
	limit := syscall.Rlimit{Cur: uint64(len(before) + 20), Max: old.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &limit); err != nil {
		t.Skip(err)
	}
	err = l.append(Entry{File: strings.Repeat("b", 200) + ".csv", Status: StatusLanded})
	syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old)
	if err == nil {
		t.Fatal("the write past the size limit did not fail")
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Errorf("the log holds %d bytes after the failed append, %d before: a torn line", len(after), len(before))
	}
	if err := l.append(Entry{File: "c.csv", Status: StatusLanded}); err != nil {
		t.Fatal(err)
	}
	if entries, err := ReadLog(wh); err != nil || len(entries) != 2 {
		t.Errorf("log read back: %d entries (%v), want a.csv and c.csv", len(entries), err)
	}
}
