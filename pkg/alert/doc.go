// Package alert is nfr-alert's library: it turns NFR alert lines (see
// nfr-event(5)) into the formats a SOC reads (JSON, ECS, CEF, LEEF, GELF,
// syslog RFC 5424 and 3164, text) and delivers them to outputs (a file,
// syslog over UDP, TCP, TLS, RELP or /dev/log, GELF over UDP or TCP, HTTP
// webhooks, Splunk HEC, Elasticsearch _bulk). Each output has its own
// on-disk queue (pkg/spool), so an alert taken from the input is delivered
// in order or kept on disk, across receiver and nfr-alert restarts.
//
// Fields that a later scorer adds (id, count, firstSeen, lastSeen) are
// mapped to each format's own fields when present; the json and syslog
// formats carry the whole alert line, so nothing is lost.
package alert
