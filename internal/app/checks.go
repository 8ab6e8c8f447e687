package app

import (
	"github.com/xapibridge/bridge/adapters/moodle"
	"github.com/xapibridge/bridge/forwarders/dispatch"
	"github.com/xapibridge/bridge/httpapi"
	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/admin"
	"github.com/xapibridge/bridge/lrs/store"
)

// Compile-time checks that each part implements what its consumers
// declare: the store every storage interface, the services what the HTTP
// layer and the Moodle adapter need of them.
var (
	_ lrs.StatementStore    = (*store.DB)(nil)
	_ lrs.StatementStore    = (*store.GroupCommit)(nil)
	_ lrs.CheckpointStore   = (*store.DB)(nil)
	_ lrs.CredentialStore   = (*store.DB)(nil)
	_ lrs.DocumentStore     = (*store.DB)(nil)
	_ lrs.Outbox            = (*store.DB)(nil)
	_ lrs.PersonalStore     = (*store.DB)(nil)
	_ admin.TenantStore     = (*store.DB)(nil)
	_ admin.PersonStore     = (*store.DB)(nil)
	_ admin.Eraser          = (*store.DB)(nil)
	_ admin.Exporter        = (*store.DB)(nil)
	_ lrs.Router            = (*dispatch.Router)(nil)
	_ httpapi.Statements    = (*lrs.Service)(nil)
	_ httpapi.Documents     = (*lrs.Documents)(nil)
	_ httpapi.Authenticator = (*lrs.Authenticator)(nil)
	_ httpapi.Tenants       = (*admin.Admin)(nil)
	_ httpapi.Forwarding    = (*dispatch.Admin)(nil)
	_ httpapi.MoodleSources = (*moodleRunner)(nil)
	_ moodle.PersonAttacher = (*admin.Admin)(nil)
)
