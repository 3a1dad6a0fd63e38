package pipeline

import (
	"fmt"
	"strings"
)

// Kind is the type of a feed column as SPEC §3.1 names it.
type Kind int

const (
	KindID        Kind = iota // 1–64 printable characters, trimmed
	KindCode                  // [A-Za-z0-9._-]{1,64}
	KindText                  // free text (names, reasons)
	KindDate                  // YYYY-MM-DD
	KindTimestamp             // RFC 3339, normalized to UTC
	KindMonth                 // YYYY-MM, landed as the month's first day
	KindInt                   // whole number ≥ 0
	KindMoney                 // decimal, at most 4 places, may be negative
	KindRate                  // decimal > 0
	KindEnum                  // one of Column.Enum, case-insensitive, landed lower case
	KindCurrency              // three letters, landed upper case
	KindCountry               // ISO 3166-1 alpha-2, landed upper case
)

// Column is one column of a feed.
type Column struct {
	Name     string
	Kind     Kind
	Required bool
	Enum     []string // for KindEnum
}

// Check is a rule that spans two columns of one row.
type Check struct {
	// After: when both are present, Col must be later than Than.
	Col, Than string
	// RequiredWhen: Col must be present when column When equals Is.
	When, Is string
}

// Feed describes one inbox feed: its columns, the key that decides
// restatement, and the cross-column checks of SPEC §3.
type Feed struct {
	Name    string
	Key     []string
	Columns []Column
	Checks  []Check
}

// Column returns the index of the named column, or -1.
func (f *Feed) Column(name string) int {
	for i, c := range f.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// Attributions are the ways a partner is linked to a customer (SPEC §3.2).
var Attributions = []string{"dpor", "transacting", "delegated_admin", "fasttrack", "cpor", "csp"}

// Levels are the membership and competency levels, lowest first.
var Levels = []string{"silver", "gold"}

func req(name string, k Kind) Column { return Column{Name: name, Kind: k, Required: true} }
func opt(name string, k Kind) Column { return Column{Name: name, Kind: k} }
func enum(name string, required bool, values []string) Column {
	return Column{Name: name, Kind: KindEnum, Required: required, Enum: values}
}

// Feeds are the eleven feeds of SPEC §3.2, in the order reports list them.
var Feeds = []*Feed{
	{Name: "organizations", Key: []string{"org_id"}, Columns: []Column{
		req("org_id", KindID), req("org_name", KindText), opt("country", KindCountry)}},
	{Name: "memberships", Key: []string{"org_id", "purchased_on"}, Columns: []Column{
		req("org_id", KindID), enum("level", true, Levels), req("purchased_on", KindDate),
		req("anniversary_on", KindDate)},
		Checks: []Check{{Col: "anniversary_on", Than: "purchased_on"}}},
	{Name: "customers", Key: []string{"org_id", "customer_id", "product"}, Columns: []Column{
		req("org_id", KindID), req("customer_id", KindID), req("product", KindCode),
		req("added_on", KindDate), enum("attribution", false, Attributions)}},
	{Name: "revenue", Key: []string{"transaction_id"}, Columns: []Column{
		req("transaction_id", KindID), req("org_id", KindID), opt("customer_id", KindID),
		req("product", KindCode), req("amount", KindMoney), req("currency", KindCurrency),
		req("booked_on", KindDate), enum("attribution", false, Attributions)}},
	{Name: "fx_rates", Key: []string{"currency", "month"}, Columns: []Column{
		req("currency", KindCurrency), req("month", KindMonth), req("usd_per_unit", KindRate)}},
	{Name: "usage", Key: []string{"org_id", "customer_id", "product", "month"}, Columns: []Column{
		req("org_id", KindID), req("customer_id", KindID), req("product", KindCode),
		req("month", KindMonth), req("active_users", KindInt), enum("attribution", false, Attributions)}},
	{Name: "seats", Key: []string{"org_id", "customer_id", "product", "snapshot_on"}, Columns: []Column{
		req("org_id", KindID), req("customer_id", KindID), req("product", KindCode),
		req("snapshot_on", KindDate), req("deployed_seats", KindInt), enum("attribution", false, Attributions)}},
	{Name: "exams", Key: []string{"individual_id", "code", "passed_on"}, Columns: []Column{
		req("individual_id", KindID), req("code", KindCode), req("passed_on", KindDate),
		opt("expires_on", KindDate)},
		Checks: []Check{{Col: "expires_on", Than: "passed_on"}}},
	{Name: "assessments", Key: []string{"individual_id", "code", "passed_on"}, Columns: []Column{
		req("individual_id", KindID), req("code", KindCode), req("passed_on", KindDate),
		opt("expires_on", KindDate)},
		Checks: []Check{{Col: "expires_on", Than: "passed_on"}}},
	{Name: "associations", Key: []string{"individual_id", "event_at"}, Columns: []Column{
		req("individual_id", KindID), opt("org_id", KindID),
		enum("event", true, []string{"associate", "disassociate"}), req("event_at", KindTimestamp)},
		Checks: []Check{{Col: "org_id", When: "event", Is: "associate"}}},
	{Name: "overrides", Key: []string{"org_id", "competency_id", "granted_on"}, Columns: []Column{
		req("org_id", KindID), req("competency_id", KindCode), enum("level", true, Levels),
		req("granted_on", KindDate), opt("expires_on", KindDate), opt("reason", KindText),
		opt("granted_by", KindText)},
		Checks: []Check{{Col: "expires_on", Than: "granted_on"}}},
}

// FeedByName returns the feed of that name, or nil.
func FeedByName(name string) *Feed {
	for _, f := range Feeds {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// Delivery is an inbox file recognized by its name (SPEC §3.1):
// <feed>_<YYYY-MM-DD>[_<part>].csv or .csv.gz.
type Delivery struct {
	File string // base name as found in the inbox
	Name string // base name without .csv / .csv.gz: the landing's name
	Feed *Feed
	Date Date
	Part string // empty when the name has none
	Gzip bool
}

// ParseDeliveryName recognizes an inbox file name. ok is false for any name
// that is not a delivery of a known feed.
func ParseDeliveryName(file string) (d Delivery, ok bool) {
	stem, gz := strings.CutSuffix(file, ".csv.gz")
	if !gz {
		var csv bool
		if stem, csv = strings.CutSuffix(file, ".csv"); !csv {
			return d, false
		}
	}
	for _, f := range Feeds {
		rest, found := strings.CutPrefix(stem, f.Name+"_")
		if !found || len(rest) < 10 {
			continue
		}
		date, err := ParseDate(rest[:10])
		if err != nil {
			return d, false
		}
		part := rest[10:]
		if part != "" {
			if part[0] != '_' || len(part) == 1 || !IsCode([]byte(part[1:])) {
				return d, false
			}
			part = part[1:]
		}
		return Delivery{File: file, Name: stem, Feed: f, Date: date, Part: part, Gzip: gz}, true
	}
	return d, false
}

// DeliveryFile returns the inbox file name of a feed's delivery on a date.
func DeliveryFile(feed string, date Date, part string) string {
	if part == "" {
		return fmt.Sprintf("%s_%s.csv", feed, date)
	}
	return fmt.Sprintf("%s_%s_%s.csv", feed, date, part)
}

// IsCode reports whether b is a code of SPEC §3.1: [A-Za-z0-9._-]{1,64}.
func IsCode(b []byte) bool {
	if len(b) == 0 || len(b) > 64 {
		return false
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
