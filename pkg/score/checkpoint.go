package score

import "time"

// Checkpointer saves an engine's state (--state) right after flushing its
// output, while a run goes on, so a run killed with SIGKILL or by a crash
// restarts from the last checkpoint: the alerts written since then may be
// written again, none of those before it, and the state never covers an
// event whose alerts were not flushed. A checkpoint is due every Every
// (default 1 s) of scoring, but never sooner than ten times the last save
// took, so a large state costs at most a tenth of the time.
type Checkpointer struct {
	Engine *Engine
	Path   string       // "" for none
	Flush  func() error // flushes the output (alerts) out
	Every  time.Duration

	last    time.Time
	took    time.Duration
	pending bool
}

// Scored tells the checkpointer events were scored; it saves when due.
func (c *Checkpointer) Scored() error {
	if c.Path == "" {
		return nil
	}
	c.pending = true
	every := c.Every
	if every <= 0 {
		every = time.Second
	}
	now := time.Now()
	if c.last.IsZero() {
		c.last = now
	}
	if now.Sub(c.last) < max(every, 10*c.took) {
		return nil
	}
	return c.Save()
}

// Save flushes the output and saves the state now, if events were scored
// since the last save.
func (c *Checkpointer) Save() error {
	if c.Path == "" || !c.pending {
		return nil
	}
	if err := c.Flush(); err != nil {
		return err
	}
	start := time.Now()
	if err := c.Engine.SaveStateFile(c.Path); err != nil {
		return err
	}
	c.took = time.Since(start)
	c.last, c.pending = time.Now(), false
	return nil
}
