package store

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xapibridge/bridge/lrs"
)

// GroupCommit wraps a statement store so that concurrent small POSTs share
// one transaction.
//
// A single-statement POST costs a handful of database round trips and one
// durable commit, nearly all of it fixed per transaction. When requests
// arrive while the writers are busy, the next free writer takes every
// request waiting (up to groupMaxStatements statements) and stores them in
// one transaction. An idle bridge writes a request at once: nothing waits
// for a group to fill.
//
// Sharing a transaction never changes a request's answer. If a group's
// transaction fails, the group is split in halves and each is retried, down
// to single requests, so one request's conflict (409) never fails another
// client's request, and two requests carrying the same statement id are
// resolved as if sent one after the other.

const (
	// groupMaxStatements bounds one group transaction.
	groupMaxStatements = 500
	// groupMaxRequest is the largest request (in statements) that joins a
	// group. Larger batches already amortise a transaction and go straight
	// through, several at once: grouping batches of 100 through two writers
	// measured slower than storing them concurrently.
	groupMaxRequest = 10
	// groupTimeout bounds one group transaction. Requests waiting on it do
	// not carry their own contexts into it: the transaction is shared.
	groupTimeout = 60 * time.Second
)

type commitReq struct {
	storeID int64
	stmts   []*lrs.NewStatement
	n       int
	err     error
	done    chan struct{}
}

type committer struct {
	store lrs.StatementStore
	ch    chan *commitReq
	stats struct{ requests, shared, transactions, retried atomic.Int64 }
}

// GroupStats counts group commit's work since start.
type GroupStats struct {
	Requests     int64 // requests that went through group commit
	Shared       int64 // of those, requests stored in a transaction shared with another
	Transactions int64 // transactions committed or attempted
	Retried      int64 // requests retried in a smaller group after their group's transaction failed
}

func newCommitter(store lrs.StatementStore, writers int) *committer {
	c := &committer{store: store, ch: make(chan *commitReq, 4096)}
	for i := 0; i < writers; i++ {
		go c.writer()
	}
	return c
}

// insert stores stmts, possibly in a transaction shared with other
// requests, and returns how many were newly stored.
func (c *committer) insert(storeID int64, stmts []*lrs.NewStatement) (int, error) {
	r := &commitReq{storeID: storeID, stmts: stmts, done: make(chan struct{})}
	c.ch <- r
	<-r.done
	return r.n, r.err
}

func (c *committer) writer() {
	for r := range c.ch {
		group := []*commitReq{r}
		n := len(r.stmts)
	fill:
		for n < groupMaxStatements {
			select {
			case r2 := <-c.ch:
				group = append(group, r2)
				n += len(r2.stmts)
			default:
				break fill
			}
		}
		c.flush(group)
	}
}

func (c *committer) flush(group []*commitReq) {
	// Requests for different stores go in different transactions.
	for len(group) > 0 {
		storeID := group[0].storeID
		var same, rest []*commitReq
		for _, r := range group {
			if r.storeID == storeID {
				same = append(same, r)
			} else {
				rest = append(rest, r)
			}
		}
		c.flushStore(storeID, same)
		group = rest
	}
}

func (c *committer) flushStore(storeID int64, group []*commitReq) {
	ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	defer cancel()
	c.stats.requests.Add(int64(len(group)))
	c.store1(ctx, storeID, group)
}

// store1 stores group in one transaction; if that fails, it splits the
// group in halves and stores each (so one failing request costs a few
// extra transactions, not one per request), down to single requests,
// whose error is their own.
func (c *committer) store1(ctx context.Context, storeID int64, group []*commitReq) {
	c.stats.transactions.Add(1)
	if len(group) == 1 {
		r := group[0]
		r.n, r.err = c.store.InsertStatements(ctx, storeID, r.stmts, nil)
		close(r.done)
		return
	}
	var all []*lrs.NewStatement
	for _, r := range group {
		all = append(all, r.stmts...)
	}
	n, err := c.store.InsertStatements(ctx, storeID, all, nil)
	if err == nil {
		// The count is only reported in total (the service counts stored statements).
		group[0].n = n
		c.stats.shared.Add(int64(len(group)))
		for _, r := range group {
			close(r.done)
		}
		return
	}
	c.stats.retried.Add(int64(len(group)))
	half := len(group) / 2
	c.store1(ctx, storeID, group[:half])
	c.store1(ctx, storeID, group[half:])
}

// GroupCommit is a statement store whose InsertStatements stores requests
// of up to groupMaxRequest statements without attachments through group
// commit; larger requests, requests with attachments and every read go
// straight to the wrapped store. Its writers start with the first grouped
// request.
type GroupCommit struct {
	lrs.StatementStore
	writers int

	once sync.Once
	c    atomic.Pointer[committer]
}

// NewGroupCommit wraps s with group commit over writers concurrent
// transactions: one suits SQLite, which has one writer; two suit MySQL,
// where fewer, larger transactions beat more concurrent ones on small
// machines.
func NewGroupCommit(s lrs.StatementStore, writers int) *GroupCommit {
	return &GroupCommit{StatementStore: s, writers: max(writers, 1)}
}

// InsertStatements implements lrs.StatementStore.
func (g *GroupCommit) InsertStatements(ctx context.Context, storeID int64, stmts []*lrs.NewStatement, atts []lrs.Attachment) (int, error) {
	if len(atts) > 0 || len(stmts) > groupMaxRequest {
		return g.StatementStore.InsertStatements(ctx, storeID, stmts, atts)
	}
	g.once.Do(func() { g.c.Store(newCommitter(g.StatementStore, g.writers)) })
	return g.c.Load().insert(storeID, stmts)
}

// Stats reports group commit's counters (zero until it has run).
func (g *GroupCommit) Stats() GroupStats {
	c := g.c.Load()
	if c == nil {
		return GroupStats{}
	}
	return GroupStats{
		Requests:     c.stats.requests.Load(),
		Shared:       c.stats.shared.Load(),
		Transactions: c.stats.transactions.Load(),
		Retried:      c.stats.retried.Load(),
	}
}
