package filter

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"strconv"
)

// A deterministic generator for the citylots benchmark data set, so tests
// and benchmarks need nothing outside the repository. It follows
// citylots2-synthetic.gen.py (the shared data set's generator): the same
// record shape (GeoJSON Feature, properties.*, Polygon or MultiPolygon rings
// of {x,y,z} objects, geometry.firstCoordinates), the same value ranges and
// street/type frequencies, and the same record count. The values differ
// from the Python file's (another PRNG), so compare match counts only
// between runs of the same source; set EVCLI_CITYLOTS to a .json.gz file to
// benchmark a file instead.

// cityLotsN is the data set's size: 213,068 features, as citylots2.
const cityLotsN = 213068

// cityLotsTestN is how many features a plain `go test` (no -bench)
// generates: the cross-checks sample every 97th line, so this keeps them
// quick under -race while still covering every rule set.
const cityLotsTestN = 30000

// benchmarking reports whether the test binary runs with -test.bench.
func benchmarking() bool {
	f := flag.Lookup("test.bench")
	return f != nil && f.Value.String() != ""
}

type weighted struct {
	v string
	w int
}

var cityStreets = []weighted{
	{"UNKNOWN", 40}, {"MISSION", 30}, {"WASHINGTON", 25}, {"JACKSON", 22}, {"FULTON", 20}, {"MASON", 18},
	{"CLAYTON", 12}, {"LINCOLN", 14}, {"MADISON", 8}, {"HUDSON", 6}, {"JEFFERSON", 6}, {"BEACH", 5},
	{"HYDE", 9}, {"CHESTNUT", 8}, {"LAKE", 10}, {"PARK", 9}, {"DRAKE", 3}, {"BLAKE", 3}, {"BLUXOME", 2},
	{"ACACIA", 1}, {"ACADIA", 1}, {"DRUMM", 1}, {"FUNSTON", 6}, {"FUENTE", 2}, {"RHODE ISLAND", 4},
	{"RHINE", 1}, {"KING", 5}, {"SPRING", 4}, {"STERLING", 3}, {"CHICAGO", 3}, {"SAN DIEGO", 2},
	{"AMIGO", 1}, {"HAMM", 1}, {"CRANLEIGH", 1}, {"17TH", 12}, {"24TH", 11}, {"ASHBURY", 4},
	{"CASTRO", 8}, {"NOE", 6}, {"VALENCIA", 7}, {"GEARY", 10}, {"IRVING", 9}, {"TARAVAL", 9},
}

// "" is a feature without ST_TYPE (null in the data set).
var cityStTypes = []weighted{{"ST", 55}, {"AVE", 25}, {"BLVD", 3}, {"WAY", 4}, {"TER", 3}, {"PL", 3}, {"", 7}}

func pickWeighted(r *rand.Rand, ws []weighted) string {
	total := 0
	for _, w := range ws {
		total += w.w
	}
	n := r.IntN(total)
	for _, w := range ws {
		if n < w.w {
			return w.v
		}
		n -= w.w
	}
	return ws[len(ws)-1].v
}

func uniform(r *rand.Rand, lo, hi float64) float64 { return lo + r.Float64()*(hi-lo) }

func appendPoint(b []byte, x, y float64) []byte {
	b = append(b, `{"x":`...)
	b = strconv.AppendFloat(b, x, 'f', -1, 64)
	b = append(b, `,"y":`...)
	b = strconv.AppendFloat(b, y, 'f', -1, 64)
	return append(b, `,"z":0.0}`...)
}

// appendRing appends a closed ring of 4–9 points around (cx, cy) and
// returns its first point.
func appendRing(b []byte, r *rand.Rand, cx, cy float64) ([]byte, [2]float64) {
	n := 4 + r.IntN(6)
	pts := make([][2]float64, n, n+1)
	for i := range pts {
		pts[i] = [2]float64{cx + uniform(r, -0.0004, 0.0004), cy + uniform(r, -0.0004, 0.0004)}
	}
	pts = append(pts, pts[0])
	b = append(b, '[')
	for i, p := range pts {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendPoint(b, p[0], p[1])
	}
	return append(b, ']'), pts[0]
}

// generateCityLots returns n features, one JSON object per line, the same
// for every call with the same n (a prefix of any larger n).
func generateCityLots(n int) [][]byte {
	r := rand.New(rand.NewPCG(20240611, 213068))
	lines := make([][]byte, 0, n)
	buf := make([]byte, 0, n*760)
	for range n {
		start := len(buf)
		block, lot := 1+r.IntN(7500), 1+r.IntN(300)
		mbl := fmt.Sprintf("%04d%03d", block, lot)
		if r.Float64() < 0.00002 {
			mbl = "VACST" + []string{"WIL", "ADA", "ZOE"}[r.IntN(3)]
		}
		street, stType := pickWeighted(r, cityStreets), pickWeighted(r, cityStTypes)
		from := r.IntN(4000)
		to := from + []int{0, 2, 4, 10}[r.IntN(4)]
		oddEven := "O"
		if from%2 == 0 {
			oddEven = "E"
		}
		st := "null"
		if stType != "" {
			st = strconv.Quote(stType)
		}
		buf = fmt.Appendf(buf, `{"type":"Feature","properties":{"MAPBLKLOT":%q,"BLKLOT":%q,"BLOCK_NUM":%q,"LOT_NUM":%q,"FROM_ST":"%d","TO_ST":"%d","STREET":%q,"ST_TYPE":%s,"ODD_EVEN":%q},"geometry":`,
			mbl, mbl, mbl[:4], mbl[4:], from, to, street, st, oddEven)
		cx, cy := uniform(r, -122.514, -122.357), uniform(r, 37.708, 37.832)
		var first [2]float64
		if r.Float64() < 0.00056 {
			buf = append(buf, `{"type":"MultiPolygon","coordinates":[[`...)
			buf, first = appendRing(buf, r, cx, cy)
			buf = append(buf, `],[`...)
			buf, _ = appendRing(buf, r, cx+0.001, cy)
			buf = append(buf, `]]`...)
		} else {
			buf = append(buf, `{"type":"Polygon","coordinates":[`...)
			buf, first = appendRing(buf, r, cx, cy)
			buf = append(buf, ']')
		}
		buf = append(buf, `,"firstCoordinates":`...)
		buf = appendPoint(buf, first[0], first[1])
		buf = append(buf, "}}"...)
		lines = append(lines, buf[start:len(buf):len(buf)])
	}
	return lines
}
