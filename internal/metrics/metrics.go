// Package metrics holds wabiz's Prometheus instruments. It imports nothing
// of wabiz, so every package can move them; the read-outs built on them
// (GET /metrics, /v1/stats, /v1/support) are package monitoring.
//
// The instruments the request and message paths move are package variables:
// they count what this process did, exactly like a process-wide registry
// would, and the paths that move them (api middleware, core) need no wiring.
// Each registry monitoring builds exposes them, so several servers in one
// test binary share the counts; tests compare before and after.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Instruments moved on the request path (internal/api middleware).
var (
	HTTPRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wabiz_http_requests_total",
		Help: "HTTP requests answered, by route pattern, method and status.",
	}, []string{"route", "method", "status"})
	HTTPDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "wabiz_http_request_duration_seconds",
		Help:    "Time to answer an HTTP request, by route pattern, method and status.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route", "method", "status"})
	// APIRequestsDuration keeps the Webapp's documented name (§10.4): a
	// summary without quantiles renders exactly as
	// api_requests_duration_ms_sum and api_requests_duration_ms_count, with
	// labels result (HTTP status) and method (route key like POST_v1_messages).
	APIRequestsDuration = prometheus.NewSummaryVec(prometheus.SummaryOpts{
		Name: "api_requests_duration_ms",
		Help: "Duration of API requests in milliseconds, by route key and result.",
	}, []string{"method", "result"})
	WebHandledRequests = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "web_handled_requests",
		Help: "Requests the web server handled.",
	})
	HTTPInFlight = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "wabiz_http_requests_in_flight",
		Help: "HTTP requests being served, by pool: api (bounded by WABIZ_MAX_CONCURRENT_REQUESTS) or monitoring.",
	}, []string{"pool"})
)

// Instruments moved by the core.
var (
	MessagesSent = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "wabiz_messages_sent_total",
		Help: "Outbound messages the network accepted.",
	})
	MessagesReceived = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "wabiz_messages_received_total",
		Help: "Inbound messages stored (a redelivered message counts once).",
	})
	MessageStatuses = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wabiz_message_status_changes_total",
		Help: "Outbound message status changes reported by the network, by new status.",
	}, []string{"status"})
)

// Instruments moved by the Cloud bridge.
var (
	CloudWebhookItems = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wabiz_cloud_webhook_items_total",
		Help: "Items of Cloud API webhook deliveries, by kind (message, status, error; any for duplicates) and outcome (received, duplicate: delivered before and dropped, ignored: no On-Premises counterpart).",
	}, []string{"kind", "outcome"})
)

// Instruments moved by the operations code itself (stats queries, GC).
var (
	DBQueryDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "wabiz_db_query_duration_seconds",
		Help:    "Duration of the database queries of stats and garbage collection, by query.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"query"})
	GCDeleted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wabiz_gc_deleted_total",
		Help: "Rows (and media files) removed by garbage collection, by what was removed.",
	}, []string{"kind"})
)

// Instruments moved by the store.
var (
	// DBStatements counts the SQL statements the store runs (each
	// execution of a query or statement, not the transactions around
	// them): the benchmark divides it by the messages delivered.
	DBStatements = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "wabiz_db_statements_total",
		Help: "SQL statements run against the database (queries and writes; transactions' begin and commit not counted).",
	})
	// GroupCommitSeconds and GroupCommits measure the group commit: on
	// SQLite one flusher at a time writes everything, so its busy time per
	// message is what bounds the node's accepts and deliveries together.
	GroupCommitSeconds = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "wabiz_db_group_commit_seconds_total",
		Help: "Time spent committing groups of writes (statements and commit), summed over the flushers.",
	})
	GroupCommits = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "wabiz_db_group_commits_total",
		Help: "Groups of writes committed (each one transaction).",
	})
)

// All lists the package's instruments, which every registry exposes.
var All = []prometheus.Collector{
	HTTPRequests, HTTPDuration, APIRequestsDuration, WebHandledRequests, HTTPInFlight,
	MessagesSent, MessagesReceived, MessageStatuses, CloudWebhookItems,
	DBQueryDuration, GCDeleted, DBStatements, GroupCommitSeconds, GroupCommits,
}
