package xapi

import (
	"fmt"
	"strconv"
)

// Error is a validation error that names the offending property by path, e.g.
// "actor.mbox", "context.contextActivities.parent[0].id" or "[3].verb".
type Error struct {
	Path string // JSON path of the offending property; "" for the whole document
	Msg  string // human-readable reason
}

// Error implements the error interface: "path: msg", or just msg when Path is empty.
func (e *Error) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// WithIndex returns a copy of e with "[i]." prefixed to the path ("[i]" when Path is empty).
// It is used to report errors of statements inside a batch.
func (e *Error) WithIndex(i int) *Error {
	p := "[" + strconv.Itoa(i) + "]"
	if e.Path != "" {
		if e.Path[0] == '[' {
			p += e.Path
		} else {
			p += "." + e.Path
		}
	}
	return &Error{Path: p, Msg: e.Msg}
}

// errf builds an *Error for path with a formatted message.
func errf(path, format string, args ...any) *Error {
	return &Error{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// join appends an object key to a path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// index appends an array index to a path.
func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}
