package console

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// consoleMetrics is the console's own registry (no global registry: each Server has its own).
type consoleMetrics struct {
	reg     *prometheus.Registry
	logins  *prometheus.CounterVec
	unlocks *prometheus.CounterVec
}

func newConsoleMetrics(s *Server) *consoleMetrics {
	m := &consoleMetrics{reg: prometheus.NewRegistry()}
	m.logins = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sysvak_console_logins_total", Help: "Console sign-in attempts by outcome.",
	}, []string{"outcome"})
	m.unlocks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sysvak_console_unlocks_total", Help: "Unlock attempts from the console by outcome.",
	}, []string{"outcome"})
	m.reg.MustRegister(m.logins, m.unlocks, &stateCollector{s: s},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *consoleMetrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// stateCollector reads the state at each scrape: files by status, rows, the last successful poll
// and the receipts waiting (SPEC 9).
type stateCollector struct{ s *Server }

var (
	descFiles = prometheus.NewDesc("sysvak_files", "Files in the state by status.", []string{"status"}, nil)
	descRows  = prometheus.NewDesc("sysvak_rows", "Rows of the files in the state, by outcome "+
		"(read, registered, rejected).", []string{"outcome"}, nil)
	descPoll = prometheus.NewDesc("sysvak_last_successful_poll_timestamp_seconds",
		"Unix time of the last successful mailbox poll (0: none yet).", nil, nil)
	descReceipts = prometheus.NewDesc("sysvak_receipts_waiting", "Receipts queued and not yet sent.", nil, nil)
)

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descFiles
	ch <- descRows
	ch <- descPoll
	ch <- descReceipts
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	t, err := c.s.cfg.Files.Totals(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descFiles, err)
	} else {
		for _, st := range stageOrder {
			ch <- prometheus.MustNewConstMetric(descFiles, prometheus.GaugeValue, float64(t.ByStage[st]), string(st))
		}
		ch <- prometheus.MustNewConstMetric(descRows, prometheus.GaugeValue, float64(t.Rows), "read")
		ch <- prometheus.MustNewConstMetric(descRows, prometheus.GaugeValue, float64(t.Registered), "registered")
		ch <- prometheus.MustNewConstMetric(descRows, prometheus.GaugeValue, float64(t.Rejected), "rejected")
	}
	p := c.s.cfg.Poll
	if p == nil {
		return
	}
	last := 0.0
	if lp := p.LastSuccessfulPoll(); !lp.IsZero() {
		last = float64(lp.UnixNano()) / 1e9
	}
	ch <- prometheus.MustNewConstMetric(descPoll, prometheus.GaugeValue, last)
	if n, err := p.ReceiptsWaiting(ctx); err != nil {
		ch <- prometheus.NewInvalidMetric(descReceipts, err)
	} else {
		ch <- prometheus.MustNewConstMetric(descReceipts, prometheus.GaugeValue, float64(n))
	}
}
