package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// row is one line of the result table.
type row struct {
	scenario, db, figure, baseline, ratio, target, met string
	rssKB                                              int64 // bridge peak RSS (VmHWM / ru_maxrss), 0 when unknown
}

const rssLimitKB = 200 * 1024

func printTable(w io.Writer, rows []row) {
	fmt.Fprintln(w, "| scenario | db | figure | baseline | ratio | target | met? | bridge peak RSS |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		rss := ""
		if r.rssKB > 0 {
			rss = fmt.Sprintf("%.0f MB", float64(r.rssKB)/1024)
			if r.rssKB >= rssLimitKB {
				rss += " (over 200 MB)"
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.scenario, dbName(r.db), r.figure, dash(r.baseline), dash(r.ratio), dash(r.target), dash(r.met), dash(rss))
	}
}

func dbName(d string) string {
	if d == "mysql" {
		return "MariaDB"
	}
	if d == "sqlite" {
		return "SQLite"
	}
	return d
}

func dash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// met combines a figure's verdict with the memory target.
func metWithRSS(ok bool, rssKB int64) string {
	switch {
	case ok && rssKB < rssLimitKB:
		return "yes"
	case ok:
		return "**no** (memory)"
	case rssKB >= rssLimitKB:
		return "**no** (and memory)"
	}
	return "**no**"
}

func rate(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }

func fmtRate(r float64) string { return thousands(int64(r+0.5)) + "/s" }

func thousands(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func ms(d time.Duration) string {
	f := float64(d) / float64(time.Millisecond)
	switch {
	case f >= 100:
		return fmt.Sprintf("%.0f ms", f)
	case f >= 10:
		return fmt.Sprintf("%.1f ms", f)
	}
	return fmt.Sprintf("%.2f ms", f)
}

// percentile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.999999) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}

func sortDurations(d []time.Duration) []time.Duration {
	out := append([]time.Duration(nil), d...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
