package server

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/nfr-project/nfr/pkg/api"
	"github.com/nfr-project/nfr/pkg/report"
)

// The console: HTML pages for people on the API's listener, rendered by
// pkg/report's templates. Sign-in takes an account's API key and gives a
// session cookie (HttpOnly, SameSite=Strict, Secure under TLS); the key is
// never in a URL, a page or a log line. Every page shows the signed-in
// account's alerts only. State-changing forms carry a per-session CSRF
// token, and posts from another origin are refused.

const (
	sessionCookie = "nfr_session"
	signinCookie  = "nfr_signin" // the sign-in form's CSRF token
	sessionTTL    = 12 * time.Hour
	listPage      = 100 // alerts per page of the list
	overviewSize  = 500 // newest alerts the overview summarises
	hostSize      = 500
	maxNote       = 2000 // characters
	indexBudget   = 100 * time.Millisecond
)

type session struct {
	tenant  Tenant // for an admin, the account picked; ID 0 until then
	admin   bool
	csrf    string
	expires time.Time
}

type console struct {
	s   *Server
	err error // the console's tables could not be made: pages answer 503

	mu       sync.Mutex
	sessions map[string]*session // by HashKey of the cookie value

	indexMu sync.Mutex
}

// consoleRoutes adds the console's pages to m.
func (s *Server) consoleRoutes(m *http.ServeMux) {
	c := &console{s: s, sessions: map[string]*session{}}
	if c.err = s.store.migrateConsole(); c.err != nil {
		s.notice("console disabled: database: %v", c.err)
	}
	m.HandleFunc("GET /{$}", c.page(c.overview))
	m.HandleFunc("GET /alerts", c.page(c.alerts))
	m.HandleFunc("GET /alert/{id}", c.page(c.alert))
	m.HandleFunc("GET /host/{ip}", c.page(c.host))
	m.HandleFunc("GET /threats", c.page(c.threats))
	m.HandleFunc("POST /alert/{id}/status", c.post(c.setStatus))
	m.HandleFunc("POST /signout", c.post(c.signout))
	m.HandleFunc("GET /accounts", c.accounts)
	m.HandleFunc("POST /accounts", c.post(c.chooseAccount))
	m.HandleFunc("GET /signin", c.signinForm)
	m.HandleFunc("POST /signin", c.signin)
}

func randomToken() string {
	var b [24]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func secureHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", report.ConsoleCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin") // no-referrer would make the browser send "Origin: null" on our own forms
	h.Set("Cache-Control", "no-store")
}

func (c *console) render(w http.ResponseWriter, code int, v *report.ConsoleView) {
	secureHeaders(w)
	var b bytes.Buffer
	if err := report.RenderConsole(&b, v); err != nil {
		c.s.notice("console: %v", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(code)
	w.Write(b.Bytes())
}

// session returns the request's live session, or nil.
func (c *console) session(r *http.Request) *session {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil
	}
	k := HashKey(ck.Value)
	now := c.s.cfg.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	ss := c.sessions[k]
	if ss == nil {
		return nil
	}
	if now.After(ss.expires) {
		delete(c.sessions, k)
		return nil
	}
	ss.expires = now.Add(sessionTTL)
	return ss
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value, path string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

type pageFunc func(r *http.Request, ss *session) (*report.ConsoleView, int, error)

// page wraps a GET page: signed in, the index brought up to date.
func (c *console) page(h pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if c.err != nil {
			c.render(w, http.StatusServiceUnavailable, &report.ConsoleView{Title: "Unavailable", Error: "the console is disabled: see the engine's log"})
			return
		}
		ss := c.session(r)
		if ss == nil {
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
			return
		}
		if ss.admin && ss.tenant.ID == 0 {
			http.Redirect(w, r, "/accounts", http.StatusSeeOther)
			return
		}
		if sw, ok := w.(*statusWriter); ok {
			sw.tenant = ss.tenant.Name
		}
		indexing, err := c.catchUp()
		if err != nil {
			c.fail(w, err)
			return
		}
		v, code, err := h(r, ss)
		if err != nil {
			c.fail(w, err)
			return
		}
		if indexing != "" {
			v.Notice = strings.TrimSpace(v.Notice + " " + indexing)
		}
		v.Tenant, v.CSRF, v.Admin = ss.tenant.Name, ss.csrf, ss.admin
		c.render(w, code, v)
	}
}

func (c *console) fail(w http.ResponseWriter, err error) {
	c.s.notice("error: console: %v", err)
	c.s.retryAfter(w)
	c.render(w, http.StatusServiceUnavailable, &report.ConsoleView{Title: "Unavailable", Error: "internal error, try again later"})
}

// post wraps a state-changing form: signed in, same origin, CSRF token.
func (c *console) post(h func(w http.ResponseWriter, r *http.Request, ss *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ss := c.session(r)
		if ss == nil || c.err != nil {
			c.render(w, http.StatusForbidden, &report.ConsoleView{Title: "Signed out", Error: "your session has ended: sign in again"})
			return
		}
		if sw, ok := w.(*statusWriter); ok {
			sw.tenant = ss.tenant.Name
		}
		if !sameOrigin(r) || !c.form(w, r) || !tokenEqual(r.PostForm.Get("csrf"), ss.csrf) {
			c.render(w, http.StatusForbidden, &report.ConsoleView{Title: "Refused", Tenant: ss.tenant.Name, CSRF: ss.csrf,
				Error: "the form did not come from this console (CSRF check failed): reload the page and try again"})
			return
		}
		h(w, r, ss)
	}
}

func (c *console) form(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	return r.ParseForm() == nil
}

// sameOrigin refuses a post whose Origin header names another site.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true // old browsers; the CSRF token still has to match
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

func tokenEqual(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func (c *console) signinForm(w http.ResponseWriter, r *http.Request) {
	if c.session(r) != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	c.signinPage(w, r, http.StatusOK, "")
}

func (c *console) signinPage(w http.ResponseWriter, r *http.Request, code int, msg string) {
	tok := randomToken()
	setCookie(w, r, signinCookie, tok, "/signin", 600)
	c.render(w, code, &report.ConsoleView{Title: "Sign in", Nav: report.NavSignIn, CSRF: tok, Error: msg})
}

func (c *console) signin(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie(signinCookie)
	if !sameOrigin(r) || !c.form(w, r) || err != nil || !tokenEqual(r.PostForm.Get("csrf"), ck.Value) {
		c.signinPage(w, r, http.StatusForbidden, "the sign-in form expired or came from elsewhere: try again")
		return
	}
	key := strings.TrimSpace(r.PostForm.Get("key"))
	t, err := c.s.store.Authenticate(key)
	admin := false
	if err == ErrUnknownKey {
		if admin, err = c.s.store.isAdminToken(key); err == nil && !admin {
			c.s.notice("console: failed sign-in from %s", r.RemoteAddr)
			c.signinPage(w, r, http.StatusUnauthorized, "invalid API key")
			return
		}
	}
	if err != nil {
		c.fail(w, err)
		return
	}
	tok := randomToken()
	c.mu.Lock()
	now := c.s.cfg.Now()
	for k, ss := range c.sessions { // forget the expired ones
		if now.After(ss.expires) {
			delete(c.sessions, k)
		}
	}
	c.sessions[HashKey(tok)] = &session{tenant: t, admin: admin, csrf: randomToken(), expires: now.Add(sessionTTL)}
	c.mu.Unlock()
	setCookie(w, r, sessionCookie, tok, "/", 0)
	setCookie(w, r, signinCookie, "", "/signin", -1)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (c *console) signout(w http.ResponseWriter, r *http.Request, ss *session) {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		c.mu.Lock()
		delete(c.sessions, HashKey(ck.Value))
		c.mu.Unlock()
	}
	setCookie(w, r, sessionCookie, "", "/", -1)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// catchUp indexes the alerts stored since the last page, for at most
// indexBudget; what is left (a large database the console sees for the
// first time) is indexed in the background, and the page says so.
func (c *console) catchUp() (notice string, err error) {
	if !c.indexMu.TryLock() {
		return "Older alerts are still being indexed for the console: pages show those indexed so far.", nil
	}
	_, more, err := c.s.store.indexConsole(2000, time.Now().Add(indexBudget))
	if err != nil || !more {
		c.indexMu.Unlock()
		return "", err
	}
	go func() {
		defer c.indexMu.Unlock()
		if _, _, err := c.s.store.indexConsole(20000, time.Time{}); err != nil {
			c.s.notice("error: console: indexing alerts: %v", err)
		}
	}()
	return "Older alerts are still being indexed for the console: pages show those indexed so far.", nil
}

// page builds the report page of rows.
func (c *console) reportPage(rows []consoleAlert, title string) (*report.Page, error) {
	set := &report.Set{Alerts: make([]report.Alert, 0, len(rows))}
	for i, row := range rows {
		var th map[string]report.Threat
		var flags []string
		if err := json.Unmarshal([]byte(row.Threats), &th); err != nil {
			return nil, fmt.Errorf("alert %d: threats: %w", row.ID, err)
		}
		if err := json.Unmarshal([]byte(row.Flags), &flags); err != nil {
			return nil, fmt.Errorf("alert %d: flags: %w", row.ID, err)
		}
		a, err := report.FromEvent([]byte(row.Event), th, flags)
		if err != nil {
			return nil, fmt.Errorf("alert %d: %w", row.ID, err)
		}
		// nfr-score's reason and incident fields are kept beside the event.
		var in api.Incident
		if row.Incident != "" {
			if err := json.Unmarshal([]byte(row.Incident), &in); err != nil {
				return nil, fmt.Errorf("alert %d: incident: %w", row.ID, err)
			}
		}
		a.Reason, a.ID, a.Count = in.Reason, in.ID, int64(in.Count)
		if in.Severity > a.Severity {
			a.Severity = in.Severity
		}
		if in.FirstSeen != nil {
			a.FirstSeen = *in.FirstSeen
		}
		if in.LastSeen != nil {
			a.LastSeen = *in.LastSeen
		}
		a.N, a.Key, a.Link = i+1, row.ID, "/alert/"+strconv.FormatInt(row.ID, 10)
		a.Status, a.Note, a.NoteAt = row.Status.State, row.Status.Note, row.Status.At
		set.Alerts = append(set.Alerts, a)
	}
	p := report.Build(set, report.Options{Title: title})
	// Newest first, as the list and its "older" link go.
	sort.SliceStable(p.Alerts, func(i, j int) bool { return p.Alerts[i].Key > p.Alerts[j].Key })
	return p, nil
}

func (c *console) overview(r *http.Request, ss *session) (*report.ConsoleView, int, error) {
	rows, err := c.s.store.ConsoleAlerts(AlertQuery{Tenant: ss.tenant.ID, Limit: overviewSize})
	if err != nil {
		return nil, 0, err
	}
	p, err := c.reportPage(rows, "Overview")
	if err != nil {
		return nil, 0, err
	}
	v := &report.ConsoleView{Title: "Overview", Nav: report.NavOverview, Page: p}
	if len(rows) == overviewSize {
		v.Notice = fmt.Sprintf("The newest %d alerts; the alert list finds older ones.", overviewSize)
	}
	return v, http.StatusOK, nil
}

const formTime = "2006-01-02T15:04"

func (c *console) alerts(r *http.Request, ss *session) (*report.ConsoleView, int, error) {
	q := r.URL.Query()
	f := report.Filter{From: q.Get("from"), To: q.Get("to"), Threat: q.Get("threat"), Src: strings.TrimSpace(q.Get("src")),
		Group: strings.TrimSpace(q.Get("group")), Status: q.Get("status")}
	aq := AlertQuery{Tenant: ss.tenant.ID, Threat: f.Threat, Src: f.Src, Group: f.Group, Limit: listPage + 1}
	var problems []string
	if f.From != "" {
		t, err := time.Parse(formTime, f.From)
		if err != nil {
			problems = append(problems, "from: not a time")
		}
		aq.From = t
	}
	if f.To != "" {
		t, err := time.Parse(formTime, f.To)
		if err != nil {
			problems = append(problems, "to: not a time")
		}
		aq.To = t
	}
	if v := q.Get("severity"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 5 {
			problems = append(problems, "severity: 0 to 5")
		}
		f.Severity, aq.MinSeverity = n, n
	}
	switch f.Status {
	case "", "open", "acknowledged", "closed":
		aq.Status = f.Status
	default:
		problems = append(problems, "status: open, acknowledged or closed")
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			problems = append(problems, "before: not an alert number")
		}
		aq.Before = n
	}
	view := &report.ConsoleView{Title: "Alerts", Nav: report.NavAlerts, Filter: f, Threats: c.threatChoices()}
	if len(problems) > 0 {
		view.Error = "bad filter: " + strings.Join(problems, "; ")
		view.Page = report.Build(&report.Set{}, report.Options{})
		return view, http.StatusBadRequest, nil
	}
	rows, err := c.s.store.ConsoleAlerts(aq)
	if err != nil {
		return nil, 0, err
	}
	if len(rows) > listPage {
		rows = rows[:listPage]
		next := url.Values{}
		for k, vs := range q {
			if k != "before" && len(vs) > 0 && vs[0] != "" {
				next.Set(k, vs[0])
			}
		}
		next.Set("before", strconv.FormatInt(rows[len(rows)-1].ID, 10))
		view.Older = "/alerts?" + next.Encode()
	}
	view.Page, err = c.reportPage(rows, "Alerts")
	return view, http.StatusOK, err
}

// threatChoices lists the catalog's threat ids for the list's filter.
func (c *console) threatChoices() []report.Threat {
	var ts []report.Threat
	for id, t := range c.s.cfg.Catalog {
		ts = append(ts, report.Threat{ID: id, Title: t.Title, Severity: t.Severity, Policy: t.Policy})
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].ID < ts[j].ID })
	return ts
}

func (c *console) notFound(what string) (*report.ConsoleView, int, error) {
	return &report.ConsoleView{Title: "Not found", Error: what}, http.StatusNotFound, nil
}

func (c *console) alert(r *http.Request, ss *session) (*report.ConsoleView, int, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return c.notFound("no such alert")
	}
	row, found, err := c.s.store.ConsoleAlert(ss.tenant.ID, id)
	if err != nil {
		return nil, 0, err
	}
	if !found {
		return c.notFound("no such alert in your account")
	}
	p, err := c.reportPage([]consoleAlert{row}, "")
	if err != nil {
		return nil, 0, err
	}
	a := p.Alerts[0]
	a.Link = ""
	v := &report.ConsoleView{Title: "Alert " + strconv.FormatInt(id, 10), Nav: report.NavAlert, Alert: &a}
	if a.SrcIP != "" {
		others, err := c.s.store.ConsoleAlerts(AlertQuery{Tenant: ss.tenant.ID, Src: a.SrcIP, Except: id, Limit: 50})
		if err != nil {
			return nil, 0, err
		}
		if v.Others, err = c.reportPage(others, ""); err != nil {
			return nil, 0, err
		}
	}
	if r.URL.Query().Get("saved") != "" {
		v.Notice = "Saved."
	}
	return v, http.StatusOK, nil
}

func (c *console) host(r *http.Request, ss *session) (*report.ConsoleView, int, error) {
	ip, err := netip.ParseAddr(r.PathValue("ip"))
	if err != nil {
		return c.notFound("not an address")
	}
	rows, err := c.s.store.ConsoleAlerts(AlertQuery{Tenant: ss.tenant.ID, Src: ip.String(), Limit: hostSize})
	if err != nil {
		return nil, 0, err
	}
	p, err := c.reportPage(rows, "Host "+ip.String())
	if err != nil {
		return nil, 0, err
	}
	v := &report.ConsoleView{Title: "Host " + ip.String(), Nav: report.NavHost, Page: p, Host: ip.String()}
	if len(rows) == hostSize {
		v.Notice = fmt.Sprintf("The newest %d alerts of this host.", hostSize)
	}
	return v, http.StatusOK, nil
}

func (c *console) threats(r *http.Request, ss *session) (*report.ConsoleView, int, error) {
	counts, err := c.s.store.ThreatCounts(ss.tenant.ID)
	if err != nil {
		return nil, 0, err
	}
	var cat []report.CatalogEntry
	for _, t := range c.threatChoices() {
		cat = append(cat, report.CatalogEntry{Threat: t, Alerts: counts[t.ID]})
	}
	sort.SliceStable(cat, func(i, j int) bool {
		if cat[i].Severity != cat[j].Severity {
			return cat[i].Severity > cat[j].Severity
		}
		return cat[i].ID < cat[j].ID
	})
	return &report.ConsoleView{Title: "Threats", Nav: report.NavThreats, Catalog: cat}, http.StatusOK, nil
}

func (c *console) setStatus(w http.ResponseWriter, r *http.Request, ss *session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	state := r.PostForm.Get("state")
	note := strings.TrimSpace(r.PostForm.Get("note"))
	if err != nil || (state != "acknowledged" && state != "closed" && state != "open") || utf8.RuneCountInString(note) > maxNote || !utf8.ValidString(note) {
		c.render(w, http.StatusBadRequest, &report.ConsoleView{Title: "Bad request", Tenant: ss.tenant.Name, CSRF: ss.csrf,
			Error: fmt.Sprintf("state must be acknowledged, closed or open, and the note at most %d characters", maxNote)})
		return
	}
	found, err := c.s.store.SetAlertStatus(ss.tenant.ID, id, state, note, c.s.cfg.Now())
	if err != nil {
		c.fail(w, err)
		return
	}
	if !found {
		c.render(w, http.StatusNotFound, &report.ConsoleView{Title: "Not found", Tenant: ss.tenant.Name, CSRF: ss.csrf, Error: "no such alert in your account"})
		return
	}
	http.Redirect(w, r, "/alert/"+strconv.FormatInt(id, 10)+"?saved=1", http.StatusSeeOther)
}

// withStatus adds the console's triage state to API alerts, as the
// extension field nfrStatus.
func (s *Server) withStatus(t Tenant, rows []storedAlert, alerts []api.Alert) error {
	if len(rows) == 0 {
		return nil
	}
	st, err := s.store.alertStatuses(t.ID, rows[0].ID, rows[len(rows)-1].ID)
	if err != nil {
		return err
	}
	for i, row := range rows {
		if v, ok := st[row.ID]; ok {
			alerts[i].Status = &v
		}
	}
	return nil
}
