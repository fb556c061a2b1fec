package bus

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/nfr-project/nfr/pkg/api"
	"github.com/nfr-project/nfr/pkg/config"
)

// Producer sends spooled batches to the events topic. It satisfies
// submit.Destination: SendEvents returns only when Kafka has acknowledged
// every event of the batch (idempotent producer, acks from all in-sync
// replicas), so the spool removes a batch only once it is in Kafka.
type Producer struct {
	cl      *kgo.Client
	k       config.Kafka
	topic   string
	pool    sync.Pool
	ensured bool // the topic exists; checked before the first batch
	mu      sync.Mutex
	timeout time.Duration
}

// NewProducer makes a producer for k.Topic, created when absent before the
// first batch. Kafka need not be reachable yet: a sensor starts and spools
// while the cluster is down. timeout bounds the delivery of one batch; past it SendEvents fails with a
// temporary error and the batch is retried.
func NewProducer(k config.Kafka, clientID string, timeout time.Duration) (*Producer, error) {
	opts, err := clientOptions(&k, clientID)
	if err != nil {
		return nil, err
	}
	opts = append(opts,
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordDeliveryTimeout(timeout),
		kgo.ProducerLinger(0),
		kgo.DefaultProduceTopic(k.Topic),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	return &Producer{cl: cl, k: k, topic: k.Topic, timeout: timeout}, nil
}

// Close closes the connections.
func (p *Producer) Close() { p.cl.Close() }

// SendEvents produces each line of body as one record keyed by its srcIP
// and waits for all acknowledgements. A batch Kafka cannot take (a record
// over the topic's size limit) is a permanent error; anything else is
// temporary.
func (p *Producer) SendEvents(ctx context.Context, typ, batchID string, body []byte, gzipped bool) (*api.EventsResponse, error) {
	op := "produce to " + p.topic
	if gzipped {
		return nil, &api.Error{Op: op, Message: "gzipped batches are not produced; turn submit.gzip off"}
	}
	p.mu.Lock()
	if !p.ensured {
		ectx, cancel := context.WithTimeout(ctx, p.timeout)
		err := ensureTopics(ectx, p.cl, &p.k, topicSpec{name: p.topic})
		cancel()
		if err != nil {
			p.mu.Unlock()
			return nil, &api.Error{Op: op, Message: err.Error(), Temporary: true}
		}
		p.ensured = true
	}
	p.mu.Unlock()
	rs, _ := p.pool.Get().([]kgo.Record)
	rs = rs[:0]
	hdr := []kgo.RecordHeader{{Key: "type", Value: []byte(typ)}}
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		if len(line) == 0 {
			continue
		}
		rs = append(rs, kgo.Record{Topic: p.topic, Key: SourceKey(line), Value: line, Headers: hdr})
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	wg.Add(len(rs))
	for i := range rs {
		p.cl.Produce(ctx, &rs[i], func(_ *kgo.Record, err error) {
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
			wg.Done()
		})
	}
	wg.Wait()
	n := len(rs)
	clear(rs)
	p.pool.Put(rs[:0])
	if first != nil {
		permanent := errors.Is(first, kerr.MessageTooLarge) || errors.Is(first, kerr.RecordListTooLarge)
		return nil, &api.Error{Op: op, Message: first.Error(), Temporary: !permanent}
	}
	return &api.EventsResponse{Received: n, Accepted: n}, nil
}

// SourceKey returns the value of the line's top-level "srcIP" string, the
// partitioning key, or nil when it has none (such records spread over the
// partitions). It does not decode the line: the first `"srcIP":"` is
// taken, which for NFR's events is the top-level field.
func SourceKey(line []byte) []byte {
	const pat = `"srcIP":"`
	i := bytes.Index(line, []byte(pat))
	if i < 0 {
		return nil
	}
	v := line[i+len(pat):]
	j := bytes.IndexByte(v, '"')
	if j <= 0 {
		return nil
	}
	return v[:j]
}
