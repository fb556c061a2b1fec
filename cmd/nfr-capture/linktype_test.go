package main

import (
	"encoding/binary"
	"strings"
	"testing"
)

// pcapOf returns a classic pcap file of link type link holding frames.
func pcapOf(link uint32, frames ...[]byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, 0xa1b2c3d4)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 65535)
	b = binary.LittleEndian.AppendUint32(b, link)
	for i, f := range frames {
		b = binary.LittleEndian.AppendUint32(b, uint32(1700000000+i))
		b = binary.LittleEndian.AppendUint32(b, 0)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(f)))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}

// TestUnsupportedLinkType: a capture of a link type nfr-capture cannot
// decode (LINKTYPE_USER0, 147) says so and exits 1, instead of 0 events
// and exit 0.
func TestUnsupportedLinkType(t *testing.T) {
	r := runCapture(t, pcapOf(147, make([]byte, 60), make([]byte, 60)), "-r", "-")
	if r.Code != 1 || r.Stdout != "" || !strings.Contains(r.Stderr, "nfr-capture: error: link type linktype-147 (2 packets) not supported") {
		t.Errorf("%+v", r)
	}
	// A supported one (raw IP) with nothing decodable is not that error.
	r = runCapture(t, pcapOf(101, make([]byte, 20)), "-r", "-")
	if strings.Contains(r.Stderr, "not supported") {
		t.Errorf("raw IP: %+v", r)
	}
}
