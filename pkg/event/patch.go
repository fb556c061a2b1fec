package event

// SetField returns line (a JSON object) with "key":value added before the
// closing brace, or replacing an existing top-level key of that name. value
// must be valid JSON. The rest of the line is kept byte for byte, which is
// what middle filters such as nfr-scope promise.
func SetField(dst, line []byte, key string, value []byte) []byte {
	start, end, ok := findTopLevelKey(line, key)
	if ok {
		dst = append(dst, line[:start]...)
		dst = append(dst, value...)
		return append(dst, line[end:]...)
	}
	// Find the final '}' (lines are already trimmed, so it is the last byte).
	n := len(line) - 1
	for n > 0 && line[n] != '}' {
		n--
	}
	body := line[:n]
	dst = append(dst, body...)
	// Is the object empty?
	empty := true
	for i := len(body) - 1; i > 0; i-- {
		c := body[i]
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			continue
		}
		empty = c == '{'
		break
	}
	if !empty {
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, key...)
	dst = append(dst, '"', ':')
	dst = append(dst, value...)
	return append(dst, line[n:]...)
}

// findTopLevelKey returns the byte range of the value of key in the object
// line, scanning strings and nesting properly.
func findTopLevelKey(line []byte, key string) (start, end int, ok bool) {
	walkTopLevel(line, func(k []byte, s, e int) bool {
		if string(k) == key {
			start, end, ok = s, e, true
			return false
		}
		return true
	})
	return start, end, ok
}

// walkTopLevel calls fn with each top-level key of the object line
// (undecoded: keys we look for need no escapes) and its value's byte
// range, until fn returns false.
func walkTopLevel(line []byte, fn func(key []byte, start, end int) bool) {
	depth := 0
	i := 0
	expectKey := false
	for i < len(line) {
		c := line[i]
		switch c {
		case '{', '[':
			depth++
			expectKey = c == '{' && depth == 1
			i++
		case '}', ']':
			depth--
			i++
		case ',':
			expectKey = depth == 1
			i++
		case '"':
			j := skipString(line, i)
			if depth == 1 && expectKey {
				v := j
				for v < len(line) && (line[v] == ' ' || line[v] == ':' || line[v] == '\t') {
					v++
				}
				e := skipValue(line, v)
				if !fn(line[i+1:j-1], v, e) {
					return
				}
				// The value is skipped whole: a nested object's keys are
				// not top-level.
				i, expectKey = e, false
				continue
			}
			i = j
		default:
			i++
		}
	}
}

func skipString(b []byte, i int) int {
	i++ // opening quote
	for i < len(b) {
		switch b[i] {
		case '\\':
			i += 2
		case '"':
			return i + 1
		default:
			i++
		}
	}
	return len(b)
}

func skipValue(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch b[i] {
		case '"':
			i = skipString(b, i)
			if depth == 0 {
				return i
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i
			}
			depth--
			if depth == 0 {
				return i + 1
			}
		case ',':
			if depth == 0 {
				return i
			}
		}
		i++
	}
	return i
}
