// Package xapi is the statement model of xAPI 1.0.3 and 2.0.0 (IEEE
// 9274.1.1): decoding request bodies (numbers kept exact, duplicate keys
// refused), validating statements with messages that name the field,
// normalising and comparing them (the immutability check), the formats of
// GET /statements (exact, ids, canonical), agent and activity keys for the
// query indexes, the canonical Activity merge, and an encoder byte for
// byte identical to encoding/json. It imports only the standard library,
// so every other package may use it and it uses none of them.
package xapi
