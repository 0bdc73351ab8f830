package monitoring

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// The stats sets a node writes into its registry row, for the others to
// answer /v1/stats with. /v1/stats/db is not among them: its counts are of
// the one database every node shares, so the answering node counts them
// once (a snapshot per node would repeat the same COUNT(*) scans at every
// heartbeat on every node).
const (
	ReadoutApp         = "app"
	ReadoutAppInternal = "app/internal"
	ReadoutDBInternal  = "db/internal"
)

// StatsKey names a stats set as a read-out does.
func StatsKey(area string, internal bool) string {
	if internal {
		return area + "/internal"
	}
	return area
}

// Readout is what a node measures of itself, as it last wrote it.
type Readout struct {
	Support Support
	Stats   map[string][]*dto.MetricFamily // by ReadoutApp, ReadoutAppInternal, ReadoutDBInternal
}

// readoutJSON is the stored form: the families in Prometheus's delimited
// protobuf, so that every type (histograms included) comes back whole.
type readoutJSON struct {
	Support Support           `json:"support"`
	Stats   map[string][]byte `json:"stats"`
}

// Readout measures this node now (apiVersion as for Support).
func (s *Service) Readout(ctx context.Context, apiVersion string) (Readout, error) {
	sup, err := s.Support(ctx, apiVersion)
	if err != nil {
		return Readout{}, err
	}
	out := Readout{Support: sup, Stats: map[string][]*dto.MetricFamily{}}
	for _, key := range []string{ReadoutApp, ReadoutAppInternal, ReadoutDBInternal} {
		area, internal := key, false
		if key != ReadoutApp {
			area, internal = key[:len(key)-len("/internal")], true
		}
		mfs, err := s.Stats(area, internal)
		if err != nil && len(mfs) == 0 {
			return Readout{}, err
		}
		out.Stats[key] = mfs
	}
	return out, nil
}

// EncodeReadout is the stored form of r.
func EncodeReadout(r Readout) ([]byte, error) {
	stored := readoutJSON{Support: r.Support, Stats: make(map[string][]byte, len(r.Stats))}
	for key, mfs := range r.Stats {
		var buf bytes.Buffer
		enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeProtoDelim))
		for _, mf := range mfs {
			if err := enc.Encode(mf); err != nil {
				return nil, err
			}
		}
		stored.Stats[key] = buf.Bytes()
	}
	return json.Marshal(stored)
}

// DecodeReadout reads what EncodeReadout wrote.
func DecodeReadout(b []byte) (Readout, error) {
	var stored readoutJSON
	if err := json.Unmarshal(b, &stored); err != nil {
		return Readout{}, fmt.Errorf("decode a node's read-out: %w", err)
	}
	out := Readout{Support: stored.Support, Stats: make(map[string][]*dto.MetricFamily, len(stored.Stats))}
	for key, raw := range stored.Stats {
		dec := expfmt.NewDecoder(bytes.NewReader(raw), expfmt.NewFormat(expfmt.TypeProtoDelim))
		mfs := []*dto.MetricFamily{}
		for {
			mf := new(dto.MetricFamily)
			if err := dec.Decode(mf); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return Readout{}, fmt.Errorf("decode a node's %s stats: %w", key, err)
			}
			mfs = append(mfs, mf)
		}
		out.Stats[key] = mfs
	}
	return out, nil
}
