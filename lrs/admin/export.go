package admin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"strings"

	"github.com/xapibridge/bridge/lrs"
)

// Export formats.
const (
	FormatNDJSON = "ndjson"
	FormatCSV    = "csv"
)

// DefaultExportColumns are the CSV columns when none are chosen.
var DefaultExportColumns = []string{
	"id", "timestamp", "stored", "actor.name", "actor.mbox", "actor.account.homePage", "actor.account.name",
	"verb.id", "object.id", "result.score.scaled", "result.success", "result.completion", "context.registration",
}

// ExportFlushEvery is how many statements Export writes between flushes of
// a writer that can flush (an HTTP response), so a long export streams.
const ExportFlushEvery = 1000

// flusher is satisfied by http.ResponseWriter (and gin's).
type flusher interface{ Flush() }

// ParseExportColumns splits a comma-separated column list and checks every
// column is a dotted path (letters, digits, _, - and $ between dots);
// empty gives DefaultExportColumns.
func ParseExportColumns(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return DefaultExportColumns, nil
	}
	var cols []string
	for _, c := range strings.Split(s, ",") {
		c = strings.TrimSpace(c)
		if err := checkColumn(c); err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	return cols, nil
}

func checkColumn(c string) error {
	if c == "" {
		return lrs.Errorf(lrs.EINVALID, "columns: empty column name")
	}
	for _, part := range strings.Split(c, ".") {
		if part == "" {
			return lrs.Errorf(lrs.EINVALID, "columns: %q: empty path segment", c)
		}
		for _, r := range part {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '$') {
				return lrs.Errorf(lrs.EINVALID, "columns: %q: want dotted paths into the statement, like actor.account.name or context.contextActivities.parent.0.id", c)
			}
		}
	}
	return nil
}

// CheckExportFormat validates a format name ("" means ndjson).
func CheckExportFormat(f string) (string, error) {
	switch f {
	case "", FormatNDJSON:
		return FormatNDJSON, nil
	case FormatCSV:
		return FormatCSV, nil
	}
	return "", lrs.Errorf(lrs.EINVALID, "format: must be ndjson or csv, not %q", f)
}

// Export writes the statements of a store matching q (its filters, Since
// and Until; voided statements excluded, as in GET /statements), oldest
// first, to w: as NDJSON (one statement per line, exactly as stored) or as
// CSV with a header row and one column per dotted path into the statement
// (columns; nil for DefaultExportColumns). Strings are written as they are,
// numbers and booleans as JSON literals, objects and arrays as JSON, absent
// values empty; a cell a spreadsheet would take for a formula gets a
// leading ' (see neutralise). It reads the store in pages, so memory stays
// constant however many statements there are, and flushes w every
// ExportFlushEvery statements when w can flush. It returns how many
// statements it wrote.
//
// Nothing is written before the arguments are checked: an error with no
// statements written can still be answered normally.
func (a *Admin) Export(ctx context.Context, storeID int64, q lrs.Query, format string, columns []string, w io.Writer) (int64, error) {
	if a.Exporter == nil {
		return 0, lrs.Errorf(lrs.ENOTFOUND, "export is not available on this database")
	}
	format, err := CheckExportFormat(format)
	if err != nil {
		return 0, err
	}
	if format == FormatCSV {
		if len(columns) == 0 {
			columns = DefaultExportColumns
		}
		for _, c := range columns {
			if err := checkColumn(c); err != nil {
				return 0, err
			}
		}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	fl, _ := w.(flusher)
	var n int64
	var cw *csv.Writer
	flush := func() error {
		if cw != nil {
			cw.Flush()
			if err := cw.Error(); err != nil {
				return err
			}
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		if fl != nil {
			fl.Flush()
		}
		return nil
	}

	var emit func(st lrs.StoredStatement) error
	switch format {
	case FormatNDJSON:
		emit = func(st lrs.StoredStatement) error { return writeNDJSON(bw, st.Body) }
	case FormatCSV:
		cw = csv.NewWriter(bw)
		paths := make([][]string, len(columns))
		for i, c := range columns {
			paths[i] = strings.Split(c, ".")
		}
		header := make([]string, len(columns))
		for i, c := range columns {
			header[i] = neutralise(c)
		}
		if err := cw.Write(header); err != nil {
			return 0, err
		}
		record := make([]string, len(columns))
		emit = func(st lrs.StoredStatement) error {
			var v any
			dec := json.NewDecoder(bytes.NewReader(st.Body))
			dec.UseNumber()
			if err := dec.Decode(&v); err != nil {
				return lrs.Internal(err, "decoding stored statement "+st.ID)
			}
			for i, p := range paths {
				record[i] = neutralise(csvValue(lookupPath(v, p)))
			}
			return cw.Write(record)
		}
	}
	err = a.Exporter.ScanStatements(ctx, storeID, q, false, func(st lrs.StoredStatement) error {
		if err := emit(st); err != nil {
			return err
		}
		n++
		if n%ExportFlushEvery == 0 {
			return flush()
		}
		return nil
	})
	if ferr := flush(); err == nil {
		err = ferr
	}
	return n, err
}

// writeNDJSON writes body as one line: stored bodies are compact JSON, but
// a body with a newline (whitespace between tokens) is compacted first.
func writeNDJSON(w *bufio.Writer, body []byte) error {
	if bytes.IndexByte(body, '\n') >= 0 || bytes.IndexByte(body, '\r') >= 0 {
		var b bytes.Buffer
		if err := json.Compact(&b, body); err == nil {
			body = b.Bytes()
		}
	}
	if _, err := w.Write(body); err != nil {
		return err
	}
	return w.WriteByte('\n')
}

// lookupPath follows a dotted path through objects (by key) and arrays (by
// index); absent gives nil.
func lookupPath(v any, path []string) any {
	for _, p := range path {
		switch t := v.(type) {
		case map[string]any:
			v = t[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(t) {
				return nil
			}
			v = t[i]
		default:
			return nil
		}
	}
	return v
}

func csvValue(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case json.Number:
		return t.String()
	case bool:
		if t {
			return "true"
		}
		return "false"
	default:
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(t); err != nil {
			return ""
		}
		return strings.TrimSuffix(b.String(), "\n")
	}
}

// neutralise defuses CSV injection (OWASP): a cell that starts with =, +,
// -, @, a tab or a carriage return (or the full-width ＝ ＋ － ＠, which
// some spreadsheets in East Asian locales read as the ASCII ones) is
// prefixed with ', so a spreadsheet shows it as text instead of running it
// as a formula (=cmd|' /C calc'!A0, =HYPERLINK(...), @SUM(...), -2+3).
//
// A cell that is a plain JSON number (-1.5, -3e-7) is left alone, whatever
// JSON type it came from: a spreadsheet reads it as that number, and a
// number holds no function, reference or operator after its sign that a
// formula could use (an exponent's sign is part of the literal). Keeping
// it is what keeps result.score.raw, .min and .scaled numeric columns;
// prefixing a negative score would turn it into text and break every sum
// over the column.
func neutralise(cell string) string {
	if cell == "" || isJSONNumber(cell) {
		return cell
	}
	switch cell[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + cell
	}
	for _, p := range []string{"＝", "＋", "－", "＠"} {
		if strings.HasPrefix(cell, p) {
			return "'" + cell
		}
	}
	return cell
}

// isJSONNumber reports whether s is exactly a JSON number literal
// (RFC 8259: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?).
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}
