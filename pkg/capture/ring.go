package capture

import (
	"fmt"
	"sync"

	"github.com/nfr-project/nfr/pkg/afpacket"
	"github.com/nfr-project/nfr/pkg/decode"
)

// RunRing captures through AF_PACKET rings: one worker per runner, each
// with its own decoder and analysers (the fanout hash keeps both directions
// of a flow on one worker). opened runs once every interface is open, before
// the first frame is read. It returns when the capture is stopped through g
// or fails.
func RunRing(cfg afpacket.Config, runners []*Runner, g *Guard, opened func() error) error {
	cfg.Workers = len(runners)
	c, err := afpacket.Open(cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	if opened != nil {
		if err := opened(); err != nil {
			return err
		}
	}
	if !g.Set(c) {
		return nil
	}
	kernel := func() (uint64, uint64, bool) {
		st := c.Stats()
		return st.Received, st.Dropped, true
	}
	srcs := c.Sources()
	errs := make([]error, len(srcs))
	var wg sync.WaitGroup
	for i, src := range srcs {
		r := runners[i]
		r.Live = true
		r.Namer = func(ci decode.CaptureInfo) string { return c.Interface(ci.IfIndex) }
		if i == 0 {
			r.kernel = kernel // the kernel's counts cover every worker
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = r.Run(src, cfg.Interfaces[0])
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil && !g.Stopped() {
			return fmt.Errorf("worker %d: %v", i, err)
		}
	}
	return nil
}
