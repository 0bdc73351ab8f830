package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/cluster"
	"github.com/wabiz/wabiz/internal/monitoring"
)

// In a deployment of several nodes /v1/support and /v1/stats answer for
// every node, keyed "<hostname>:<node>" as /v1/health is: this node from
// what it measures now, the others from the read-out each wrote into the
// registry with its last heartbeat (there is no RPC between nodes).

// nodeReadout is one node's entry: its health and either its read-out
// (nil for this node, which answers live) or the errors in its place.
type nodeReadout struct {
	health  cluster.NodeHealth
	own     bool
	readout monitoring.Readout
	errors  []apierr.Detail
}

// nodeReadouts lists the nodes for a per-node answer, or nil when the
// deployment is this node alone.
func (s *Server) nodeReadouts(ctx context.Context, ownStatus string) ([]nodeReadout, error) {
	if s.cluster == nil {
		return nil, nil
	}
	nodes, err := s.cluster.Health(ctx, ownStatus)
	if err != nil || nodes == nil {
		if err != nil {
			err = fmt.Errorf("read the node registry: %w", err)
		}
		return nil, err
	}
	stored, err := s.cluster.Readouts(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the nodes' read-outs: %w", err)
	}
	out := make([]nodeReadout, 0, len(nodes))
	for _, n := range nodes {
		e := nodeReadout{health: n, own: n.ID == s.cluster.ID()}
		switch raw, ok := stored[n.ID]; {
		case e.own:
		case n.Silent > 0:
			e.errors = silentErrors(n)
		case !ok:
			e.errors = apierr.New(1014, "this node has written no read-out yet").Details
		default:
			if e.readout, err = monitoring.DecodeReadout(raw); err != nil {
				e.errors = apierr.New(1014, "this node's read-out cannot be read: "+err.Error()).Details
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// nodeSupport is a node's /v1/support object in a deployment of several
// nodes: the single node's fields plus its role and shards, or errors.
type nodeSupport struct {
	*supportInfo
	Role   string          `json:"role,omitempty"`
	Shards *[][2]int       `json:"shards,omitempty"`
	Errors []apierr.Detail `json:"errors,omitempty"`
}

// supportShards is what a node owns in the reference's terms: the primary
// master the control shard -1, and each node [k,k] for every shard k it
// holds ([[-1,-1],[0,0]] for an HA leader that sends, [] for a standby).
func supportShards(h cluster.NodeHealth) [][2]int {
	out := [][2]int{}
	if h.Role == cluster.HealthPrimaryMaster {
		out = append(out, [2]int{-1, -1})
	}
	for _, k := range h.Shards {
		out = append(out, [2]int{k, k})
	}
	return out
}

func (s *Server) nodesSupport(nodes []nodeReadout, own supportInfo) map[string]nodeSupport {
	out := make(map[string]nodeSupport, len(nodes))
	for _, n := range nodes {
		if n.errors != nil {
			out[n.health.ID] = nodeSupport{Errors: n.errors}
			continue
		}
		info := own
		if !n.own {
			info = s.supportWith(n.readout.Support, n.health.GatewayStatus)
		}
		shards := supportShards(n.health)
		out[n.health.ID] = nodeSupport{supportInfo: &info, Role: n.health.Role, Shards: &shards}
	}
	return out
}

// nodesStats answers a stats set for every node. /v1/stats/db counts the
// one database the nodes share: this node counts it once, under its own
// key. The Prometheus form merges the nodes' families, label node first,
// and leaves out a node in error.
func (s *Server) nodesStats(w http.ResponseWriter, r *http.Request, nodes []nodeReadout, area string, internal bool, own []*dto.MetricFamily) error {
	key := monitoring.StatsKey(area, internal)
	perNode := key != "db"
	byNode := map[string]any{}
	var merged []*dto.MetricFamily
	for _, n := range nodes {
		if !n.own && !perNode {
			continue
		}
		if n.errors != nil {
			byNode[n.health.ID] = map[string]any{"errors": n.errors}
			continue
		}
		mfs := own
		if !n.own {
			mfs = n.readout.Stats[key]
		}
		byNode[n.health.ID] = statsBody(familiesJSON(mfs), internal)
		merged = mergeWithNodeLabel(merged, mfs, n.health.ID)
	}
	if r.URL.Query().Get("format") == "prometheus" {
		return writeExposition(w, merged)
	}
	s.writeOK(w, http.StatusOK, map[string]any{"stats": map[string]any{area: byNode}})
	return nil
}

// mergeWithNodeLabel adds a node's families to merged (sorted by name),
// each metric labelled node="<id>" before its own labels.
func mergeWithNodeLabel(merged, mfs []*dto.MetricFamily, id string) []*dto.MetricFamily {
	labelName := "node"
	for _, mf := range mfs {
		i, found := slices.BinarySearchFunc(merged, mf.GetName(), func(m *dto.MetricFamily, name string) int {
			return strings.Compare(m.GetName(), name)
		})
		if !found {
			merged = slices.Insert(merged, i, &dto.MetricFamily{Name: mf.Name, Help: mf.Help, Type: mf.Type, Unit: mf.Unit})
		}
		for _, m := range mf.GetMetric() {
			nodeValue := id
			merged[i].Metric = append(merged[i].Metric, &dto.Metric{
				Label: append([]*dto.LabelPair{{Name: &labelName, Value: &nodeValue}}, m.GetLabel()...),
				Gauge: m.Gauge, Counter: m.Counter, Summary: m.Summary, Untyped: m.Untyped, Histogram: m.Histogram, TimestampMs: m.TimestampMs,
			})
		}
	}
	return merged
}
