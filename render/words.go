package render

import "strings"

// headers are the columns whose header in words is not the name's own words
// (SPEC §6.3: "Lapses on", not "lapses_on"); the CSV files keep the §6.2 names.
var headers = map[string]string{
	"org_id":                  "Organization id",
	"org_name":                "Organization",
	"competency_id":           "Competency id",
	"competency_name":         "Competency",
	"competency_names":        "Competencies (names)",
	"membership_level":        "Level",
	"supporting_competencies": "Supporting competencies",
	"min":                     "Minimum",
	"met":                     "Met",
	"anniversary_on":          "Anniversary",
	"purchased_on":            "Purchased on",
	"in_grace":                "In grace",
	"upgrade_eligible":        "Upgrade eligible",
	"status_if_leaves":        "Status if they leave",
	"lapses_on_if_leaves":     "Lapses on if they leave",
	"lapses_on_now":           "Lapses on now",
	"individual_id":           "Individual id",
	"displayed_level":         "Displayed level",
	"key_people":              "Key people",
	"ends_on":                 "Ends on",
	"as_of":                   "As of",
	"sha256":                  "SHA-256",
}

// Header is a column's header in words: "lapses_on" is "Lapses on".
func Header(col string) string {
	if h, ok := headers[col]; ok {
		return h
	}
	words := strings.ReplaceAll(col, "_", " ")
	return strings.ToUpper(words[:1]) + words[1:]
}
