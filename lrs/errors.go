// Package lrs holds the Learning Record Store's domain: statement ingest,
// conflicts, voiding and queries, the error codes every layer shares, and the
// storage interfaces the service consumes. It knows nothing of HTTP or SQL.
package lrs

import (
	"errors"
	"fmt"
)

// Error codes. The HTTP layer maps each to one status code in one table.
const (
	EINVALID      = "invalid"      // 400: the request or a statement is malformed
	EUNAUTHORIZED = "unauthorized" // 401: no or bad credentials
	EFORBIDDEN    = "forbidden"    // 403: credential lacks the scope
	ENOTFOUND     = "not_found"    // 404
	ECONFLICT     = "conflict"     // 409: same statement id, different content
	EPRECONDITION = "precondition" // 412
	ETOOLARGE     = "too_large"    // 413
	EUNAVAILABLE  = "unavailable"  // 503: the database cannot be reached
	EINTERNAL     = "internal"     // 500
)

// Error is an application error with a code and a message safe to show to
// clients. Internal errors keep their cause for the logs only.
type Error struct {
	Code    string
	Message string
	Cause   error
}

func (e *Error) Error() string {
	if e.Cause != nil && e.Code == EINTERNAL {
		return e.Message + ": " + e.Cause.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Internal wraps an unexpected error.
func Internal(cause error, what string) *Error {
	return &Error{Code: EINTERNAL, Message: what, Cause: cause}
}

// ErrorCode returns the code of err: its *Error code, or EINTERNAL.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		if e.Code == EINTERNAL {
			return "internal error"
		}
		return e.Message
	}
	return "internal error"
}
