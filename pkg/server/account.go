package server

import (
	"fmt"
	"net/http"
	"net/mail"
	"strconv"
	"strings"

	"github.com/nfr-project/nfr/pkg/api"
)

// Message levels in StatusResponse.
const (
	levelInfo    = 1
	levelWarning = 2
)

func (s *Server) register(w http.ResponseWriter, r *http.Request, t Tenant) {
	var req api.RegisterRequest
	if !readJSON(w, r, &req) {
		return
	}
	name, email := strings.TrimSpace(req.Details.Name), strings.TrimSpace(req.Details.Email)
	if name == "" {
		writeError(w, http.StatusBadRequest, "details.name is required")
		return
	}
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		writeError(w, http.StatusBadRequest, "details.email is not a valid e-mail address")
		return
	}
	if err := s.store.Register(t, name, email); err != nil {
		s.internalError(w, err)
		return
	}
	s.notice("tenant %s registered", t.Name)
	writeJSON(w, http.StatusOK, struct{}{})
}

func (s *Server) status(w http.ResponseWriter, r *http.Request, t Tenant) {
	reg, err := s.store.Registered(t)
	if err != nil {
		s.internalError(w, err)
		return
	}
	resp := api.StatusResponse{Registered: reg, Messages: []api.Message{}}
	if reg {
		resp.Messages = append(resp.Messages, api.Message{Level: levelInfo, Body: "key is registered to tenant " + t.Name})
	} else {
		resp.Messages = append(resp.Messages, api.Message{Level: levelWarning, Body: "key is not registered: run nfr account register"})
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) keyRequest(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.KeyRequests {
		writeError(w, http.StatusForbidden, "this server gives no keys on request: ask its administrator for one (nfr-engine keys add NAME)")
		return
	}
	if ok, wait := s.keyLimit.allow(r); !ok {
		secs := int(wait.Seconds()) + 1
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeError(w, http.StatusTooManyRequests, fmt.Sprintf("too many key requests from this address: try again in %ds", secs))
		return
	}
	var req api.KeyRequest
	if r.ContentLength != 0 && !readJSON(w, r, &req) {
		return
	}
	base := tenantBase(req.Platform.Name)
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	n, err := s.store.Tenants()
	if err != nil {
		s.internalError(w, err)
		return
	}
	if n >= s.cfg.MaxTenants {
		s.notice("key request refused: %d tenants, the most engine.max_tenants allows", n)
		writeError(w, http.StatusForbidden, "this server has as many tenants as it takes: ask its administrator for a key (nfr-engine keys add NAME)")
		return
	}
	key, t, err := s.store.NewTenantKey(base)
	if err != nil {
		s.internalError(w, err)
		return
	}
	s.notice("key requested for platform %q: new tenant %s", req.Platform.Name, t.Name)
	writeJSON(w, http.StatusOK, api.KeyResponse{Key: key})
}

// tenantBase makes a tenant name stem from a platform name such as
// "nfr-linux-amd64": lower case letters, digits and dashes, at most 32.
func tenantBase(platform string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(platform) {
		if b.Len() >= 32 {
			break
		}
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' {
			b.WriteRune(c)
		}
	}
	if b.Len() == 0 {
		return "nfr"
	}
	return b.String()
}

// keyReset answers 200 whatever the address, so the endpoint does not tell
// which addresses have accounts; nfr-engine sends no mail, so the operator
// is told instead.
func (s *Server) keyReset(w http.ResponseWriter, r *http.Request) {
	var req api.ResetRequest
	if !readJSON(w, r, &req) {
		return
	}
	email := strings.TrimSpace(req.Email)
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		writeError(w, http.StatusBadRequest, "email is not a valid e-mail address")
		return
	}
	n, err := s.store.TenantsByEmail(email)
	if err != nil {
		s.internalError(w, err)
		return
	}
	s.notice("key reset asked for %s (%d tenants registered with it); nfr-engine sends no mail: give a new key with nfr-engine keys add NAME", email, n)
	writeJSON(w, http.StatusOK, struct{}{})
}
