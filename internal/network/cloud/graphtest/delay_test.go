package graphtest

import (
	"bytes"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestSendDelayOverlaps: with a send delay, every send waits for it at
// the same time (none holds up another), and each is answered and recorded
// only once its delay has passed.
func TestSendDelayOverlaps(t *testing.T) {
	t.Parallel()
	s := New(t)
	const n = 8
	fire := make(chan time.Time)
	waiting := make(chan time.Duration, n)
	s.after = func(d time.Duration) <-chan time.Time {
		waiting <- d
		return fire
	}
	s.SetSendDelay(50 * time.Millisecond)
	var wg sync.WaitGroup
	status := make(chan int, n)
	for range n {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, s.GraphURL()+"/"+s.PhoneNumberID+"/messages",
				bytes.NewReader([]byte(`{"messaging_product":"whatsapp","to":"15550001234","type":"text","text":{"body":"hi"}}`)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+s.Token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			status <- resp.StatusCode
		})
	}
	for range n {
		if d := <-waiting; d != 50*time.Millisecond {
			t.Fatalf("waited %v, want the delay set", d)
		}
	}
	if got := len(s.SentIDs()); got != 0 {
		t.Fatalf("%d sends recorded before their delay passed", got)
	}
	close(fire)
	wg.Wait()
	close(status)
	for st := range status {
		if st != http.StatusOK {
			t.Errorf("send answered %d", st)
		}
	}
	if got := len(s.SentIDs()); got != n {
		t.Fatalf("%d sends recorded, want %d", got, n)
	}
}
