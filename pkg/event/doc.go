// Package event defines NFR's event stream: newline-delimited JSON objects,
// one per line, UTF-8, never pretty-printed, passed between the nfr-* filters.
//
// Every object has "type" (dns, ip, http, tls, or alert for scored output) and
// "v", the format version (1; a reader assumes 1 when it is absent). Field names
// are the AlphaSOC analytics API's wire names, so events are submitted as they
// are: ts, srcIP, srcPort, destIP, destPort, proto for every type; query, qtype,
// rcode, answers, ttls for dns; bytesIn, bytesOut, pktsIn, pktsOut, duration for
// ip; host, url, method, status, userAgent, referrer, contentType for http; sni,
// version, alpn, ja3, ja3s, ja4, certHash, issuer, subject, validFrom, validTo
// for tls; groups (added by nfr-scope) and source on any. "ts" is RFC 3339 in
// UTC with up to nanosecond precision. The full list is in nfr-event(5).
//
// Bytes that are not printable UTF-8 (control characters, DEL, invalid UTF-8)
// in names, URLs and agents are written as the four characters \xNN, as Zeek
// does, so nothing is replaced or lost.
//
// Compatibility: fields and event types may be added in later versions of the
// same "v"; readers ignore fields they do not know, and middle filters pass
// unknown fields and unknown types through byte for byte.
package event
