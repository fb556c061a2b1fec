package report

import (
	"bufio"
	"fmt"
	"html/template"
	"io"
)

// ConsoleCSP is the Content-Security-Policy of the engine console's pages:
// the same style and script as the report, by hash; forms post only to the
// console itself, and no other site may frame it.
var ConsoleCSP = "default-src 'none'; img-src data:; style-src '" + hash(style) + "'; script-src '" +
	hash(script) + "'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Console pages, the values of ConsoleView.Nav.
const (
	NavSignIn   = "signin"
	NavOverview = "overview"
	NavAlerts   = "alerts"
	NavAlert    = "alert"
	NavHost     = "host"
	NavThreats  = "threats"
	NavAccounts = "accounts"
)

// Account is one account an administrator may look at.
type Account struct {
	ID   int64
	Name string
}

// Filter is the alert list's query, as the form sends it.
type Filter struct {
	From, To string // YYYY-MM-DDTHH:MM, UTC
	Severity int    // minimum, 0 for any
	Threat   string
	Src      string
	Group    string
	Status   string // open, acknowledged, closed; empty for any
}

// CatalogEntry is one threat of the catalog page.
type CatalogEntry struct {
	Threat
	Alerts int64 // the account's alerts with this threat
}

// ConsoleView is what one console page shows.
type ConsoleView struct {
	Title  string
	Tenant string // the signed-in account; empty on the sign-in page
	Admin  bool   // signed in with an admin token: Tenant is the account picked
	CSRF   string // token of the session (or of the sign-in form)
	Nav    string
	Error  string
	Notice string

	Page     *Page          // overview, host, alert list: the summary and the alerts
	Alert    *Alert         // alert page
	Others   *Page          // alert page: the source's other alerts
	Filter   Filter         // alert list
	Threats  []Threat       // the list's threat choices
	Catalog  []CatalogEntry // threat catalog
	Older    string         // alert list: link to the next, older page
	Host     string
	Accounts []Account // accounts page
}

// RenderConsole writes one console page.
func RenderConsole(w io.Writer, v *ConsoleView) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	data := struct {
		*ConsoleView
		Style  template.CSS
		Script template.JS
	}{v, template.CSS(style), template.JS(script)}
	if err := tmpl.ExecuteTemplate(bw, "console", data); err != nil {
		return fmt.Errorf("rendering the console: %v", err)
	}
	return bw.Flush()
}
