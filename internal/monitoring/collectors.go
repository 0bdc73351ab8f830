package monitoring

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/wabiz/wabiz/internal/metrics"
)

// Scrape-time collectors: what already has a source of truth (the webhook
// dispatcher's counters, the outbox table) is read when scraped rather than
// mirrored into instruments that could drift from it.

var (
	queueSizeDesc = prometheus.NewDesc("wabiz_callback_queue_size", "Callbacks waiting for delivery (approximate with several nodes).", nil, nil)
	inFlightDesc  = prometheus.NewDesc("wabiz_callbacks_in_flight", "Callback POSTs under way.", nil, nil)
	callbacksDesc = prometheus.NewDesc("wabiz_callbacks_total", "Callback items by result: delivered (acknowledged with 200), retried (failed POST, rescheduled), dropped (past the retry horizon).", []string{"result"}, nil)
	pendingDesc   = prometheus.NewDesc("wabiz_pending_messages", "Outbound messages accepted and not yet handed to the network.", nil, nil)
	outboxDesc    = prometheus.NewDesc("wabiz_outbox_messages", "Outbound messages stored, by status.", []string{"status"}, nil)

	appQueueDesc     = prometheus.NewDesc("callback_queue_size", "Callbacks waiting for delivery.", nil, nil)
	appRequestsDesc  = prometheus.NewDesc("callback_requests", "Callback items by delivery result.", []string{"result"}, nil)
	appIncomingDesc  = prometheus.NewDesc("incoming_messages", "Inbound messages received since start.", nil, nil)
	appOutgoingDesc  = prometheus.NewDesc("outgoing_messages", "Outbound messages sent since start.", nil, nil)
	appPendingCbDesc = prometheus.NewDesc("pending_callbacks", "Callback POSTs under way.", nil, nil)
	appPendingDesc   = prometheus.NewDesc("pending_messages", "Outbound messages accepted and not yet sent.", nil, nil)

	dbMessagesDesc  = prometheus.NewDesc("db_messages", "Messages stored, by direction (type) and status.", []string{"type", "status"}, nil)
	dbPendingDesc   = prometheus.NewDesc("db_pending_messages", "Outbound messages stored with status queued.", nil, nil)
	dbCallbacksDesc = prometheus.NewDesc("db_pending_callbacks", "Callbacks stored in the durable queue (callback_persist).", nil, nil)
	dbRowsDesc      = prometheus.NewDesc("db_rows", "Rows per table.", []string{"table"}, nil)
)

// queueCollector reads the webhook dispatcher.
type queueCollector struct{ s *Service }

func (c queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueSizeDesc
	ch <- inFlightDesc
	ch <- callbacksDesc
}

func (c queueCollector) Collect(ch chan<- prometheus.Metric) {
	if c.s.o.Hooks == nil {
		return
	}
	st := c.s.o.Hooks()
	ch <- prometheus.MustNewConstMetric(queueSizeDesc, prometheus.GaugeValue, float64(st.Queued))
	ch <- prometheus.MustNewConstMetric(inFlightDesc, prometheus.GaugeValue, float64(st.InFlight))
	ch <- prometheus.MustNewConstMetric(callbacksDesc, prometheus.CounterValue, float64(st.Delivered), "delivered")
	ch <- prometheus.MustNewConstMetric(callbacksDesc, prometheus.CounterValue, float64(st.Retried), "retried")
	ch <- prometheus.MustNewConstMetric(callbacksDesc, prometheus.CounterValue, float64(st.Dropped), "dropped")
}

// pendingCollector reads the outbox table.
type pendingCollector struct{ s *Service }

func (c pendingCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- pendingDesc
	ch <- outboxDesc
}

func (c pendingCollector) Collect(ch chan<- prometheus.Metric) {
	counts, err := timed("count_outbox_by_status", c.s.o.Store.CountOutboxByStatus)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(pendingDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(counts["queued"]))
	for _, status := range outboxStatuses {
		ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(counts[status]), status)
	}
}

var outboxStatuses = []string{"queued", "sent", "delivered", "read", "failed"}

// appCollector is /v1/stats/app: the Coreapp's documented names, from what
// wabiz measures for real.
type appCollector struct{ s *Service }

func (c appCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{appQueueDesc, appRequestsDesc, appIncomingDesc, appOutgoingDesc, appPendingCbDesc, appPendingDesc} {
		ch <- d
	}
}

func (c appCollector) Collect(ch chan<- prometheus.Metric) {
	if c.s.o.Hooks != nil {
		st := c.s.o.Hooks()
		ch <- prometheus.MustNewConstMetric(appQueueDesc, prometheus.GaugeValue, float64(st.Queued))
		ch <- prometheus.MustNewConstMetric(appPendingCbDesc, prometheus.GaugeValue, float64(st.InFlight))
		ch <- prometheus.MustNewConstMetric(appRequestsDesc, prometheus.CounterValue, float64(st.Delivered), "delivered")
		ch <- prometheus.MustNewConstMetric(appRequestsDesc, prometheus.CounterValue, float64(st.Retried), "failed")
		ch <- prometheus.MustNewConstMetric(appRequestsDesc, prometheus.CounterValue, float64(st.Dropped), "dropped")
	}
	ch <- prometheus.MustNewConstMetric(appIncomingDesc, prometheus.CounterValue, counterValue(metrics.MessagesReceived))
	ch <- prometheus.MustNewConstMetric(appOutgoingDesc, prometheus.CounterValue, counterValue(metrics.MessagesSent))
	counts, err := timed("count_outbox_by_status", c.s.o.Store.CountOutboxByStatus)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(appPendingDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(appPendingDesc, prometheus.GaugeValue, float64(counts["queued"]))
}

// dbCollector is /v1/stats/db: row counts, which the docs warn can be slow
// on large databases (they are COUNT(*) scans here too).
type dbCollector struct{ s *Service }

func (c dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dbMessagesDesc, dbPendingDesc, dbCallbacksDesc, dbRowsDesc} {
		ch <- d
	}
}

func (c dbCollector) Collect(ch chan<- prometheus.Metric) {
	counts, err := timed("count_outbox_by_status", c.s.o.Store.CountOutboxByStatus)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(dbMessagesDesc, err)
		return
	}
	for _, status := range outboxStatuses {
		ch <- prometheus.MustNewConstMetric(dbMessagesDesc, prometheus.GaugeValue, float64(counts[status]), "outbound", status)
	}
	inbound, err := timed("count_inbound", c.s.o.Store.CountInbound)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(dbMessagesDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(dbMessagesDesc, prometheus.GaugeValue, float64(inbound), "inbound", "received")
	ch <- prometheus.MustNewConstMetric(dbPendingDesc, prometheus.GaugeValue, float64(counts["queued"]))
	cbs, err := timed("count_callbacks", c.s.o.Store.CountCallbacks)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(dbCallbacksDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(dbCallbacksDesc, prometheus.GaugeValue, float64(cbs))
	rows, err := timed("count_table_rows", c.s.o.Store.CountTableRows)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(dbRowsDesc, err)
		return
	}
	for table, n := range rows {
		ch <- prometheus.MustNewConstMetric(dbRowsDesc, prometheus.GaugeValue, float64(n), table)
	}
}

// counterValue reads a counter of this package.
func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}
