// Package quic reads the ClientHello that a QUIC client sends in its Initial
// packets. Initial packets are encrypted with keys anyone can derive from the
// Destination Connection ID (RFC 9001 section 5.2), so the analyser removes
// header protection, decrypts, collects the CRYPTO frames (a large
// ClientHello spans several frames and packets) and reads the server name,
// ALPN and JA4 (with the "q" prefix) with pkg/handshake. QUIC versions 1
// (RFC 9000) and 2 (RFC 9369) are understood.
package quic

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
)

// Versions.
const (
	V1 = 0x00000001
	V2 = 0x6b3343cf
)

var (
	saltV1 = []byte{0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a}
	saltV2 = []byte{0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9}
)

// Keys protect the Initial packets of one direction.
type Keys struct {
	aead cipher.AEAD
	iv   [12]byte
	hp   cipher.Block
}

// hkdfExpandLabel is TLS 1.3's HKDF-Expand-Label with an empty context.
func hkdfExpandLabel(secret []byte, label string, n int) []byte {
	full := "tls13 " + label
	info := make([]byte, 0, 4+len(full))
	info = binary.BigEndian.AppendUint16(info, uint16(n))
	info = append(info, byte(len(full)))
	info = append(info, full...)
	info = append(info, 0)
	out, err := hkdf.Expand(sha256.New, secret, string(info), n)
	if err != nil {
		panic(err) // only for lengths beyond 255*32
	}
	return out
}

// ClientKeys derives the client's Initial keys from the Destination
// Connection ID of the client's first Initial packet.
func ClientKeys(version uint32, dcid []byte) (*Keys, error) {
	return initialKeys(version, dcid, "client in")
}

// ServerKeys derives the server's Initial keys.
func ServerKeys(version uint32, dcid []byte) (*Keys, error) {
	return initialKeys(version, dcid, "server in")
}

func initialKeys(version uint32, dcid []byte, side string) (*Keys, error) {
	salt, prefix := saltV1, "quic "
	switch version {
	case V1:
	case V2:
		salt, prefix = saltV2, "quicv2 "
	default:
		return nil, errors.New("quic: unsupported version")
	}
	initial, err := hkdf.Extract(sha256.New, dcid, salt)
	if err != nil {
		return nil, err
	}
	secret := hkdfExpandLabel(initial, side, 32)
	key := hkdfExpandLabel(secret, prefix+"key", 16)
	hp := hkdfExpandLabel(secret, prefix+"hp", 16)
	k := &Keys{}
	copy(k.iv[:], hkdfExpandLabel(secret, prefix+"iv", 12))
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	if k.aead, err = cipher.NewGCM(block); err != nil {
		return nil, err
	}
	if k.hp, err = aes.NewCipher(hp); err != nil {
		return nil, err
	}
	return k, nil
}

// Packet is one long-header packet of a datagram.
type Packet struct {
	Version    uint32
	Type       int // InitialType, ... (version independent)
	DCID, SCID []byte
	// Raw is the whole packet (header and protected payload); Rest is what
	// follows it in the datagram (coalesced packets).
	Raw, Rest []byte
	pnOffset  int
}

// Packet types, independent of the version's encoding.
const (
	InitialType = iota
	ZeroRTTType
	HandshakeType
	RetryType
)

var (
	errNotLong = errors.New("quic: not a long-header packet")
	errShort   = errors.New("quic: packet too short")
)

// varint reads a QUIC variable-length integer.
func varint(b []byte) (uint64, int, bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	n := 1 << (b[0] >> 6)
	if len(b) < n {
		return 0, 0, false
	}
	v := uint64(b[0] & 0x3f)
	for i := 1; i < n; i++ {
		v = v<<8 | uint64(b[i])
	}
	return v, n, true
}

// ParseLong parses the long header at the start of b.
func ParseLong(b []byte) (*Packet, error) {
	if len(b) < 7 || b[0]&0x80 == 0 {
		return nil, errNotLong
	}
	p := &Packet{Version: binary.BigEndian.Uint32(b[1:5])}
	if p.Version != V1 && p.Version != V2 {
		return nil, errors.New("quic: unsupported version")
	}
	t := int(b[0]>>4) & 3
	if p.Version == V2 {
		// v2 rotates the type bits: Initial 01, 0-RTT 10, Handshake 11, Retry 00.
		t = (t + 3) & 3
	}
	p.Type = t
	i := 5
	dl := int(b[i])
	i++
	if dl > 20 || len(b) < i+dl+1 {
		return nil, errShort
	}
	p.DCID = b[i : i+dl]
	i += dl
	sl := int(b[i])
	i++
	if sl > 20 || len(b) < i+sl {
		return nil, errShort
	}
	p.SCID = b[i : i+sl]
	i += sl
	if p.Type == RetryType {
		p.Raw, p.Rest = b, nil
		return p, nil
	}
	if p.Type == InitialType {
		tl, n, ok := varint(b[i:])
		if !ok || uint64(len(b)-i-n) < tl {
			return nil, errShort
		}
		i += n + int(tl)
	}
	length, n, ok := varint(b[i:])
	if !ok {
		return nil, errShort
	}
	i += n
	if uint64(len(b)-i) < length || length < 20 {
		return nil, errShort
	}
	p.pnOffset = i
	end := i + int(length)
	p.Raw, p.Rest = b[:end], b[end:]
	return p, nil
}

// Decrypt removes header protection and decrypts p's payload with k. It
// does not modify p.Raw; the plaintext is appended to dst.
func (k *Keys) Decrypt(p *Packet, dst []byte) ([]byte, error) {
	raw := p.Raw
	if len(raw) < p.pnOffset+4+16 {
		return nil, errShort
	}
	var mask [16]byte
	k.hp.Encrypt(mask[:], raw[p.pnOffset+4:p.pnOffset+4+16])
	// Work on a copy of the header: the capture buffer is not ours.
	hdr := make([]byte, p.pnOffset+4)
	copy(hdr, raw)
	hdr[0] ^= mask[0] & 0x0f
	pnLen := int(hdr[0]&3) + 1
	var pn uint64
	for i := 0; i < pnLen; i++ {
		hdr[p.pnOffset+i] ^= mask[1+i]
		pn = pn<<8 | uint64(hdr[p.pnOffset+i])
	}
	hdr = hdr[:p.pnOffset+pnLen]
	nonce := k.iv
	for i := 0; i < 8; i++ {
		nonce[11-i] ^= byte(pn >> (8 * i))
	}
	out, err := k.aead.Open(dst, nonce[:], raw[p.pnOffset+pnLen:], hdr)
	if err != nil {
		return nil, errors.New("quic: Initial packet does not decrypt")
	}
	return out, nil
}

// Crypto calls f with each CRYPTO frame of a decrypted Initial payload.
// Initial packets carry only PADDING, PING, ACK, CRYPTO and
// CONNECTION_CLOSE frames; anything else ends the walk with an error.
func Crypto(payload []byte, f func(offset uint64, data []byte)) error {
	b := payload
	for len(b) > 0 {
		switch t := b[0]; {
		case t == 0x00 || t == 0x01: // PADDING, PING
			b = b[1:]
		case t == 0x02 || t == 0x03: // ACK
			b = b[1:]
			var fields [4]uint64
			for i := range fields {
				v, n, ok := varint(b)
				if !ok {
					return errShort
				}
				fields[i], b = v, b[n:]
			}
			for r := uint64(0); r < fields[2]; r++ { // gap and length of each range
				for j := 0; j < 2; j++ {
					_, n, ok := varint(b)
					if !ok {
						return errShort
					}
					b = b[n:]
				}
			}
			if t == 0x03 { // ECN counts
				for j := 0; j < 3; j++ {
					_, n, ok := varint(b)
					if !ok {
						return errShort
					}
					b = b[n:]
				}
			}
		case t == 0x06: // CRYPTO
			off, n, ok := varint(b[1:])
			if !ok {
				return errShort
			}
			l, m, ok := varint(b[1+n:])
			if !ok || uint64(len(b)-1-n-m) < l {
				return errShort
			}
			start := 1 + n + m
			f(off, b[start:start+int(l)])
			b = b[start+int(l):]
		case t == 0x1c || t == 0x1d: // CONNECTION_CLOSE
			return nil
		default:
			return errors.New("quic: unexpected frame in an Initial packet")
		}
	}
	return nil
}
