// Package apierr holds the On-Premises API error-code table (code, title, HTTP
// status) and the error values handlers return. It imports nothing of ours so
// every layer can use it.
package apierr

import (
	"fmt"
	"net/http"
	"sort"
)

// Entry is one row of the error-code table.
type Entry struct {
	Code   int
	Title  string
	Status int
}

// table is the code -> (title, HTTP status) mapping. Codes 0, 1000–1026 and
// 2000–2013 are the Webapp's fixed table; later codes carry the titles Meta
// documented and the statuses chosen in docs/decisions.md (the spec marks them
// UNCONFIRMED).
var table = map[int]Entry{
	0:    {0, "undefined", http.StatusInternalServerError},
	1000: {1000, "Generic error", http.StatusInternalServerError},
	1001: {1001, "Message too long", http.StatusBadRequest},
	1002: {1002, "Invalid recipient type", http.StatusBadRequest},
	1003: {1003, "Not a group participant", http.StatusBadRequest},
	1004: {1004, "Resource already exists", http.StatusConflict},
	1005: {1005, "Access denied", http.StatusForbidden},
	1006: {1006, "Resource not found", http.StatusNotFound},
	1007: {1007, "Recipient blocked to receive message", http.StatusForbidden},
	1008: {1008, "Required parameter is missing", http.StatusBadRequest},
	1009: {1009, "Parameter value is not valid", http.StatusBadRequest},
	1010: {1010, "Parameter is not required", http.StatusBadRequest},
	1011: {1011, "Service not ready", http.StatusInternalServerError},
	1012: {1012, "Group is unknown", http.StatusNotFound},
	1013: {1013, "User is not valid", http.StatusBadRequest},
	1014: {1014, "Internal error", http.StatusInternalServerError},
	1015: {1015, "Too many requests", http.StatusTooManyRequests},
	1016: {1016, "System overloaded", http.StatusServiceUnavailable},
	1017: {1017, "Not a primary master", http.StatusInternalServerError},
	1018: {1018, "Not a primary coreapp", http.StatusInternalServerError},
	1019: {1019, "Not a group admin", http.StatusBadRequest},
	1020: {1020, "Bad group", http.StatusBadRequest},
	1021: {1021, "Bad user", http.StatusBadRequest},
	1022: {1022, "Webhooks URL is not configured", http.StatusPreconditionFailed},
	1023: {1023, "Database error occurred", http.StatusInternalServerError},
	1024: {1024, "Password change required", http.StatusUnauthorized},
	1025: {1025, "Request is not valid", http.StatusBadRequest},
	1026: {1026, "Receiver is incapable of receiving this message", http.StatusNotImplemented},
	1028: {1028, "A user_identity_changed system notification requires acknowledgement", http.StatusBadRequest},
	1031: {1031, "Sender account has been locked", http.StatusForbidden},
	2000: {2000, "Number of parameters does not match the expected number of params", http.StatusBadRequest},
	2001: {2001, "Template name does not exist in the translation", http.StatusNotFound},
	2002: {2002, "Failed to find the translation for the requested language and locale", http.StatusNotFound},
	2003: {2003, "Could not find translation for the requested language and locale", http.StatusNotFound},
	2004: {2004, "Parameter length too long", http.StatusBadRequest},
	2005: {2005, "Translated text too long", http.StatusBadRequest},
	2006: {2006, "Whitespace policy violated", http.StatusBadRequest},
	2007: {2007, "Format character policy violated", http.StatusBadRequest},
	2008: {2008, "Media format used is unsupported", http.StatusBadRequest},
	2009: {2009, "Required component in the template is missing", http.StatusBadRequest},
	2010: {2010, "URL in button component is invalid", http.StatusBadRequest},
	2011: {2011, "Phone Number in button component is invalid", http.StatusBadRequest},
	2012: {2012, "Parameter format does not match format in the created template", http.StatusBadRequest},
	2013: {2013, "Buttons are unsupported by the receiver", http.StatusNotImplemented},
	2014: {2014, "Expected Namespace is Empty", http.StatusBadRequest},
	2015: {2015, "Invalid number of sections", http.StatusBadRequest},
	2016: {2016, "Invalid number of rows", http.StatusBadRequest},
	2017: {2017, "Character Policy Violated", http.StatusBadRequest},
	2023: {2023, "Invalid number of product", http.StatusBadRequest},
	2024: {2024, "Catalog ID not found", http.StatusBadRequest},
	2025: {2025, "Catalog ID not linked to API number", http.StatusBadRequest},
	2026: {2026, "Missing products", http.StatusBadRequest},
	2027: {2027, "No products found", http.StatusBadRequest},
	2028: {2028, "List all products failed compliance", http.StatusBadRequest},
	2029: {2029, "List some products failed compliance", http.StatusBadRequest},
	2030: {2030, "List mixed products invalid and failed compliance", http.StatusBadRequest},
	2036: {2036, "Invalid Header Structure", http.StatusBadRequest},
	2050: {2050, "Missing Compliance Info", http.StatusBadRequest},
	2060: {2060, "Template Rejected", http.StatusBadRequest},
	2061: {2061, "Template Paused", http.StatusBadRequest},
	2062: {2062, "Template Disabled", http.StatusBadRequest},
	2068: {2068, "Flow is blocked", http.StatusBadRequest},
	2069: {2069, "Flow is throttled", http.StatusTooManyRequests},
}

// Lookup returns the table entry for code. An unknown code is reported the way
// the Webapp did: code 0, title "undefined", HTTP 500.
func Lookup(code int) (Entry, bool) {
	e, ok := table[code]
	if !ok {
		return table[0], false
	}
	return e, true
}

// Codes lists every known code in ascending order (for documentation and tests).
func Codes() []int {
	codes := make([]int, 0, len(table))
	for c := range table {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	return codes
}

// Detail is one error as it appears in a response's "errors" array.
type Detail struct {
	Code    int    `json:"code"`
	Title   string `json:"title"`
	Details string `json:"details,omitempty"`
	Href    string `json:"href,omitempty"`
}

// Error is what handlers return: one or more error details and the HTTP status
// of the response. The status is the mapped status of the last detail unless a
// handler overrides it (the Coreapp could, through response_code).
type Error struct {
	Status  int
	Details []Detail
}

func (e *Error) Error() string {
	if len(e.Details) == 0 {
		return fmt.Sprintf("api error (HTTP %d)", e.Status)
	}
	d := e.Details[len(e.Details)-1]
	if d.Details == "" {
		return fmt.Sprintf("%d %s", d.Code, d.Title)
	}
	return fmt.Sprintf("%d %s: %s", d.Code, d.Title, d.Details)
}

// Code returns the code of the last detail (the one that set the status).
func (e *Error) Code() int {
	if len(e.Details) == 0 {
		return 0
	}
	return e.Details[len(e.Details)-1].Code
}

// New builds a single-detail error with the table's title and status.
func New(code int, details string) *Error {
	entry, known := Lookup(code)
	if !known {
		details = fmt.Sprintf("Undefined error code %d", code)
	}
	return &Error{Status: entry.Status, Details: []Detail{{Code: entry.Code, Title: entry.Title, Details: details}}}
}

// Newf is New with a formatted detail text.
func Newf(code int, format string, args ...any) *Error {
	return New(code, fmt.Sprintf(format, args...))
}

// WithStatus overrides the HTTP status (401 for authentication failures that
// carry code 1005, 405 for a wrong method, and so on).
func (e *Error) WithStatus(status int) *Error {
	e.Status = status
	return e
}

// List accumulates validation errors so they can be returned together, as the
// Webapp did.
type List struct{ details []Detail }

// Add appends one error.
func (l *List) Add(code int, details string) {
	l.details = append(l.details, New(code, details).Details...)
}

// Addf appends one error with a formatted detail text.
func (l *List) Addf(code int, format string, args ...any) {
	l.Add(code, fmt.Sprintf(format, args...))
}

// Merge appends every detail of err.
func (l *List) Merge(err *Error) {
	if err != nil {
		l.details = append(l.details, err.Details...)
	}
}

// Len reports how many errors were added.
func (l *List) Len() int { return len(l.details) }

// Err returns nil when nothing was added, else one Error whose status is the
// last detail's.
func (l *List) Err() *Error {
	if len(l.details) == 0 {
		return nil
	}
	last, _ := Lookup(l.details[len(l.details)-1].Code)
	return &Error{Status: last.Status, Details: append([]Detail(nil), l.details...)}
}

// Detail texts that several packages produce, written once so they cannot drift.

// MissingParam is 1008 "Missing mandatory parameter '<name>'".
func MissingParam(name string) *Error {
	return Newf(1008, "Missing mandatory parameter '%s'", name)
}

// InvalidValue is 1009 "Parameter '<name>' has invalid value '<value>'".
func InvalidValue(name, value string) *Error {
	return Newf(1009, "Parameter '%s' has invalid value '%s'", name, value)
}

// NotRequired is 1010 "Parameter '<name>' is not required for <dependent> '<value>'".
func NotRequired(name, dependent, value string) *Error {
	return Newf(1010, "Parameter '%s' is not required for %s '%s'", name, dependent, value)
}

// MandatoryFor is 1008 "Parameter '<name>' is mandatory for <dependent> '<value>'".
func MandatoryFor(name, dependent, value string) *Error {
	return Newf(1008, "Parameter '%s' is mandatory for %s '%s'", name, dependent, value)
}

// Internal is 1014 with a detail text.
func Internal(details string) *Error { return New(1014, details) }
