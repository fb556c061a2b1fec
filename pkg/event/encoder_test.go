package event

import (
	"bytes"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestEncoder checks order, copying (the producer reuses its event) and
// that an empty list stays apart from an absent one, whichever batch slot
// the event lands in.
func TestEncoder(t *testing.T) {
	for _, each := range []bool{false, true} {
		var out bytes.Buffer
		w := NewWriter(&out, false)
		enc := NewEncoder(w, each)
		var e Event
		for i := 0; i < 600; i++ { // more than two batches
			e.Reset()
			e.Type, e.Query = TypeDNS, "q"
			switch i % 3 {
			case 0: // no response: no answers
			case 1: // a response without answers
				e.Answers, e.TTLs = []string{}, []uint32{}
			case 2:
				e.Answers, e.TTLs = append(e.Answers[:0], "192.0.2.1"), append(e.TTLs[:0], 60)
			}
			enc.Emit(&e)
			e.Answers = append(e.Answers, "scribbled after Emit")
		}
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
		w.Close()
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != 600 {
			t.Fatalf("each=%v: %d lines, want 600", each, len(lines))
		}
		want := []string{
			`{"type":"dns","v":1,"query":"q"}`,
			`{"type":"dns","v":1,"query":"q","answers":[],"ttls":[]}`,
			`{"type":"dns","v":1,"query":"q","answers":["192.0.2.1"],"ttls":[60]}`,
		}
		for i, l := range lines {
			if l != want[i%3] {
				t.Fatalf("each=%v: line %d = %s, want %s", each, i+1, l, want[i%3])
			}
		}
	}
}

// BenchmarkEncoder measures events through an Encoder into a discarding
// Writer: the copy on the producer's side, the encoding on the other.
func BenchmarkEncoder(b *testing.B) {
	e := Event{Type: TypeDNS, TS: time.Date(2017, 5, 22, 16, 16, 56, 123456000, time.UTC),
		SrcIP: netip.MustParseAddr("2001:db8::1"), SrcPort: 5353, DestIP: netip.MustParseAddr("2001:db8::53"), DestPort: 53,
		Proto: "udp", Query: "cdn.assets.example.net", QType: "AAAA", RCode: "NOERROR",
		Answers: []string{"2001:db8::10", "2001:db8::11"}, TTLs: []uint32{300, 300}, Source: "trace.pcap"}
	w := NewWriter(io.Discard, false)
	m := NewEncoder(w, false)
	b.ReportAllocs()
	for b.Loop() {
		m.Emit(&e)
	}
	m.Close()
}

// A slot reused for events with and without lists keeps its storage, and
// a copy shares none with its source.
func TestCopyFromKeepsStorage(t *testing.T) {
	dns := &Event{Type: TypeDNS, Query: "a.example", Answers: []string{"192.0.2.1", "192.0.2.2"}, TTLs: []uint32{60, 60}}
	flow := &Event{Type: TypeIP, Proto: "udp"}
	var slot Event
	slot.CopyFrom(dns)
	allocs := testing.AllocsPerRun(100, func() {
		slot.CopyFrom(flow)
		slot.CopyFrom(dns)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per copy pair", allocs)
	}
	slot.CopyFrom(flow)
	if slot.Answers != nil || slot.TTLs != nil {
		t.Errorf("flow copy has answers %v, ttls %v", slot.Answers, slot.TTLs)
	}
	slot.CopyFrom(dns)
	slot.Answers[0] = "changed"
	if dns.Answers[0] != "192.0.2.1" {
		t.Error("the copy shares its answers with the source")
	}
	empty := &Event{Type: TypeDNS, Answers: []string{}}
	if slot.CopyFrom(empty); slot.Answers == nil || len(slot.Answers) != 0 {
		t.Errorf("empty answers became %#v", slot.Answers)
	}
}

// A batch handed over whole is written in its order, after what was
// emitted before it and before what comes after, and given back.
func TestEncoderEmitBatch(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out, false)
	enc := NewEncoder(w, false)
	enc.Emit(&Event{Type: TypeDNS, Query: "first"})
	done := make(chan struct{})
	evs := []Event{{Type: TypeDNS, Query: "c"}, {Type: TypeDNS, Query: "a"}, {Type: TypeDNS, Query: "b"}}
	enc.EmitBatch(Batch{Events: evs, Order: []int32{1, 2, 0}, Done: func() { close(done) }})
	enc.Emit(&Event{Type: TypeDNS, Query: "last"})
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	<-done
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var e Event
		if err := Unmarshal([]byte(l), &e); err != nil {
			t.Fatal(err)
		}
		got = append(got, e.Query)
	}
	if strings.Join(got, " ") != "first a b c last" {
		t.Errorf("order %v", got)
	}
}

// Prepare runs on every event written, plain and batched, before it is
// encoded, and outside the Writer's lock: the encoders of several capture
// workers share one Writer, and Prepare (the Community ID's hash) is the
// costly part. Here it takes that lock itself, which would not return
// under it.
func TestEncoderPrepare(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out, false)
	enc := NewEncoder(w, false)
	enc.Prepare = func(e *Event) {
		w.Lines()
		e.CommunityID = "1:" + e.Query
	}
	finished := make(chan error)
	go func() {
		enc.Emit(&Event{Type: TypeDNS, Query: "first"})
		evs := []Event{{Type: TypeDNS, Query: "b"}, {Type: TypeDNS, Query: "a"}}
		enc.EmitBatch(Batch{Events: evs, Order: []int32{1, 0}})
		enc.Emit(&Event{Type: TypeDNS, Query: "last"})
		finished <- enc.Close()
	}()
	select {
	case err := <-finished:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Prepare ran under the Writer's lock")
	}
	w.Close()
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var e Event
		if err := Unmarshal([]byte(l), &e); err != nil {
			t.Fatal(err)
		}
		got = append(got, e.Query+"="+e.CommunityID)
	}
	if want := "first=1:first a=1:a b=1:b last=1:last"; strings.Join(got, " ") != want {
		t.Errorf("got %v, want %s", got, want)
	}
}
