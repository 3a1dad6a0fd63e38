package ingest

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"attain/pipeline"
)

// value is one parsed field: the typed form that lands in Parquet.
type value struct {
	null bool
	i    int64   // date (days), month (days of its first day), timestamp (µs), int, money (×10⁴)
	f    float64 // rate
	s    []byte  // text kinds, normalized
}

const maxMoney = 99999999999999 // |amount| < 10¹⁴ keeps ×10⁴ inside DECIMAL(18,4)

// maxRatePlaces is how many decimal places a rate may have: compute converts
// revenue as DECIMAL(18,4) × DECIMAL(38,12), exactly (SPEC §4).
const maxRatePlaces = 12

// parseValue turns a trimmed field into the typed value of column c. The error
// message is what quarantine shows after "column: ".
func parseValue(c *pipeline.Column, b []byte) (value, error) {
	if len(b) == 0 {
		if c.Required {
			return value{}, fmt.Errorf("required value is missing")
		}
		return value{null: true}, nil
	}
	switch c.Kind {
	case pipeline.KindID:
		if printableASCII(b) { // the common case, without decoding runes
			if len(b) > 64 {
				return value{}, fmt.Errorf("%q is longer than 64 characters", clip(b))
			}
			return value{s: b}, nil
		}
		if utf8.RuneCount(b) > 64 {
			return value{}, fmt.Errorf("%q is longer than 64 characters", clip(b))
		}
		for _, r := range string(b) {
			if !unicode.IsPrint(r) {
				return value{}, fmt.Errorf("%q has a character that is not printable", clip(b))
			}
		}
		return value{s: b}, nil
	case pipeline.KindCode:
		if !pipeline.IsCode(b) {
			return value{}, fmt.Errorf("%q is not a code (1–64 of A-Z a-z 0-9 . _ -)", clip(b))
		}
		return value{s: b}, nil
	case pipeline.KindText:
		return value{s: b}, nil
	case pipeline.KindDate:
		d, err := parseDate(b)
		if err != nil {
			return value{}, err
		}
		return value{i: int64(d)}, nil
	case pipeline.KindMonth:
		if len(b) != 7 {
			return value{}, fmt.Errorf("%q is not a month (YYYY-MM)", clip(b))
		}
		d, err := pipeline.ParseDate(string(b) + "-01")
		if err != nil || !inRange(d) {
			return value{}, fmt.Errorf("%q is not a month (YYYY-MM)", clip(b))
		}
		return value{i: int64(d)}, nil
	case pipeline.KindTimestamp:
		// RFC 3339 §5.6 allows a lower-case t and z
		t, err := time.Parse(time.RFC3339Nano, strings.Map(func(r rune) rune {
			switch r {
			case 't':
				return 'T'
			case 'z':
				return 'Z'
			}
			return r
		}, string(b)))
		if err != nil || !inRange(pipeline.DateFromTime(t)) || !offsetOK(b) {
			return value{}, fmt.Errorf("%q is not a timestamp (RFC 3339, e.g. 2026-11-23T14:05:00Z)", clip(b))
		}
		return value{i: t.UnixMicro()}, nil
	case pipeline.KindInt:
		n, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil || n < 0 || b[0] == '+' {
			return value{}, fmt.Errorf("%q is not a whole number ≥ 0", clip(b))
		}
		return value{i: n}, nil
	case pipeline.KindMoney:
		n, ok := parseMoney(b)
		if ok {
			return value{i: n}, nil
		}
		if whole, _, _ := bytes.Cut(b, []byte{'.'}); isWholeDigits(bytes.TrimPrefix(whole, []byte{'-'})) && len(bytes.TrimPrefix(whole, []byte{'-'})) > 14 {
			// the bound of an amount landed as DECIMAL(18,4) (README, Types)
			return value{}, fmt.Errorf("%q is out of range: an amount has at most 14 digits before the point", clip(b))
		}
		return value{}, fmt.Errorf("%q is not an amount (a decimal with at most 4 places)", clip(b))
	case pipeline.KindRate:
		if !isDecimal(b) {
			return value{}, fmt.Errorf("%q is not a rate (a decimal > 0)", clip(b))
		}
		if _, frac, _ := bytes.Cut(b, []byte{'.'}); len(frac) > maxRatePlaces {
			// revenue is converted exactly (SPEC §4) at this many places
			return value{}, fmt.Errorf("%q has more than %d decimal places (a rate is converted exactly at %d)", clip(b), maxRatePlaces, maxRatePlaces)
		}
		f, err := strconv.ParseFloat(string(b), 64)
		if err != nil || !(f > 0) {
			return value{}, fmt.Errorf("%q is not a rate (a decimal > 0)", clip(b))
		}
		return value{f: f}, nil
	case pipeline.KindEnum:
		for _, e := range c.Enum {
			if len(b) == len(e) && bytes.EqualFold(b, []byte(e)) {
				// Canonical case, in place like upper below (a map of
				// canonical bytes cost 0.1 s of 4.75 M rows).
				copy(b, e)
				return value{s: b}, nil
			}
		}
		return value{}, fmt.Errorf("%q is not one of %s", clip(b), strings.Join(c.Enum, ", "))
	case pipeline.KindCurrency:
		if len(b) != 3 || !letters(b) {
			return value{}, fmt.Errorf("%q is not a currency code (3 letters)", clip(b))
		}
		return value{s: upper(b)}, nil
	case pipeline.KindCountry:
		if len(b) != 2 || !letters(b) {
			return value{}, fmt.Errorf("%q is not a country code (ISO 3166-1 alpha-2)", clip(b))
		}
		return value{s: upper(b)}, nil
	}
	return value{}, fmt.Errorf("column kind %d has no parser", c.Kind)
}

// Dates outside these years are taken for typing errors, not data.
var minDate, maxDate = pipeline.DateOf(1900, 1, 1), pipeline.DateOf(2999, 12, 31)

func inRange(d pipeline.Date) bool { return d >= minDate && d <= maxDate }

func parseDate(b []byte) (pipeline.Date, error) {
	d, err := pipeline.ParseDateBytes(b)
	if err != nil {
		return 0, err
	}
	if !inRange(d) {
		return 0, fmt.Errorf("%q is out of range (1900-01-01 to 2999-12-31)", b)
	}
	return d, nil
}

// parseMoney reads -?digits[.digits{1,4}] as ten-thousandths.
func parseMoney(b []byte) (int64, bool) {
	neg := false
	if b[0] == '-' {
		neg, b = true, b[1:]
	}
	intPart, frac, hasDot := bytes.Cut(b, []byte{'.'})
	if len(intPart) == 0 || len(intPart) > 14 || (hasDot && (len(frac) == 0 || len(frac) > 4)) {
		return 0, false
	}
	var n int64
	for _, c := range intPart {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	for i := 0; i < 4; i++ {
		n *= 10
		if i < len(frac) {
			c := frac[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n += int64(c - '0')
		}
	}
	if n > maxMoney*10000+9999 {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

func isDecimal(b []byte) bool {
	intPart, frac, hasDot := bytes.Cut(b, []byte{'.'})
	if len(intPart) == 0 || (hasDot && len(frac) == 0) {
		return false
	}
	for _, part := range [][]byte{intPart, frac} {
		for _, c := range part {
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return true
}

// printableASCII reports whether b is all printable ASCII (space to tilde).
func printableASCII(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// upper makes ASCII letters upper case in place: the field's bytes belong to
// the current record (the raw line quarantine keeps is a separate copy).
func upper(b []byte) []byte {
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return b
}

func letters(b []byte) bool {
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// clip keeps quoted values in messages readable.
func clip(b []byte) string {
	if utf8.RuneCount(b) <= 80 {
		return string(b)
	}
	r := []rune(string(b))
	return string(r[:77]) + "..."
}

// offsetOK says whether a timestamp's offset, when it is not Z, is one RFC 3339
// allows: hours 00–23 and minutes 00–59 (Go's parser takes +24:00).
func offsetOK(b []byte) bool {
	n := len(b)
	if n < 6 || (b[n-6] != '+' && b[n-6] != '-') {
		return true
	}
	h, m := string(b[n-5:n-3]), string(b[n-2:])
	return h <= "23" && m <= "59"
}

// isWholeDigits says whether b is one or more digits.
func isWholeDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}
