package dispatch

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// An LRS whose 401 page echoes the credentials (some do) or redirects to a
// URL carrying them: the check's error, shown to the operator, repeats
// neither (review of issue 15 #10).
func TestCheckPersonalLRSScrubsEchoedCredentials(t *testing.T) {
	const user, pass = "ann", "s3cret-pa55"
	basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	for _, mode := range []string{"echo", "redirect"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/about") {
				w.Write([]byte(`{"version":["1.0.3","2.0.0"]}`))
				return
			}
			if mode == "redirect" {
				w.Header().Set("Location", "https://login.example/?user="+user+"&password="+pass)
				w.WriteHeader(http.StatusFound)
				return
			}
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte("bad credentials: " + r.Header.Get("Authorization") + " password " + pass))
		}))
		err := CheckPersonalLRS(context.Background(), nil, srv.URL+"/xapi", "1.0.3", PersonalCredentials{Username: user, Password: pass})
		srv.Close()
		if err == nil {
			t.Fatalf("%s: the check passed", mode)
		}
		if msg := err.Error(); strings.Contains(msg, pass) || strings.Contains(msg, basic) {
			t.Errorf("%s: the error repeats the credentials: %s", mode, msg)
		}
	}
}
