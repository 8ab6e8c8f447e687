package integration_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// readmeSections are the sections of README.md whose ```sh blocks
// TestREADME runs, in this order, against one fresh bridge: each example
// builds on the ones before it, as a reader running them in order sees.
// block names the example a section must have (its first command starts
// with it), so that a README that loses it fails with a clear message; every
// ```sh block of the section is run.
var readmeSections = []struct{ heading, block string }{
	{"## Two commands", "KEY="},
	{"## Organisations, stores and credentials", "API="},
	{"### Persons", "curl"},
	{"### Export", "curl"},
	{"### Erasing a person", "curl"},
}

// readmeProvided are the variables the test sets itself: the README tells
// the reader to put the printed credential in KEY and SECRET, and makes
// TOKEN up while starting the bridge, which the test does.
var readmeProvided = []string{"KEY", "SECRET", "TOKEN"}

// readmeURL is where the README's bridge listens; commands are rewritten to
// the test bridge's base URL.
const readmeURL = "http://127.0.0.1:8080"

// TestREADME runs README.md's shell examples, as written and in order, on a
// fresh bridge, and checks what the README says about their answers: a curl
// command answers 2xx, or the status its trailing comment starts with
// ("# 409 while it has stores"); a `# {...}` or `# [...]` comment after a
// command, or trailing it, is the answer's body ("..." and "<placeholder>"
// stand for anything); every command exits 0. BRIDGE_TEST_README checks
// another file instead of ../README.md.
func TestREADME(t *testing.T) {
	path := "../README.md"
	if p := os.Getenv("BRIDGE_TEST_README"); p != "" {
		path = p
	}
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range runREADME(t, path, string(readme)) {
		t.Error(m)
	}
}

// TestREADMEReportsMismatches checks TestREADME's checks: a copy of the
// README with a wrong body, a wrong status and a failing bridge command must
// have each reported.
func TestREADMEReportsMismatches(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	// A body comment that cannot match: the first `# {` line of the
	// organisations example gets a field no answer has.
	secStart := strings.Index(text, "\n"+readmeSections[1].heading+"\n")
	bodyAt := strings.Index(text[max(secStart, 0):], "\n# {")
	if secStart < 0 || bodyAt < 0 {
		t.Fatalf("README.md: no `# {` comment in %q to break", readmeSections[1].heading)
	}
	bodyAt += secStart + len("\n# {")
	text = text[:bodyAt] + `"not_in_the_answer":1,` + text[bodyAt:]
	// Two commands that fail, appended to the erasure example's block.
	const (
		wrongStatus = `curl -H "$AUTH" $API/stores/no-such-store/stats`
		failing     = `bridge store stats no-such-store`
	)
	last := readmeSections[len(readmeSections)-1].heading
	secStart = strings.Index(text, "\n"+last+"\n")
	blockAt := strings.Index(text[max(secStart, 0):], "\n```sh\n")
	if secStart < 0 || blockAt < 0 {
		t.Fatalf("README.md: no ```sh block in %q", last)
	}
	blockAt += secStart + len("\n```sh\n")
	text = text[:blockAt] + wrongStatus + "\n" + failing + "\n" + text[blockAt:]

	found := map[string]bool{}
	for _, m := range runREADME(t, "README.md (broken copy)", text) {
		t.Log(m)
		switch {
		case strings.Contains(m, "not_in_the_answer") && strings.Contains(m, "body"):
			found["body"] = true
		case strings.Contains(m, wrongStatus) && strings.Contains(m, "status 404"):
			found["status"] = true
		case strings.Contains(m, failing) && strings.Contains(m, "exit status"):
			found["exit"] = true
		}
	}
	for _, k := range []string{"body", "status", "exit"} {
		if !found[k] {
			t.Errorf("the broken README's wrong %s was not reported", k)
		}
	}
}

// runREADME runs the examples of readme (read from name) against a fresh
// bridge and returns the mismatches, each naming the section, the command
// as written and what it did.
func runREADME(t *testing.T, name, readme string) []string {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		msg := "curl is needed to run README.md's examples (Debian: apt-get install curl)"
		if os.Getenv("BRIDGE_REQUIRE_NODE") != "" || os.Getenv("BRIDGE_REQUIRE_CURL") != "" || os.Getenv("CI") != "" {
			t.Fatalf("%s; BRIDGE_REQUIRE_NODE, BRIDGE_REQUIRE_CURL or CI is set: %v", msg, err)
		}
		t.Skip(msg + "; skipping (set BRIDGE_REQUIRE_CURL=1 to fail instead)")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatalf("bash is needed to run README.md's examples: %v", err)
	}

	// Read every section first: a README without one fails before anything runs.
	var cmds []readmeCmd
	for _, s := range readmeSections {
		c, err := readmeCommands(readme, s.heading, s.block)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cmds = append(cmds, c...)
	}

	dir := t.TempDir()
	token := randomHex(t, 24)
	cfg := filepath.Join(dir, "bridge.yaml")
	// No credentials: the bridge makes one up and prints it, as "Two
	// commands" says; the admin token is the README's TOKEN.
	yaml := fmt.Sprintf("listen: 127.0.0.1:0\ndata_dir: %q\nadmin:\n  tokens: [%q]\n", filepath.Join(dir, "bridge-data"), token)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	// `bridge` on PATH is this test binary, as the bridge.
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	wrapper := "#!/bin/sh\n" + childEnv + "=1 exec " + shellQuote(bridgeBin) + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "bridge"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}

	p := startBridge(t, dir, nil, "serve", "--config", cfg)
	credRE := regexp.MustCompile(`credential:\s+key (\S+) secret (\S+)`)
	var cred []string
	for deadline := time.Now().Add(5 * time.Second); cred == nil && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		cred = credRE.FindStringSubmatch(p.Stdout())
	}
	if cred == nil {
		t.Fatalf("the bridge printed no credential on first start:\n%s", p.Stdout())
	}
	provided := map[string]string{"KEY": cred[1], "SECRET": cred[2], "TOKEN": token}

	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "BRIDGE_"), k == childEnv, k == childLeaseEnv,
			k == "BASH_ENV", k == "ENV", k == "CDPATH":
		default:
			env[k] = v
		}
	}
	env["PATH"] = bin + string(os.PathListSeparator) + os.Getenv("PATH")
	env["BRIDGE_CONFIG"] = cfg
	for k, v := range provided {
		env[k] = v
	}

	headers := filepath.Join(dir, ".readme-test-headers")
	envFile := filepath.Join(dir, ".readme-test-env")
	// curl: no ~/.curlrc, no proxy, errors on stderr, the response's
	// headers (its status) in a file, the body where the command sends it.
	// set -a exports what a command assigns (API=..., AUTH=...), and the
	// EXIT trap saves the environment for the next command.
	prelude := `curl() { command curl -q --noproxy '*' -sS -D "$READMETEST_HEADERS" "$@"; }
trap 'env -0 > "$READMETEST_ENV"' EXIT
set -a
`
	var mismatches []string
	for _, c := range cmds {
		where := fmt.Sprintf("%s:%d (%s)", name, c.line, c.section)
		if why := c.skip(); why != "" {
			t.Logf("%s: skipped (%s):\n  %s", where, why, c.text)
			continue
		}
		code := strings.ReplaceAll(c.code, readmeURL, p.base)
		os.Remove(headers)
		os.Remove(envFile)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := exec.CommandContext(ctx, bash, "-c", prelude+code)
		cmd.Dir = dir
		cmd.Env = append(environ(env), "READMETEST_HEADERS="+headers, "READMETEST_ENV="+envFile)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		runErr := cmd.Run()
		cancel()

		if dump, err := os.ReadFile(envFile); err == nil {
			env = carriedEnv(dump)
			for k, v := range provided {
				env[k] = v
			}
		}
		var problems []string
		if runErr != nil {
			problems = append(problems, fmt.Sprintf("%v (want exit status 0)", runErr))
		}
		status := 0
		if c.program() == "curl" {
			hdr, _ := os.ReadFile(headers)
			status = lastStatus(string(hdr))
			want := c.wantStatus()
			switch {
			case status == 0:
				problems = append(problems, "no HTTP answer")
			case want == 0 && (status < 200 || status > 299):
				problems = append(problems, fmt.Sprintf("status %d, want 2xx (or a trailing comment naming the status)", status))
			case want != 0 && status != want:
				problems = append(problems, fmt.Sprintf("status %d, want %d (the trailing comment)", status, want))
			}
		}
		body := strings.TrimSpace(stdout.String())
		want := c.wantBody()
		if want != "" && !bodyPattern(want).MatchString(body) {
			problems = append(problems, fmt.Sprintf("body does not match the comment\n  want: %s\n  got:  %s", want, clip(body)))
		}
		if len(problems) == 0 {
			var ok []string
			if status != 0 {
				ok = append(ok, fmt.Sprintf("status %d", status))
			}
			if want != "" {
				ok = append(ok, "body as the comment says")
			}
			if len(ok) == 0 {
				ok = append(ok, "exit 0")
			}
			t.Logf("%s: %s\n  %s", where, strings.Join(ok, ", "), c.text)
			continue
		}
		mismatches = append(mismatches, fmt.Sprintf("%s:\n  %s\n%s\n  stdout: %s\n  stderr: %s",
			where, strings.ReplaceAll(c.text, "\n", "\n  "), "  "+strings.Join(problems, "\n  "),
			clip(stdout.String()), clip(stderr.String())))
	}
	if len(mismatches) > 0 {
		t.Logf("bridge stderr:\n%s", clip(p.Stderr()))
	}
	return mismatches
}

// readmeCmd is one command of a README example.
type readmeCmd struct {
	section string
	line    int      // of its first line in the README
	text    string   // as written
	code    string   // what bash runs: comments removed, continuations joined
	comment string   // its trailing comment
	after   []string // the comment lines right after it
}

var (
	assignRE  = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)=(?:"[^"]*"|'[^']*'|\$\([^)]*\)|[^\s"'])*\s*`)
	headingRE = regexp.MustCompile(`^#{1,6}\s`)
	statusRE  = regexp.MustCompile(`^([1-5][0-9][0-9])\b`)
	httpRE    = regexp.MustCompile(`(?m)^HTTP/\S+ ([0-9]{3})`)
	patternRE = regexp.MustCompile(`\.\.\.|<[^<>]*>`)
)

// words splits the command into its leading assignments and the rest.
func (c readmeCmd) words() (assigned []string, rest string) {
	rest = strings.TrimSpace(c.code)
	rest = strings.TrimSpace(strings.TrimPrefix(rest, "export "))
	for {
		m := assignRE.FindStringSubmatch(rest)
		if m == nil {
			return assigned, rest
		}
		assigned = append(assigned, m[1])
		rest = rest[len(m[0]):]
	}
}

// program is the command's first word after its assignments.
func (c readmeCmd) program() string {
	_, rest := c.words()
	prog, _, _ := strings.Cut(rest, " ")
	return prog
}

// skip says why the test does not run a command: the test starts the bridge
// itself and sets the variables it provides.
func (c readmeCmd) skip() string {
	assigned, rest := c.words()
	f := strings.Fields(rest)
	switch {
	case len(f) > 0 && f[0] == "go":
		return "go run/test: the test runs the bridge itself"
	case len(f) > 0 && f[0] == "bridge" && (len(f) == 1 || f[1] == "serve"):
		return "starts a bridge: the test runs the bridge itself"
	case len(f) == 0 && len(assigned) > 0:
		for _, a := range assigned {
			provided := false
			for _, p := range readmeProvided {
				provided = provided || a == p
			}
			if !provided {
				return ""
			}
		}
		return "the test sets " + strings.Join(assigned, " and ") + " (KEY and SECRET: the credential the bridge printed; TOKEN: its admin token)"
	}
	return ""
}

// wantStatus is the status a trailing comment starts with, or 0.
func (c readmeCmd) wantStatus() int {
	var n int
	if m := statusRE.FindStringSubmatch(c.comment); m != nil {
		fmt.Sscan(m[1], &n)
	}
	return n
}

// wantBody is the JSON the command's trailing comment, or the comment
// line after it, shows, or "".
func (c readmeCmd) wantBody() string {
	for _, s := range append([]string{c.comment}, c.after...) {
		if strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[") {
			return jsonPrefix(s)
		}
	}
	return ""
}

// jsonPrefix is the JSON value s starts with, without the prose after it.
func jsonPrefix(s string) string {
	depth, inString := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
			if depth == 0 {
				return s[:i+1]
			}
		}
	}
	return strings.TrimSpace(s)
}

// bodyPattern matches a body to a README comment: literally, except that
// "..." and "<placeholder>" match anything.
func bodyPattern(want string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`(?s)^`)
	last := 0
	for _, m := range patternRE.FindAllStringIndex(want, -1) {
		b.WriteString(regexp.QuoteMeta(want[last:m[0]]))
		b.WriteString(".*")
		last = m[1]
	}
	b.WriteString(regexp.QuoteMeta(want[last:]))
	b.WriteString(`$`)
	return regexp.MustCompile(b.String())
}

// readmeCommands returns the commands of the ```sh blocks of the section
// with this heading (up to the next heading), one of which must start with
// block.
func readmeCommands(readme, heading, block string) ([]readmeCmd, error) {
	lines := strings.Split(readme, "\n")
	var (
		section, fence, found bool
		inBlock, hasBlock     bool
		cmds                  []readmeCmd
		cur                   *readmeCmd
		scan                  shScan
		blockFirst            = true
	)
	for i, l := range lines {
		trimmed := strings.TrimSpace(l)
		if strings.HasPrefix(trimmed, "```") {
			if !fence {
				fence = true
				info := strings.TrimSpace(strings.TrimPrefix(trimmed, "```"))
				inBlock = section && (info == "sh" || info == "bash" || info == "shell")
				blockFirst = true
				continue
			}
			if inBlock && cur != nil {
				return nil, fmt.Errorf("line %d: unterminated command in section %q: %s", cur.line, heading, cur.text)
			}
			fence, inBlock = false, false
			continue
		}
		if !fence && headingRE.MatchString(l) {
			section = trimmed == heading
			found = found || section
			continue
		}
		if !inBlock {
			continue
		}
		if cur == nil {
			switch {
			case trimmed == "":
				continue
			case strings.HasPrefix(trimmed, "#"):
				if n := len(cmds); n > 0 && cmds[n-1].line+strings.Count(cmds[n-1].text, "\n")+len(cmds[n-1].after) == i {
					cmds[n-1].after = append(cmds[n-1].after, strings.TrimSpace(strings.TrimPrefix(trimmed, "#")))
				}
				continue
			}
			cur = &readmeCmd{section: heading, line: i + 1}
			if blockFirst && block != "" && strings.HasPrefix(trimmed, block) {
				hasBlock = true
			}
			blockFirst = false
			cur.text = l
		} else {
			cur.text += "\n" + l
		}
		code, comment, cont, quoted := scan.line(l)
		if comment != "" {
			cur.comment = comment
		}
		switch {
		case cont:
			cur.code += code + " "
		case quoted:
			cur.code += code + "\n"
		default:
			cur.code += code
			cmds = append(cmds, *cur)
			cur = nil
		}
	}
	switch {
	case !found:
		return nil, fmt.Errorf("no section %q", heading)
	case len(cmds) == 0:
		return nil, fmt.Errorf("section %q has no ```sh block with a command", heading)
	case block != "" && !hasBlock:
		return nil, fmt.Errorf("section %q has no ```sh block starting with %q", heading, block)
	}
	return cmds, nil
}

// shScan follows a shell command line by line: its quotes, backslash
// continuations and comments (no here-documents).
type shScan struct{ quote byte }

// line returns l without its comment, the comment, whether l ends in a
// backslash continuation and whether it ends inside quotes.
func (s *shScan) line(l string) (code, comment string, cont, quoted bool) {
	code = l
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch s.quote {
		case '\'':
			if c == '\'' {
				s.quote = 0
			}
			continue
		case '"':
			if c == '\\' {
				i++
			} else if c == '"' {
				s.quote = 0
			}
			continue
		}
		switch {
		case c == '\\' && i == len(l)-1:
			return l[:i], "", true, false
		case c == '\\':
			i++
		case c == '\'' || c == '"':
			s.quote = c
		case c == '#' && (i == 0 || l[i-1] == ' ' || l[i-1] == '\t'):
			return strings.TrimRight(l[:i], " \t"), strings.TrimSpace(l[i+1:]), false, false
		}
	}
	return code, "", false, s.quote != 0
}

// lastStatus is the status of the last response in a curl -D dump.
func lastStatus(headers string) int {
	m := httpRE.FindAllStringSubmatch(headers, -1)
	if len(m) == 0 {
		return 0
	}
	var n int
	fmt.Sscan(m[len(m)-1][1], &n)
	return n
}

// carriedEnv is the environment an `env -0` dump holds, without what each
// bash sets anew.
func carriedEnv(dump []byte) map[string]string {
	env := map[string]string{}
	for _, kv := range strings.Split(string(dump), "\x00") {
		k, v, ok := strings.Cut(kv, "=")
		switch {
		case !ok, k == "_", k == "SHLVL", k == "PWD", k == "OLDPWD",
			strings.HasPrefix(k, "READMETEST_"), strings.HasPrefix(k, "BASH_FUNC_"):
		default:
			env[k] = v
		}
	}
	return env
}

func environ(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 2000 {
		return s[:2000] + "... (" + fmt.Sprint(len(s)) + " bytes)"
	}
	return s
}
