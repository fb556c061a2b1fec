package submit

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/pkg/spool"
)

type discardLog struct{}

func (discardLog) Warnf(string, ...any) {}
func (discardLog) Infof(string, ...any) {}

func TestRead(t *testing.T) {
	sp, err := spool.Open(spool.Options{Dir: t.TempDir(), MaxEvents: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	s := &Sender{Spool: sp, Log: discardLog{}}
	in := `{"type":"dns","v":1,"query":"a"}
{"type":"ip","v":1}

{"type":"alert","v":1}
[1,2]
{"v":1,"type":"tls"}
{"type":"flow"}
{"noType":true}
`
	var warns []string
	if err := s.Read(strings.NewReader(in), "in.json", func(m string) { warns = append(warns, m) }); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Read != 3 || st.Skipped != 1 || st.Unsent["alert"] != 1 || st.Unsent["flow"] != 1 || st.Unsent["(none)"] != 1 {
		t.Errorf("stats %+v", st)
	}
	if len(warns) != 1 || warns[0] != "in.json:5: not a JSON object" {
		t.Errorf("warnings %q", warns)
	}
	sp.SealAll()
	types := map[string]int{}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 20e6)
		b, err := sp.Next(ctx)
		cancel()
		if err != nil {
			break
		}
		types[b.Type] += b.Events
		sp.Done(b)
	}
	if fmt.Sprint(types) != "map[dns:1 ip:1 tls:1]" {
		t.Errorf("spooled %v", types)
	}
}

// BenchmarkRead measures input to spool: reading lines, finding their type,
// appending them.
func BenchmarkRead(b *testing.B) {
	var in bytes.Buffer
	for i := range 10000 {
		fmt.Fprintf(&in, `{"type":"dns","v":1,"ts":"2026-11-27T07:00:00Z","srcIP":"10.0.0.1","query":"host%d.example.com","qtype":"A"}`+"\n", i)
	}
	sp, err := spool.Open(spool.Options{Dir: b.TempDir(), Fsync: "never", Limit: 1 << 40})
	if err != nil {
		b.Fatal(err)
	}
	defer sp.Close()
	s := &Sender{Spool: sp, Log: discardLog{}}
	b.ReportAllocs()
	b.SetBytes(int64(in.Len()))
	for b.Loop() {
		if err := s.Read(bytes.NewReader(in.Bytes()), "-", nil); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		sp.SealAll()
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 0)
			bt, err := sp.Next(ctx)
			cancel()
			if err != nil {
				break
			}
			sp.Done(bt)
		}
		b.StartTimer()
	}
}
