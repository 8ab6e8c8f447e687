package moodle

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// memRepo serves records from memory (fixture data).
type memRepo map[string][]Row

func (m memRepo) ReadRecords(table string, query map[string]any, sortBy string) ([]Row, error) {
	var out []Row
	for _, r := range m[table] {
		ok := true
		for k, v := range query {
			if fmt.Sprint(r[k]) != fmt.Sprint(v) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, r)
		}
	}
	col, desc := strings.CutSuffix(sortBy, " DESC")
	if col == "" {
		col = "id"
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Int(col), out[j].Int(col)
		if desc {
			return a > b
		}
		return a < b
	})
	return out, nil
}

// rowsFromJSON decodes fixture tables; numbers become int64 or float64.
func rowsFromJSON(b []byte) (memRepo, error) {
	var raw map[string][]map[string]any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	out := memRepo{}
	for t, rows := range raw {
		for _, r := range rows {
			out[t] = append(out[t], rowFromJSON(r))
		}
	}
	return out, nil
}

func rowFromJSON(r map[string]any) Row {
	row := Row{}
	for k, v := range r {
		if n, ok := v.(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				row[k] = i
			} else {
				f, _ := n.Float64()
				row[k] = f
			}
			continue
		}
		row[k] = v
	}
	return row
}
