package ssh

import (
	"encoding/binary"
	"errors"
	"strings"
)

// KexInit holds the algorithm name-lists of an SSH_MSG_KEXINIT (RFC 4253
// section 7.1), as sent, comma-separated.
type KexInit struct {
	Kex, HostKey                       string
	EncC2S, EncS2C, MACC2S, MACS2C     string
	CompC2S, CompS2C, LangC2S, LangS2C string
	FirstKexFollows                    bool
}

var errShort = errors.New("ssh: KEXINIT truncated")

// ParseKexInit parses a KEXINIT payload, starting at its message number.
func ParseKexInit(p []byte) (*KexInit, error) {
	if len(p) < 17 || p[0] != msgKexInit {
		return nil, errShort
	}
	p = p[17:] // message number and 16-byte cookie
	k := &KexInit{}
	for _, dst := range []*string{&k.Kex, &k.HostKey, &k.EncC2S, &k.EncS2C, &k.MACC2S, &k.MACS2C,
		&k.CompC2S, &k.CompS2C, &k.LangC2S, &k.LangS2C} {
		if len(p) < 4 {
			return nil, errShort
		}
		n := binary.BigEndian.Uint32(p)
		if uint64(n) > uint64(len(p)-4) {
			return nil, errShort
		}
		*dst = string(p[4 : 4+n])
		p = p[4+n:]
	}
	if len(p) < 1 {
		return nil, errShort
	}
	k.FirstKexFollows = p[0] != 0
	return k, nil
}

// Algorithms is the string HASSH (client) or HASSHServer hashes: the key
// exchange, encryption, MAC and compression lists of its own direction,
// separated by semicolons.
func (k *KexInit) Algorithms(client bool) string {
	if client {
		return k.Kex + ";" + k.EncC2S + ";" + k.MACC2S + ";" + k.CompC2S
	}
	return k.Kex + ";" + k.EncS2C + ";" + k.MACS2C + ";" + k.CompS2C
}

// Negotiate returns the algorithm RFC 4253 picks: the first of the
// client's list that the server's list has too, "" when none.
func Negotiate(client, server string) string {
	for client != "" {
		var a string
		a, client, _ = strings.Cut(client, ",")
		for s := server; s != ""; {
			var b string
			b, s, _ = strings.Cut(s, ",")
			if a == b {
				return a
			}
		}
	}
	return ""
}
