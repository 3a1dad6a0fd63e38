package pipeline

import (
	"fmt"
	"time"
)

// Date is a calendar date in UTC, stored as days since 1970-01-01, the same
// count Parquet's DATE logical type holds.
type Date int32

// ParseDate reads a date written YYYY-MM-DD. It rejects anything else,
// including dates that do not exist on the calendar.
func ParseDate(s string) (Date, error) { return ParseDateBytes([]byte(s)) }

// ParseDateBytes is ParseDate for bytes, without allocating on success.
func ParseDateBytes(b []byte) (Date, error) {
	if len(b) != 10 || b[4] != '-' || b[7] != '-' {
		return 0, fmt.Errorf("%q is not a date (YYYY-MM-DD)", b)
	}
	y, ok1 := digits(b[0:4])
	m, ok2 := digits(b[5:7])
	d, ok3 := digits(b[8:10])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, fmt.Errorf("%q is not a date (YYYY-MM-DD)", b)
	}
	return civil(y, m, d), nil
}

// civil is the day count of a valid date (Howard Hinnant's days_from_civil).
func civil(y, m, d int) Date {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return Date(era*146097 + doe - 719468)
}

func digits(s []byte) (int, bool) {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// MustDate is ParseDate for literals known to be valid; it panics otherwise.
func MustDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// DateOf returns the date of a year, month and day (normalized like time.Date).
func DateOf(y int, m time.Month, d int) Date {
	return Date(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// DateFromTime returns the UTC calendar date of t.
func DateFromTime(t time.Time) Date {
	return DateOf(t.UTC().Date())
}

// Time returns the instant the date starts, 00:00:00Z.
func (d Date) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// End returns end(D): the instant D+1 00:00:00Z (SPEC §1).
func (d Date) End() time.Time { return (d + 1).Time() }

// AddDays returns the date n days later (earlier for negative n).
func (d Date) AddDays(n int) Date { return d + Date(n) }

// AddMonths is calendar arithmetic as DuckDB's INTERVAL n MONTH does it: the day
// of month is kept, clamped to the last day of the target month.
func (d Date) AddMonths(n int) Date {
	y, m, day := d.Time().Date()
	total := y*12 + int(m) - 1 + n
	ty, tm := total/12, total%12+1
	if day > daysIn(ty, tm) {
		day = daysIn(ty, tm)
	}
	return DateOf(ty, time.Month(tm), day)
}

// MonthStart returns the first day of d's month.
func (d Date) MonthStart() Date {
	y, m, _ := d.Time().Date()
	return DateOf(y, m, 1)
}

func (d Date) String() string { return string(d.AppendTo(make([]byte, 0, 10))) }

// AppendTo appends the date written YYYY-MM-DD to b, as String writes it,
// without going through a time.Time (CSV files write millions of dates).
func (d Date) AppendTo(b []byte) []byte {
	y, m, day := d.civil()
	if y < 0 || y > 9999 {
		return d.Time().AppendFormat(b, "2006-01-02")
	}
	return append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+m/10), byte('0'+m%10), '-', byte('0'+day/10), byte('0'+day%10))
}

// civil is the year, month and day of the date (Howard Hinnant's
// civil_from_days, the inverse of the function civil).
func (d Date) civil() (y, m, day int) {
	z := int(d) + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day = doy - (153*mp+2)/5 + 1
	m = mp + 3
	if mp >= 10 {
		m = mp - 9
	}
	y = yoe + era*400
	if m <= 2 {
		y++
	}
	return y, m, day
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// Spine lists the dates of [from, to] at a backfill's step (SPEC §8): every
// day, the Sundays (week) or the month ends (month); another step is an
// ErrUsage error.
func Spine(from, to Date, every string) ([]Date, error) {
	var out []Date
	for d := from; d <= to; d++ {
		switch every {
		case "day":
		case "week":
			if d.Time().Weekday() != time.Sunday {
				continue
			}
		case "month":
			if (d + 1).Time().Day() != 1 {
				continue
			}
		default:
			return nil, fmt.Errorf("%w: --every must be day, week or month", ErrUsage)
		}
		out = append(out, d)
	}
	return out, nil
}

// Month names a calendar month, YYYY-MM, by its first day.
func Month(d Date) string { return d.String()[:7] }
