package cloud

import (
	"context"
	"errors"
	"fmt"

	"github.com/wabiz/wabiz/internal/network"
)

// errorMapping is one row of the Cloud -> On-Premises error table.
type errorMapping struct {
	code      int  // On-Premises code (spec onprem-rest.md §14)
	temporary bool // the core retries the send later
}

// graphErrors maps Graph / Cloud API error codes to On-Premises codes.
// Codes missing here fall back by HTTP status: 5xx -> 1014 temporary,
// anything else -> 1000 (Generic error), with the Cloud code in the details.
var graphErrors = map[int]errorMapping{
	// Authorisation: the operator must fix the token or the app; retrying
	// the message would not help.
	0:      {1005, false}, // AuthException
	10:     {1005, false}, // permission denied
	190:    {1005, false}, // access token expired or invalid
	200:    {1005, false}, // permission error
	131005: {1005, false}, // access denied
	// Throttling: retried.
	4:      {1015, true}, // API too many calls
	80007:  {1015, true}, // WABA rate limit
	130429: {1015, true}, // throughput rate limit hit
	131056: {1015, true}, // pair rate limit (same recipient)
	132069: {2069, true}, // flow throttled
	// Cloud trouble: retried.
	1:      {1014, true}, // API unknown
	2:      {1016, true}, // API service temporarily unavailable
	131000: {1014, true}, // something went wrong
	131016: {1016, true}, // service unavailable
	// Refusals.
	100:    {1009, false}, // invalid parameter
	131008: {1008, false}, // required parameter missing
	131009: {1009, false}, // parameter value invalid
	131021: {1021, false}, // recipient is the sender
	131026: {1013, false}, // message undeliverable (not a WhatsApp user, old app, ...)
	131031: {1031, false}, // account locked
	131042: {402, false},  // business eligibility: payment
	131045: {1011, false}, // phone number not registered (certificate)
	131047: {470, false},  // re-engagement: more than 24 h since the user wrote
	131048: {471, false},  // spam rate limit
	131051: {501, false},  // unsupported message type
	131052: {400, false},  // media download error
	131053: {400, false},  // media upload error
	133010: {1011, false}, // phone number not registered
	132000: {2000, false}, // template parameter count mismatch
	132001: {2001, false}, // template does not exist
	132005: {2005, false}, // translated text too long
	132007: {2007, false}, // format character policy violated
	132012: {2012, false}, // parameter format mismatch
	132015: {2061, false}, // template paused
	132016: {2062, false}, // template disabled
	132068: {2068, false}, // flow blocked
}

// mapGraphError translates a Graph error into the On-Premises vocabulary.
func mapGraphError(ge *GraphError) *network.Error {
	details := fmt.Sprintf("Cloud API error %d: %s", ge.Code, ge.Message)
	if ge.Code == noGraphCode {
		details = fmt.Sprintf("Cloud API answered HTTP %d: %.200s", ge.HTTPStatus, ge.Message)
	}
	if ge.ErrorData.Details != "" {
		details += " (" + ge.ErrorData.Details + ")"
	}
	if m, ok := graphErrors[ge.Code]; ok {
		return &network.Error{Code: m.code, Details: details, Temporary: m.temporary}
	}
	if ge.HTTPStatus >= 500 {
		return &network.Error{Code: 1014, Details: details, Temporary: true}
	}
	if ge.HTTPStatus == 429 {
		return &network.Error{Code: 1015, Details: details, Temporary: true}
	}
	return &network.Error{Code: 1000, Details: details}
}

// mapCallError turns any error of a Graph call into a *network.Error: a
// Graph answer by the table, no answer (network, timeout) as a temporary
// 1014. A cancelled context is returned as is: the caller gave up, which
// is no statement about the message.
func mapCallError(err error) error {
	if err == nil {
		return nil
	}
	var ge *GraphError
	if errors.As(err, &ge) {
		return mapGraphError(ge)
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return &network.Error{Code: 1014, Details: "Cloud API unreachable: " + err.Error(), Temporary: true}
}

// mapStatusError translates an error of a failed status webhook
// ({"code","title","message","error_data":{"details"}}).
func mapStatusError(code int, title, message, details string) *network.Error {
	text := title
	if message != "" && message != title {
		text = message
	}
	ge := &GraphError{Code: code, Message: text, HTTPStatus: 400}
	ge.ErrorData.Details = details
	e := mapGraphError(ge)
	e.Temporary = false // a status is final: the Cloud gave up on the message
	return e
}
