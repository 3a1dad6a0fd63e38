package synth

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"attain/pipeline"
)

// Options says what to generate.
type Options struct {
	Out      string
	Orgs     int
	From, To pipeline.Date
	Seed     uint64
	// BadFraction of rows are corrupted in one of the ways SPEC §3.3 rejects,
	// to exercise quarantine.
	BadFraction float64
}

// Products the generator sells, with the competencies they feed.
const (
	pAzure   = "AZURE"
	pO365    = "O365"
	pEMS     = "EMS"
	pPowerBI = "POWERBI"
	pDyn     = "DYN365"
)

// focus is a line of business; an organization has one or two. qualify are
// the codes one person holds to count for the focus's competency at Silver
// (gold: also at Gold), and silver, gold the people its paths need.
type focus struct {
	products     []string
	exams        []string
	assessments  []string
	qualify      [2][]string
	silver, gold int
}

var foci = []focus{
	{[]string{pAzure}, []string{"70-532", "70-533", "70-534", "70-535", "70-473", "70-475", "MCSA-LINUX-AZURE"}, []string{"AZ-TECH-ASSESS"},
		[2][]string{{"70-533"}, {"70-533"}}, 1, 2},
	{[]string{pO365}, []string{"70-346", "70-347", "MCSA-O365"}, nil,
		[2][]string{{"70-346", "70-347"}, {"70-346", "70-347"}}, 1, 2},
	{[]string{pEMS}, []string{"70-697", "70-398"}, []string{"EMS-OVERVIEW", "EMS-INTUNE", "EMS-AAD", "EMS-AIP", "EMS-ATA"},
		[2][]string{{"EMS-OVERVIEW", "EMS-INTUNE"}, {"EMS-OVERVIEW", "EMS-INTUNE"}}, 2, 4},
	{[]string{pPowerBI}, []string{"70-767", "70-768", "70-773", "70-774", "70-775"}, []string{"DA-FOUNDATIONAL", "DA-BI", "DA-AA", "DA-BD"},
		[2][]string{{"70-767", "70-768", "DA-FOUNDATIONAL"}, {"70-767", "70-768", "DA-FOUNDATIONAL"}}, 1, 2},
	{[]string{pAzure, pDyn}, []string{"70-480", "70-483", "70-486", "70-357", "70-354", "70-355", "70-487", "MCSD-APP-BUILDER"}, nil,
		[2][]string{{"70-480"}, {"70-480", "MCSD-APP-BUILDER"}}, 2, 4},
	{[]string{pAzure}, []string{"74-409", "70-410", "70-411", "70-412", "70-413", "70-740", "70-741", "70-742", "MCSA-WS2016"}, nil,
		[2][]string{{"70-410"}, {"70-410", "MCSA-WS2016"}}, 2, 4},
}

var countries = []struct {
	code, currency string
	weight         int
}{
	{"US", "USD", 30}, {"GB", "GBP", 8}, {"DE", "EUR", 8}, {"FR", "EUR", 6}, {"NL", "EUR", 3},
	{"JP", "JPY", 5}, {"AU", "AUD", 4}, {"CA", "CAD", 4}, {"IN", "INR", 12}, {"BR", "BRL", 8},
	{"ZA", "ZAR", 5}, {"", "USD", 3},
}

var usdPer = map[string]float64{"EUR": 1.1, "GBP": 1.27, "JPY": 0.0068, "AUD": 0.66, "CAD": 0.74, "INR": 0.012, "BRL": 0.19, "ZAR": 0.055}

var nameWords = []string{"Contoso", "Fabrikam", "Northwind", "Tailspin", "Litware", "Adatum", "Proseware", "Wingtip",
	"Woodgrove", "Coho", "Humongous", "Lucerne", "Margie's", "Trey", "Wide World", "Alpine", "Blue Yonder", "Fourth Coffee"}
var nameTails = []string{"Ltd", "Inc.", "GmbH", "Consulting", "Cloud Services", "Solutions, Inc.", "Partners", "S.A.", "\"Digital\" Group"}

var attributions = []string{"dpor", "dpor", "transacting", "transacting", "transacting", "delegated_admin", "fasttrack", "cpor", "csp", ""}

type customer struct {
	id      string
	product string
	added   pipeline.Date
	attr    string
	users   int
	seats   int
}

type person struct {
	id      string
	org     int // index, -1 when not associated
	since   pipeline.Date
	leaveOn pipeline.Date // a departure planned for the last days (0: none)
	stays   bool          // moves only on leaveOn (a thin member's qualified people)
}

type org struct {
	id, country, currency string
	size                  float64
	foci                  []int
	customers             []customer
	people                []int // indexes into gen.people of those who joined here
	rng                   *rand.Rand
	txn                   int
	anniversary           pipeline.Date
	level                 string // of its membership, "" when it has none
	thin                  bool   // a member with no qualified person to spare
}

type gen struct {
	opt     Options
	orgs    []*org
	people  []*person
	files   map[string]*outFile
	bad     *rand.Rand
	rates   map[string]float64
	pending map[pipeline.Date][]row
	err     error
}

type outFile struct {
	f *os.File
	b *bufio.Writer
	w *csv.Writer
}

// Header rows, one per feed.
var headers = map[string][]string{}

func init() {
	for _, f := range pipeline.Feeds {
		var h []string
		for _, c := range f.Columns {
			h = append(h, c.Name)
		}
		headers[f.Name] = h
	}
}

// Generate writes the inbox. It fails only when the files cannot be written.
func Generate(opt Options) error {
	if opt.Orgs <= 0 || opt.To < opt.From {
		return fmt.Errorf("%w: gen needs --orgs > 0 and --from <= --to", pipeline.ErrUsage)
	}
	if err := os.MkdirAll(opt.Out, 0o755); err != nil {
		return err
	}
	g := &gen{opt: opt, files: map[string]*outFile{}, bad: rand.New(rand.NewPCG(opt.Seed, 0xbad)), rates: map[string]float64{}, pending: map[pipeline.Date][]row{}}
	for c, r := range usdPer {
		g.rates[c] = r
	}
	g.setup()
	for d := opt.From; d <= opt.To; d++ {
		for _, r := range g.pending[d] {
			g.emit(r.feed, d, r.fields...)
		}
		delete(g.pending, d)
		g.day(d)
		if err := g.closeDay(); err != nil {
			return err
		}
	}
	return nil
}

func (g *gen) setup() {
	weights := 0
	for _, c := range countries {
		weights += c.weight
	}
	for i := 0; i < g.opt.Orgs; i++ {
		rng := rand.New(rand.NewPCG(g.opt.Seed, uint64(i)+1))
		o := &org{id: fmt.Sprintf("ORG-%06d", i+1), rng: rng}
		w := rng.IntN(weights)
		for _, c := range countries {
			if w -= c.weight; w < 0 {
				o.country, o.currency = c.code, c.currency
				break
			}
		}
		// Pareto-distributed size: a few large partners, many small ones.
		o.size = math.Min(40, 1/math.Pow(1-rng.Float64(), 1/1.3))
		o.foci = []int{rng.IntN(len(foci))}
		if rng.IntN(3) == 0 {
			o.foci = append(o.foci, rng.IntN(len(foci)))
		}
		g.orgs = append(g.orgs, o)
	}
}

func (g *gen) products(o *org) []string {
	var ps []string
	for _, f := range o.foci {
		ps = append(ps, foci[f].products...)
	}
	return ps
}

// day writes everything delivered on d.
func (g *gen) day(d pipeline.Date) {
	first := d == g.opt.From
	if first {
		for i, o := range g.orgs {
			name := fmt.Sprintf("%s %s %d", nameWords[o.rng.IntN(len(nameWords))], nameTails[o.rng.IntN(len(nameTails))], i+1)
			g.emit("organizations", d, o.id, name, o.country)
		}
	}
	y, m, dom := d.Time().Date()
	if dom == 1 || first {
		months := []pipeline.Date{pipeline.DateOf(y, m, 1)}
		if first { // revenue booked in the days before the first delivery needs last month's rates
			months = append([]pipeline.Date{pipeline.DateOf(y, m-1, 1)}, months...)
		}
		for _, month := range months {
			for _, c := range sortedCurrencies {
				g.rates[c] *= 1 + (g.bad.Float64()-0.5)*0.04
				g.emit("fx_rates", d, c, month.String()[:7], strconv.FormatFloat(g.rates[c], 'f', 6, 64))
			}
		}
	}
	for i, o := range g.orgs {
		g.orgDay(d, i, o, first)
	}
}

var sortedCurrencies = []string{"AUD", "BRL", "CAD", "EUR", "GBP", "INR", "JPY", "ZAR"}

func (g *gen) orgDay(d pipeline.Date, i int, o *org, first bool) {
	rng := o.rng
	span := int(g.opt.To - g.opt.From + 1)
	if first {
		// Memberships with anniversaries all year round; renewals come as new
		// rows. A member is a partner that meets its level: bigger, and with
		// the qualified people its focus needs, some with none to spare.
		if rng.IntN(10) < 7 {
			o.level = "silver"
			if rng.IntN(5) == 0 {
				o.level = "gold"
			}
			o.size = max(o.size, map[string]float64{"silver": 2.5, "gold": 5}[o.level])
			g.membership(d, o, d.AddDays(-rng.IntN(330)))
			f := foci[o.foci[0]]
			need, qualify := f.silver, f.qualify[0]
			if o.level == "gold" {
				need, qualify = f.gold, f.qualify[1]
			}
			o.thin = rng.IntN(3) == 0 // two in three have two to spare
			if !o.thin {
				need += 2
			}
			for k := 0; k < need; k++ {
				g.hireQualified(d, o, i, qualify, span, rng)
			}
		}
		for k := 0; k < 1+int(o.size*1.5) && k < 40; k++ {
			g.hire(d, o, i, d, rng)
		}
		for k := 0; k < 2+int(o.size*2) && k < 60; k++ {
			g.addCustomer(d, o, d.AddDays(-rng.IntN(300)), rng)
		}
		return
	}
	// Memberships renew on their anniversary (most do).
	if o.membershipDue(d) {
		if rng.IntN(10) < 8 {
			g.membership(d, o, d)
		} else {
			o.level = ""
		}
	}
	if rng.Float64() < 0.004*o.size {
		g.addCustomer(d, o, d, rng)
	}
	if rng.Float64() < 0.002*o.size {
		g.hire(d, o, i, d, rng)
	}
	// Revenue: Poisson arrivals scaled by size.
	for n := poisson(rng, 0.17*o.size); n > 0; n-- {
		c := o.customers[rng.IntN(len(o.customers))]
		o.txn++
		amount := math.Exp(rng.NormFloat64()*0.9+7) * o.size / 3
		if rng.IntN(25) == 0 {
			amount = -amount / 2 // a credit
		}
		if o.currency != "USD" {
			amount /= usdPer[o.currency]
		}
		booked := d.AddDays(-rng.IntN(4))
		txn := fmt.Sprintf("T-%s-%06d", o.id[4:], o.txn)
		g.emit("revenue", d, txn, o.id, c.id, c.product, money(amount), o.currency, booked.String(), c.attr)
		if rng.IntN(200) == 0 { // a restatement a few days later
			// one in four books the transaction to the next organization
			// instead: restatement by key moves it (SPEC §3.2, §7.1)
			owner := o.id
			if o.txn%4 == 0 {
				owner = g.orgs[(i+1)%len(g.orgs)].id
			}
			g.later("revenue", d.AddDays(1+rng.IntN(5)), txn, owner, c.id, c.product, money(amount*0.9), o.currency, booked.String(), c.attr)
		}
	}
	y, m, dom := d.Time().Date()
	if dom == 3 { // usage of the month just ended
		month := pipeline.DateOf(y, m-1, 1).String()[:7]
		for k := range o.customers {
			c := &o.customers[k]
			if c.product == pO365 || c.product == pEMS {
				c.users = max(0, c.users+rng.IntN(41)-15)
				g.emit("usage", d, o.id, c.id, c.product, month, strconv.Itoa(c.users), c.attr)
			}
		}
	}
	if dom == 1 { // monthly seat snapshots
		for k := range o.customers {
			c := &o.customers[k]
			if c.product == pPowerBI || c.product == pEMS {
				c.seats = max(0, c.seats+rng.IntN(61)-20)
				g.emit("seats", d, o.id, c.id, c.product, d.String(), strconv.Itoa(c.seats), c.attr)
			}
		}
	}
	// People pass exams and assessments, move and leave.
	for _, pi := range o.people {
		p := g.people[pi]
		if p.org != i {
			continue
		}
		if rng.Float64() < 0.006 && !o.thin { // a thin member's people study no more
			f := foci[o.foci[rng.IntN(len(o.foci))]]
			exam := rng.IntN(3) > 0 || len(f.assessments) == 0
			feed, codes := "exams", f.exams
			if !exam {
				feed, codes = "assessments", f.assessments
			}
			expires := ""
			if rng.IntN(4) == 0 {
				expires = d.AddDays(200 + rng.IntN(500)).String()
			}
			g.emit(feed, d, p.id, codes[rng.IntN(len(codes))], d.AddDays(-rng.IntN(3)).String(), expires)
		}
		if p.leaveOn == d {
			g.emit("associations", d, p.id, "", "disassociate", timestamp(d, rng))
			p.org = -1
			continue
		}
		if rng.Float64() < 0.0002 && span > 0 && !p.stays {
			at := timestamp(d, rng)
			if rng.IntN(2) == 0 {
				g.emit("associations", d, p.id, "", "disassociate", at)
				p.org = -1
			} else {
				to := rng.IntN(len(g.orgs))
				g.emit("associations", d, p.id, g.orgs[to].id, "associate", at)
				p.org, p.since = to, d
				g.orgs[to].people = append(g.orgs[to].people, pi)
			}
		}
	}
	if rng.Float64() < 0.02/float64(span) {
		comp := competencyIDs[rng.IntN(len(competencyIDs))]
		level := []string{"silver", "gold"}[rng.IntN(2)]
		expires := ""
		if rng.IntN(2) == 0 {
			expires = d.AddDays(30 + rng.IntN(150)).String()
		}
		g.emit("overrides", d, o.id, comp, level, d.String(), expires, "program exception", "pm-"+strconv.Itoa(rng.IntN(9)))
	}
}

var competencyIDs = []string{"cloud-platform", "cloud-productivity", "small-midmarket-cloud", "data-analytics",
	"application-development", "enterprise-mobility", "datacenter"}

// membershipDue reports whether o's latest membership has its anniversary on d.
func (o *org) membershipDue(d pipeline.Date) bool { return o.anniversary == d }

func (g *gen) membership(d pipeline.Date, o *org, bought pipeline.Date) {
	o.anniversary = bought.AddMonths(12)
	g.emit("memberships", d, o.id, o.level, bought.String(), o.anniversary.String())
}

// hireQualified adds a person who holds the codes qualify. At a thin member
// one in four holds them until a date from 45 days before the last delivery
// to 285 after it (a few have lapsed, more are about to: at risk), and one in
// four leaves on the last delivery's date, unannounced: what the demo's alerts
// are made of. Elsewhere one in eight expires, and one in forty leaves
// in the last five days. A thin member's qualified people do not move
// otherwise.
func (g *gen) hireQualified(d pipeline.Date, o *org, i int, qualify []string, span int, rng *rand.Rand) {
	p := &person{id: fmt.Sprintf("IND-%07d", len(g.people)+1), org: i, since: d, stays: o.thin}
	g.people = append(g.people, p)
	o.people = append(o.people, len(g.people)-1)
	g.emit("associations", d, p.id, o.id, "associate", timestamp(d, rng))
	expires := ""
	if rng.IntN(map[bool]int{true: 4, false: 8}[o.thin]) == 0 {
		expires = g.opt.To.AddDays(-45 + rng.IntN(330)).String()
	}
	switch {
	case span <= 10:
	case o.thin && rng.IntN(4) == 0:
		p.leaveOn = g.opt.To
	case !o.thin && rng.IntN(40) == 0:
		p.leaveOn = g.opt.To.AddDays(-rng.IntN(5))
	}
	passed := d.AddDays(-1 - rng.IntN(400))
	for _, code := range qualify {
		feed := "exams"
		if isAssessment(code) {
			feed = "assessments"
		}
		g.emit(feed, d, p.id, code, passed.String(), expires)
	}
}

// isAssessment tells an assessment code from an exam code.
func isAssessment(code string) bool {
	for _, f := range foci {
		if slices.Contains(f.assessments, code) {
			return true
		}
	}
	return false
}

func (g *gen) hire(d pipeline.Date, o *org, i int, since pipeline.Date, rng *rand.Rand) {
	p := &person{id: fmt.Sprintf("IND-%07d", len(g.people)+1), org: i, since: since}
	g.people = append(g.people, p)
	o.people = append(o.people, len(g.people)-1)
	g.emit("associations", d, p.id, o.id, "associate", timestamp(d, rng))
	// Most arrive already holding something of their organization's focus;
	// at a thin member, nothing yet.
	if o.thin {
		return
	}
	f := foci[o.foci[0]]
	held := map[string]bool{} // an exam row's key is (individual, code, passed_on)
	for k := rng.IntN(3); k > 0; k-- {
		passed := d.AddDays(-1 - rng.IntN(400))
		code := f.exams[rng.IntN(len(f.exams))]
		if held[code+passed.String()] {
			continue
		}
		held[code+passed.String()] = true
		g.emit("exams", d, p.id, code, passed.String(), "")
	}
	if len(f.assessments) > 0 && rng.IntN(2) == 0 {
		g.emit("assessments", d, p.id, f.assessments[rng.IntN(len(f.assessments))], d.AddDays(-1-rng.IntN(200)).String(), "")
	}
}

func (g *gen) addCustomer(d pipeline.Date, o *org, added pipeline.Date, rng *rand.Rand) {
	ps := g.products(o)
	c := customer{id: fmt.Sprintf("C-%s-%04d", o.id[4:], len(o.customers)+1), product: ps[rng.IntN(len(ps))],
		added: added, attr: attributions[rng.IntN(len(attributions))],
		users: int(o.size * float64(50+rng.IntN(400))), seats: int(o.size * float64(20+rng.IntN(200)))}
	o.customers = append(o.customers, c)
	g.emit("customers", d, o.id, c.id, c.product, added.String(), c.attr)
}

func timestamp(d pipeline.Date, rng *rand.Rand) string {
	return d.Time().Add(time.Duration(rng.IntN(86400)) * time.Second).Format(time.RFC3339)
}

func money(x float64) string { return strconv.FormatFloat(math.Round(x*100)/100, 'f', 2, 64) }

func poisson(rng *rand.Rand, lambda float64) int {
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

type row struct {
	feed   string
	fields []string
}

// emit writes one row of feed into the file delivered on d.
func (g *gen) emit(feed string, d pipeline.Date, fields ...string) {
	out := g.file(feed, d)
	if g.opt.BadFraction > 0 && g.bad.Float64() < g.opt.BadFraction {
		switch g.bad.IntN(3) {
		case 0: // a field short
			fields = fields[:len(fields)-1]
		case 1: // a required value missing: the first column is required in every feed
			fields = append([]string{""}, fields[1:]...)
		default: // the key repeated within the file
			out.w.Write(fields)
		}
	}
	out.w.Write(fields)
}

// later queues a row for a delivery after today (a restatement).
func (g *gen) later(feed string, d pipeline.Date, fields ...string) {
	if d > g.opt.To {
		return
	}
	g.pending[d] = append(g.pending[d], row{feed, fields})
}

func (g *gen) file(feed string, d pipeline.Date) *outFile {
	if f, ok := g.files[feed]; ok {
		return f
	}
	f, err := os.Create(filepath.Join(g.opt.Out, pipeline.DeliveryFile(feed, d, "")))
	if err != nil {
		g.err = err
		f, _ = os.Open(os.DevNull)
	}
	b := bufio.NewWriterSize(f, 64<<10)
	out := &outFile{f: f, b: b, w: csv.NewWriter(b)}
	out.w.Write(headers[feed])
	g.files[feed] = out
	return out
}

// closeDay finishes the day's files.
func (g *gen) closeDay() error {
	for _, feed := range pipeline.Feeds {
		out, ok := g.files[feed.Name]
		if !ok {
			continue
		}
		out.w.Flush()
		if err := out.w.Error(); err != nil && g.err == nil {
			g.err = err
		}
		if err := out.b.Flush(); err != nil && g.err == nil {
			g.err = err
		}
		if err := out.f.Close(); err != nil && g.err == nil {
			g.err = err
		}
		delete(g.files, feed.Name)
	}
	return g.err
}
