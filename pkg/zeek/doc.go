// Package zeek turns Zeek (formerly Bro) logs into NFR events: dns.log into
// dns events, conn.log into ip, http.log into http and ssl.log into tls, with
// certificate fields joined from x509.log when it is read first.
//
// Both of Zeek's writers are understood. TSV logs are driven by their own
// headers (#separator with \xNN escapes, #set_separator, #empty_field,
// #unset_field, #fields, #types, #path), so no column order is assumed and a
// stream may hold several header blocks (concatenated or rotated logs). JSON
// logs may be LogAscii::use_json output (epoch ts) or the JSON-streaming form
// (_path, ISO 8601 ts). The log kind comes from #path, _path or the file name,
// in that order, unless the caller fixes it.
//
// Values keep Zeek's own escaping: a byte Zeek wrote as the text \xNN stays
// that text, which the event stream writes unchanged, so nothing is decoded
// twice or lost. Timestamps are read as decimal text into nanoseconds, never
// through a float. An unset (-) value of any field is simply absent.
package zeek
