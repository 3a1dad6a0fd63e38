package pipeline

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Metrics a requirement can name (SPEC §4).
const (
	MetricRevenue      = "revenue_12m"
	MetricNewCustomers = "new_customers_12m"
	MetricActiveUsers  = "active_users"
	MetricSeats        = "deployed_seats"
	MetricPeople       = "people"
)

var metrics = []string{MetricRevenue, MetricNewCustomers, MetricActiveUsers, MetricSeats, MetricPeople}

// Catalog is every version of the competency requirements, oldest first.
type Catalog struct {
	Versions []*CatalogVersion
}

// CatalogVersion is one catalog file: the requirements in force from
// EffectiveFrom until the next version's.
type CatalogVersion struct {
	Version           string
	EffectiveFrom     Date
	DevelopingMarkets []string
	Skills            map[string]Skill
	Competencies      []Competency
	Source            string // file it was read from
}

// Skill is the lifecycle of an exam or assessment code.
type Skill struct {
	RetiredOn   *Date
	CountsUntil *Date // default RetiredOn + 12 months
	ValidDays   int   // 0: no expiry from the catalog
}

// Competency has Silver paths and Gold paths; meeting any path of a level
// attains it.
type Competency struct {
	ID, Name     string
	Silver, Gold []Path
}

// Path is one option of a level: every requirement must be met, or, for a scored
// path (SPEC §4.1), its parts' points must reach the score's minimum.
type Path struct {
	ID, Name string
	Requires []Requirement
	Score    *Score // nil: a path of requirements
}

// Score is a scored path's test (SPEC §4.1): met when the parts' points reach Min
// and, with EachAboveZero, every part's value is above 0.
type Score struct {
	Min           float64
	EachAboveZero bool
	Parts         []Requirement // each with Min = its full_at and Points
}

// Requirement is one metric with its filters and minimum. A scored path's part
// carries its full_at in Min and its maximum in Points.
type Requirement struct {
	Metric   string
	Products []string   // nil: any product
	Via      []string   // nil: any attribution
	AnyOf    [][]string // people: sets of codes, one set held whole by a person
	Min      Min
	Points   float64 // a scored part's maximum; 0 for a requirement
}

// Rows is what a path shows in requirements.csv and the rules evaluate: its
// requirements, or its parts (SPEC §4.1).
func (p Path) Rows() []Requirement {
	if p.Score != nil {
		return p.Score.Parts
	}
	return p.Requires
}

// Min is a minimum, the same everywhere or per market.
type Min struct {
	Developed, Developing float64
}

// InForce returns the version in force at d: the greatest effective_from ≤ d.
func (c *Catalog) InForce(d Date) (*CatalogVersion, bool) {
	var v *CatalogVersion
	for _, x := range c.Versions {
		if x.EffectiveFrom <= d {
			v = x
		}
	}
	return v, v != nil
}

//go:embed catalog/*.yaml
var defaultCatalog embed.FS

// DefaultCatalog is the catalog embedded in the binary.
func DefaultCatalog() (*Catalog, error) {
	sub, _ := fs.Sub(defaultCatalog, "catalog")
	return loadFS(sub, "embedded:")
}

// LoadCatalog reads a catalog file, or every .yaml/.yml file of a directory
// (one version each). An empty path means the embedded default. Every problem
// found is reported, as file:line: message lines, in an error wrapping
// ErrUsage.
func LoadCatalog(path string) (*Catalog, error) {
	if path == "" {
		return DefaultCatalog()
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: catalog: %v", ErrUsage, err)
	}
	if info.IsDir() {
		return loadFS(os.DirFS(path), path+string(filepath.Separator))
	}
	return loadFS(os.DirFS(filepath.Dir(path)), filepath.Dir(path)+string(filepath.Separator), filepath.Base(path))
}

// MaxCatalogBytes is the largest catalog file read: the default catalog is
// about 10 KB; a file of megabytes is a mistake (or an attack).
const MaxCatalogBytes = 4 << 20

// CatalogErrors are all the problems of a catalog, one "file:line: message" each.
type CatalogErrors []string

func (e CatalogErrors) Error() string { return strings.Join(e, "\n") }

func loadFS(fsys fs.FS, prefix string, only ...string) (*Catalog, error) {
	names := only
	if len(names) == 0 {
		entries, err := fs.ReadDir(fsys, ".")
		if err != nil {
			return nil, fmt.Errorf("%w: catalog: %v", ErrUsage, err)
		}
		for _, e := range entries {
			if !e.IsDir() && (strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml")) {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
		if len(names) == 0 {
			return nil, fmt.Errorf("%w: catalog: no .yaml file in %s", ErrUsage, prefix)
		}
	}
	c := &Catalog{}
	var errs CatalogErrors
	for _, n := range names {
		// a regular file of a catalog's size: not a device (/dev/zero), a FIFO,
		// or a file no catalog could be, read at once and without limit
		info, err := fs.Stat(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("%w: catalog: %v", ErrUsage, err)
		}
		if !info.Mode().IsRegular() {
			return nil, fmt.Errorf("%w: catalog %s%s is not a regular file", ErrUsage, prefix, n)
		}
		if info.Size() > MaxCatalogBytes {
			return nil, fmt.Errorf("%w: catalog %s%s has %d bytes; a catalog file has at most %d", ErrUsage, prefix, n, info.Size(), MaxCatalogBytes)
		}
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("%w: catalog: %v", ErrUsage, err)
		}
		v, verrs := parseVersion(prefix+n, b)
		errs = append(errs, verrs...)
		if v != nil {
			c.Versions = append(c.Versions, v)
		}
	}
	slices.SortStableFunc(c.Versions, func(a, b *CatalogVersion) int { return int(a.EffectiveFrom - b.EffectiveFrom) })
	for i := 1; i < len(c.Versions); i++ {
		if a, b := c.Versions[i-1], c.Versions[i]; a.EffectiveFrom == b.EffectiveFrom {
			errs = append(errs, fmt.Sprintf("%s:1: effective_from %s is also that of %s", b.Source, b.EffectiveFrom, a.Source))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: invalid catalog:\n%w", ErrUsage, errs)
	}
	return c, nil
}

// parser walks a YAML document, collecting every problem with its line.
type parser struct {
	file string
	errs CatalogErrors
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	line := 1
	if n != nil {
		line = n.Line
	}
	p.errs = append(p.errs, fmt.Sprintf("%s:%d: %s", p.file, line, fmt.Sprintf(format, args...)))
}

// fields checks a mapping's keys against the allowed ones and returns key → value.
func (p *parser) fields(n *yaml.Node, what string, allowed ...string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be a mapping", what)
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !slices.Contains(allowed, k.Value) {
			p.errorf(k, "unknown field %q in %s (allowed: %s)", k.Value, what, strings.Join(allowed, ", "))
			continue
		}
		if _, dup := out[k.Value]; dup {
			p.errorf(k, "field %q given twice in %s", k.Value, what)
		}
		out[k.Value] = v
	}
	return out
}

func (p *parser) str(n *yaml.Node, what string) string {
	if n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, "%s must be a string", what)
		return ""
	}
	return n.Value
}

func (p *parser) strs(n *yaml.Node, what string) []string {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s must be a list", what)
		return nil
	}
	out := []string{}
	for _, c := range n.Content {
		out = append(out, p.str(c, what+" entry"))
	}
	return out
}

func (p *parser) date(n *yaml.Node, what string) *Date {
	if n == nil {
		return nil
	}
	d, err := ParseDate(p.str(n, what))
	if err != nil {
		p.errorf(n, "%s: %v", what, err)
		return nil
	}
	return &d
}

func (p *parser) number(n *yaml.Node, what string) float64 {
	var f float64
	if n.Kind != yaml.ScalarNode || n.Decode(&f) != nil {
		p.errorf(n, "%s must be a number", what)
		return 0
	}
	if f < 0 {
		p.errorf(n, "%s must not be negative (got %v)", what, f)
	}
	return f
}

func parseVersion(file string, b []byte) (*CatalogVersion, CatalogErrors) {
	p := &parser{file: file}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, CatalogErrors{fmt.Sprintf("%s: %v", file, err)}
	}
	if len(doc.Content) == 0 {
		return nil, CatalogErrors{file + ":1: empty catalog"}
	}
	top := p.fields(doc.Content[0], "catalog", "version", "effective_from", "developing_markets", "skills", "competencies")
	v := &CatalogVersion{Source: file, Version: p.str(top["version"], "version"), Skills: map[string]Skill{}}
	if v.Version == "" {
		p.errorf(doc.Content[0], "version is required")
	}
	if d := p.date(top["effective_from"], "effective_from"); d != nil {
		v.EffectiveFrom = *d
	} else if top["effective_from"] == nil {
		p.errorf(doc.Content[0], "effective_from is required")
	}
	for _, m := range p.strs(top["developing_markets"], "developing_markets") {
		v.DevelopingMarkets = append(v.DevelopingMarkets, strings.ToUpper(m))
	}
	if s := top["skills"]; s != nil {
		if s.Kind != yaml.MappingNode {
			p.errorf(s, "skills must be a mapping of code to lifecycle")
		} else {
			for i := 0; i+1 < len(s.Content); i += 2 {
				k, n := s.Content[i], s.Content[i+1]
				f := p.fields(n, "skill "+k.Value, "retired_on", "counts_until", "valid_days")
				sk := Skill{RetiredOn: p.date(f["retired_on"], "retired_on"), CountsUntil: p.date(f["counts_until"], "counts_until")}
				if f["valid_days"] != nil {
					sk.ValidDays = int(p.number(f["valid_days"], "valid_days"))
				}
				if sk.CountsUntil != nil && sk.RetiredOn == nil {
					p.errorf(n, "skill %s: counts_until needs retired_on", k.Value)
				}
				if sk.RetiredOn != nil && sk.CountsUntil == nil {
					d := sk.RetiredOn.AddMonths(12)
					sk.CountsUntil = &d
				}
				v.Skills[k.Value] = sk
			}
		}
	}
	comps := top["competencies"]
	if comps == nil || comps.Kind != yaml.SequenceNode || len(comps.Content) == 0 {
		p.errorf(comps, "competencies must be a non-empty list")
	} else {
		seen := map[string]int{}
		for _, cn := range comps.Content {
			f := p.fields(cn, "competency", "id", "name", "silver", "gold")
			c := Competency{ID: p.str(f["id"], "id"), Name: p.str(f["name"], "name")}
			if c.ID == "" {
				p.errorf(cn, "competency id is required")
			} else if line, dup := seen[c.ID]; dup {
				p.errorf(f["id"], "duplicate competency id %q (first at line %d)", c.ID, line)
			} else {
				seen[c.ID] = f["id"].Line
			}
			if c.Name == "" {
				c.Name = c.ID
			}
			c.Silver = p.paths(f["silver"], c.ID+" silver")
			c.Gold = p.paths(f["gold"], c.ID+" gold")
			if len(c.Gold) > 0 && len(c.Silver) == 0 {
				p.errorf(cn, "competency %s has gold paths but no silver path", c.ID)
			}
			if len(c.Gold) == 0 && len(c.Silver) == 0 {
				p.errorf(cn, "competency %s has no path", c.ID)
			}
			v.Competencies = append(v.Competencies, c)
		}
	}
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	return v, nil
}

func (p *parser) paths(n *yaml.Node, what string) []Path {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s must be a list of paths", what)
		return nil
	}
	var out []Path
	seen := map[string]int{}
	for _, pn := range n.Content {
		f := p.fields(pn, "path", "path", "name", "requires", "score")
		path := Path{ID: p.str(f["path"], "path"), Name: p.str(f["name"], "name")}
		if path.ID == "" {
			p.errorf(pn, "%s: a path needs its id (path:)", what)
		} else if line, dup := seen[path.ID]; dup {
			p.errorf(f["path"], "duplicate path id %q in %s (first at line %d)", path.ID, what, line)
		} else {
			seen[path.ID] = f["path"].Line
		}
		if path.Name == "" {
			path.Name = path.ID
		}
		reqs, score := f["requires"], f["score"]
		switch {
		case reqs != nil && score != nil:
			p.errorf(score, "%s path %s has both requires and score: a path is one or the other", what, path.ID)
		case score != nil:
			path.Score = p.score(score, what+" path "+path.ID)
		case reqs == nil || reqs.Kind != yaml.SequenceNode || len(reqs.Content) == 0:
			p.errorf(pn, "%s path %s is empty: it needs at least one requirement (requires:) or a score", what, path.ID)
		default:
			for _, rn := range reqs.Content {
				path.Requires = append(path.Requires, p.requirement(rn, false))
			}
		}
		out = append(out, path)
	}
	return out
}

// score reads a scored path's score: (SPEC §4.1).
func (p *parser) score(n *yaml.Node, what string) *Score {
	f := p.fields(n, "score", "min", "each_above_zero", "parts")
	s := &Score{}
	switch m := f["min"]; {
	case m == nil:
		p.errorf(n, "%s: score needs a min", what)
	default:
		if s.Min = p.number(m, "score min"); s.Min == 0 {
			// a minimum of 0 is met by every organization: no test at all
			p.errorf(m, "%s: score min must be above 0", what)
		}
	}
	if b := f["each_above_zero"]; b != nil {
		if b.Kind != yaml.ScalarNode || b.Decode(&s.EachAboveZero) != nil {
			p.errorf(b, "each_above_zero must be true or false")
		}
	}
	parts := f["parts"]
	if parts == nil || parts.Kind != yaml.SequenceNode || len(parts.Content) == 0 {
		p.errorf(n, "%s: score needs at least one part (parts:)", what)
		return s
	}
	var total float64
	for _, pn := range parts.Content {
		r := p.requirement(pn, true)
		total += r.Points
		s.Parts = append(s.Parts, r)
	}
	if s.Min > total {
		p.errorf(f["min"], "%s: score min %g is above the sum of the parts' points (%g): no organization can reach it", what, s.Min, total)
	}
	return s
}

// requirement reads a path's requirement, or a scored path's part (full_at and
// points instead of min).
func (p *parser) requirement(n *yaml.Node, part bool) Requirement {
	what, bound, allowed := "requirement", "min", []string{"metric", "products", "via", "any_of", "min"}
	if part {
		what, bound, allowed = "part", "full_at", []string{"metric", "products", "via", "any_of", "full_at", "points"}
	}
	f := p.fields(n, what, allowed...)
	r := Requirement{Metric: p.str(f["metric"], "metric"), Products: p.strs(f["products"], "products"), Via: p.strs(f["via"], "via")}
	switch {
	case f["metric"] == nil:
		p.errorf(n, "requirement needs a metric")
	case !slices.Contains(metrics, r.Metric):
		p.errorf(f["metric"], "unknown metric %q (known: %s)", r.Metric, strings.Join(metrics, ", "))
	}
	for _, via := range r.Via {
		if !slices.Contains(Attributions, via) {
			p.errorf(f["via"], "unknown attribution %q in via (known: %s)", via, strings.Join(Attributions, ", "))
		}
	}
	if a := f["any_of"]; a != nil {
		if a.Kind != yaml.SequenceNode || len(a.Content) == 0 {
			p.errorf(a, "any_of must be a non-empty list of code lists")
		} else {
			for _, set := range a.Content {
				codes := p.strs(set, "any_of set")
				if len(codes) == 0 {
					p.errorf(set, "an any_of set must hold at least one code")
				}
				r.AnyOf = append(r.AnyOf, codes)
			}
		}
	}
	if r.Metric == MetricPeople && r.AnyOf == nil {
		p.errorf(n, "metric people needs any_of")
	}
	if r.Metric != MetricPeople && r.AnyOf != nil {
		p.errorf(f["any_of"], "any_of applies to metric people only")
	}
	if r.Metric == MetricPeople && (r.Products != nil || r.Via != nil) {
		p.errorf(n, "products and via do not apply to metric people")
	}
	switch m := f[bound]; {
	case m == nil:
		p.errorf(n, "%s needs %s", what, bound)
	case m.Kind == yaml.MappingNode:
		mf := p.fields(m, bound, "developed", "developing")
		if mf["developed"] == nil || mf["developing"] == nil {
			p.errorf(m, "%s per market needs both developed and developing", bound)
		} else {
			r.Min = Min{Developed: p.number(mf["developed"], bound+" developed"), Developing: p.number(mf["developing"], bound+" developing")}
		}
	default:
		x := p.number(m, bound)
		r.Min = Min{Developed: x, Developing: x}
	}
	if !part {
		return r
	}
	if m := f[bound]; m != nil && (r.Min.Developed == 0 || r.Min.Developing == 0) {
		p.errorf(m, "full_at must be above 0")
	}
	switch pt := f["points"]; {
	case pt == nil:
		p.errorf(n, "part needs points")
	default:
		if r.Points = p.number(pt, "points"); r.Points == 0 {
			p.errorf(pt, "points must be above 0")
		}
	}
	if r.Metric == MetricActiveUsers || r.Metric == MetricSeats {
		// The projection keeps these two at their value at D (SPEC §4), which a
		// score's step function over time cannot hold; see docs/rules.md.
		p.errorf(f["metric"], "a part cannot score %s: its value is frozen at the as-of date, which a score's timeline does not model", r.Metric)
	}
	return r
}
