package event

// Field returns the raw JSON value of the top-level key in the object
// line, for readers that need one field a decoder does not know.
func Field(line []byte, key string) (value []byte, ok bool) {
	start, end, ok := findTopLevelKey(line, key)
	if !ok {
		return nil, false
	}
	return line[start:end], true
}

// Fields calls fn with every top-level key of the object line and its raw
// JSON value, in one pass, for readers that need a few fields a decoder
// does not know.
func Fields(line []byte, fn func(key, value []byte)) {
	walkTopLevel(line, func(k []byte, s, e int) bool {
		fn(k, line[s:e])
		return true
	})
}
