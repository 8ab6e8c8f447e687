package dispatch

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/xapibridge/bridge/lrs"
)

// checkTimeout bounds each request of CheckPersonalLRS with the default
// client.
const checkTimeout = 10 * time.Second

// checkClient does not follow redirects (neither do the forwarders: a
// redirected POST would be re-sent as a GET).
var checkClient = &http.Client{
	Timeout:       checkTimeout,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// CheckPersonalLRS checks that a personal LRS can be delivered to, before it
// is registered: the endpoint answers xAPI's About resource (GET
// <endpoint>/about: 200 with a JSON object whose "version" lists the xAPI
// version given), and takes the credentials (GET
// <endpoint>/statements?limit=1 with them is answered; 403, authenticated
// but not allowed to read, passes: the bridge only writes). xAPI has no
// resource for checking credentials alone; a statements query with limit=1
// is the cheapest request that needs them. client nil uses a client with a
// 10s timeout that does not follow redirects.
//
// The error (EINVALID) says what failed: the LRS is unreachable, is not an
// xAPI endpoint, does not speak the version, or refused the credentials
// (401), and which request answered what. It never contains a credential.
func CheckPersonalLRS(ctx context.Context, client *http.Client, endpoint, version string, cred PersonalCredentials) error {
	if client == nil {
		client = checkClient
	}
	base := strings.TrimSuffix(endpoint, "/")
	get := func(path string, auth bool) (*http.Response, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return nil, nil, lrs.Errorf(lrs.EINVALID, "endpoint: %v", err)
		}
		req.Header.Set("X-Experience-API-Version", version)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", "bridge")
		if auth {
			switch {
			case cred.Token != "":
				req.Header.Set("Authorization", "Bearer "+cred.Token)
			case cred.Username != "" || cred.Password != "":
				req.SetBasicAuth(cred.Username, cred.Password)
			}
		}
		res, err := client.Do(req)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // its text repeats the URL
			}
			return nil, nil, lrs.Errorf(lrs.EINVALID, "personal LRS unreachable: GET %s%s: %v", base, path, err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
		return res, body, nil
	}
	// What the LRS sent back is repeated to the operator, minus anything
	// that is a credential: some 401 pages and redirects echo them.
	var secrets []string
	for _, v := range []string{cred.Password, cred.Token} {
		if v != "" {
			secrets = append(secrets, v)
		}
	}
	if cred.Username != "" || cred.Password != "" {
		secrets = append(secrets, base64.StdEncoding.EncodeToString([]byte(cred.Username+":"+cred.Password)))
	}
	scrub := func(s string) string {
		for _, v := range secrets {
			s = strings.ReplaceAll(s, v, "[redacted]")
		}
		return s
	}
	answered := func(path string, res *http.Response, body []byte) string {
		s := fmt.Sprintf("GET %s%s answered %d %s", base, path, res.StatusCode, http.StatusText(res.StatusCode))
		if loc := res.Header.Get("Location"); loc != "" && res.StatusCode >= 300 && res.StatusCode < 400 {
			s += " (a redirect to " + scrub(PublicEndpoint(loc)) + ", not followed)"
		}
		if b := oneLine(body, 200); b != "" {
			s += ": " + scrub(b)
		}
		return s
	}

	res, body, err := get("/about", false)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return lrs.Errorf(lrs.EINVALID, "not an xAPI endpoint: %s; an LRS answers About with 200 and the xAPI versions it speaks: is %s the LRS's xAPI endpoint (often ending in /xapi)?",
			answered("/about", res, body), endpoint)
	}
	var about struct {
		Version []string `json:"version"`
	}
	if json.Unmarshal(body, &about) != nil || len(about.Version) == 0 {
		return lrs.Errorf(lrs.EINVALID, `not an xAPI endpoint: %s, which is not xAPI's About (a JSON object with "version": [...]): is %s the LRS's xAPI endpoint?`,
			answered("/about", res, body), endpoint)
	}
	if !slices.Contains(about.Version, version) {
		return lrs.Errorf(lrs.EINVALID, "the personal LRS does not speak xAPI %s: its About lists %s; register it with one of those versions",
			version, strings.Join(about.Version, ", "))
	}

	const probe = "/statements?limit=1"
	res, body, err = get(probe, true)
	if err != nil {
		return err
	}
	switch {
	case res.StatusCode >= 200 && res.StatusCode < 300, res.StatusCode == http.StatusForbidden:
		return nil
	case res.StatusCode == http.StatusUnauthorized:
		what := "no credentials were given"
		switch {
		case cred.Token != "":
			what = "check the token"
		case cred.Username != "" || cred.Password != "":
			what = "check the username and password"
		}
		return lrs.Errorf(lrs.EINVALID, "the personal LRS refused the credentials: %s; %s", answered(probe, res, body), what)
	default:
		return lrs.Errorf(lrs.EINVALID, "the personal LRS did not answer a statements request with the credentials: %s", answered(probe, res, body))
	}
}

// oneLine is a prefix of a response body, printable on one line.
func oneLine(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	s := strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(string(b), ""))
	return strings.Join(strings.Fields(s), " ")
}
