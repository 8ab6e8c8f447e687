package httpapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// stallingBody returns data, then blocks until released (a client that
// sends all but the end of its body and waits).
type stallingBody struct {
	r    io.Reader
	wait chan struct{}
}

func (b *stallingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		<-b.wait
		return 0, io.ErrUnexpectedEOF
	}
	return n, err
}

// Before its credentials are checked, an alternate-syntax form may have
// only a few fields, and only a few such forms are read at once, so
// clients without credentials can make the bridge hold neither much memory
// (many tiny fields cost far more parsed than raw) nor the in-flight budget
// authenticated requests need (review of issue 15 #1).
func TestFormsBeforeAuthBounded(t *testing.T) {
	s := newFakes().server()
	s.MaxFormBytesBeforeAuth = 64 << 10
	s.BodyBudgetWait = 100 * time.Millisecond
	h := s.Handler()

	t.Run("too many fields before authentication", func(t *testing.T) {
		form := strings.Repeat("a&", 200) + "content=x"
		r := httptest.NewRequest("POST", "/xapi/statements?method=PUT", strings.NewReader(form))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := serve(h, r)
		if w.Code != http.StatusRequestEntityTooLarge || !strings.Contains(w.Body.String(), "more than 64 fields") {
			t.Errorf("%d %s, want 413 naming the field limit", w.Code, w.Body.String())
		}
	})

	t.Run("a bounded number of unauthenticated forms at once", func(t *testing.T) {
		release := make(chan struct{})
		var wg sync.WaitGroup
		codes := make(chan int, maxFormsBeforeAuth+8)
		for range maxFormsBeforeAuth + 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := &stallingBody{r: strings.NewReader("X-Experience-API-Version=1.0.3&content=aaaa"), wait: release}
				r := httptest.NewRequest("POST", "/xapi/statements?method=PUT", body)
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				codes <- serve(h, r).Code
			}()
		}
		// The forms past the limit are refused while the others stall.
		deadline := time.After(5 * time.Second)
		refused := 0
		for refused < 8 {
			select {
			case c := <-codes:
				if c != http.StatusServiceUnavailable {
					t.Fatalf("a form past the limit answered %d, want 503", c)
				}
				refused++
			case <-deadline:
				t.Fatalf("%d forms refused within 5s, want 8 (the limit is %d)", refused, maxFormsBeforeAuth)
			}
		}
		close(release)
		wg.Wait()
	})
}
