package sql

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"attain/duck"
)

// macros runs the CREATE MACRO statements of a rule file, and no others.
func macros(t *testing.T, e *Engine, file string) {
	t.Helper()
	src, err := source(file, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range duck.Statements(src) {
		if strings.Contains(st, "CREATE OR REPLACE TEMP MACRO") {
			if err := e.Exec(context.Background(), st); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// largestAtMost is the largest float64 at most x·10⁻¹⁶, by exact arithmetic.
func largestAtMost(x *big.Int) float64 {
	r := new(big.Rat).SetFrac(x, new(big.Int).Exp(big.NewInt(10), big.NewInt(16), nil))
	f, _ := r.Float64() // the nearest
	if new(big.Rat).SetFloat64(f).Cmp(r) > 0 {
		f = math.Nextafter(f, math.Inf(-1))
	}
	return f
}

// TestDoubleDownIsExact: the DOUBLE a money sum is compared with a minimum by
// (timelines.sql's double_down, of a HUGEINT of 10⁻¹⁶ USD) is the largest DOUBLE
// at most the sum, on sums of every size a revenue total takes, on sums just
// beside a DOUBLE (where two roundings would land on the wrong side) and on
// small and negative ones.
func TestDoubleDownIsExact(t *testing.T) {
	e := testEngine(t)
	macros(t, e, "timelines.sql")
	rng := rand.New(rand.NewPCG(1, 2))
	e16 := new(big.Int).Exp(big.NewInt(10), big.NewInt(16), nil)
	var xs []*big.Int
	for _, s := range []string{"0", "1", "-1", "5", "-5", "9999", "10000000000000000", "149999999999999999999", "150000000000000000000",
		"-150000000000000000000", "999999999999999999999999999999", "11258999068426240000000000000000", "99999999999999999999999999999999999"} {
		x, _ := new(big.Int).SetString(s, 10)
		xs = append(xs, x)
	}
	for range 3000 {
		// a sum of up to 10⁵ USD with 16 places
		x := new(big.Int).Mul(big.NewInt(rng.Int64N(1_000_000_000)), big.NewInt(rng.Int64N(1_000_000_000_000)))
		if rng.IntN(4) == 0 {
			x.Neg(x)
		}
		xs = append(xs, x)
		// a DOUBLE's exact value, and one 10⁻¹⁶ to either side of it (rounded to 10⁻¹⁶)
		f := math.Ldexp(float64(rng.Int64N(1<<53)), -rng.IntN(60))
		exact, _ := new(big.Float).SetPrec(2000).Mul(new(big.Float).SetFloat64(f), new(big.Float).SetInt(e16)).Int(nil)
		xs = append(xs, exact, new(big.Int).Add(exact, big.NewInt(1)), new(big.Int).Sub(exact, big.NewInt(1)))
	}
	var lits []string
	for _, x := range xs {
		lits = append(lits, fmt.Sprintf("(%s::HUGEINT)", x))
	}
	rows, err := e.Query(context.Background(), fmt.Sprintf("SELECT CAST(x AS VARCHAR), double_down(x) FROM (VALUES %s) v(x)", strings.Join(lits, ", ")))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(xs) {
		t.Fatalf("%d rows for %d sums", len(rows), len(xs))
	}
	for _, r := range rows {
		x, _ := new(big.Int).SetString(r[0].(string), 10)
		if got, want := r[1].(float64), largestAtMost(x); got != want {
			t.Errorf("double_down(%s·10⁻¹⁶) = %v, want %v (the largest DOUBLE at most it)", x, got, want)
		}
	}
}
