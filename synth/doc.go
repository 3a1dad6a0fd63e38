// Package synth writes a deterministic synthetic inbox of all eleven feeds:
// the demo data, the test data at scale and the benchmark data. The same
// options give byte-identical files.
package synth
