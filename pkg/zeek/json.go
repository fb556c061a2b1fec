package zeek

import (
	"errors"
	"fmt"

	jsoniter "github.com/json-iterator/go"

	"github.com/nfr-project/nfr/pkg/event"
)

// This file is the only one of the package that knows json-iterator.

type jsonState struct {
	it *jsoniter.Iterator
}

var jsonConfig = jsoniter.Config{}.Froze()

// jsonLine reads one JSON log record (LogAscii::use_json or JSON streaming).
func (p *Parser) jsonLine(line []byte, emit func(*event.Event) error) error {
	if p.js.it == nil {
		p.js.it = jsoniter.NewIterator(jsonConfig)
	}
	it := p.js.it
	it.ResetBytes(line)
	it.Error = nil
	r := &p.rec
	r.reset()
	var ferr error
	it.ReadObjectCB(func(it *jsoniter.Iterator, key string) bool {
		if key == "id" && it.WhatIsNext() == jsoniter.ObjectValue {
			// The connection id written nested ({"id":{"orig_h":...}})
			// rather than flattened, as some shippers do.
			it.ReadObjectCB(func(it *jsoniter.Iterator, sub string) bool {
				if id := fieldID("id." + sub); id >= 0 {
					if err := readValue(it, r, id); err != nil && ferr == nil {
						ferr = fmt.Errorf("id.%s: %v", sub, err)
					}
				} else {
					it.Skip()
				}
				return it.Error == nil
			})
			return it.Error == nil
		}
		id := fieldID(key)
		if id < 0 {
			it.Skip()
			return it.Error == nil
		}
		if err := readValue(it, r, id); err != nil && ferr == nil {
			ferr = fmt.Errorf("%s: %v", key, err)
		}
		return it.Error == nil
	})
	if it.Error != nil {
		return trimIterError(it.Error)
	}
	if ferr != nil {
		return ferr
	}
	p.Stats.Records++
	kind := p.kind(r.str(fPath))
	if !wanted(kind) {
		p.ignore(kind)
		return nil
	}
	return p.build(kind, r, emit)
}

func readValue(it *jsoniter.Iterator, r *record, id int) error {
	switch it.WhatIsNext() {
	case jsoniter.NilValue:
		it.Skip()
		return nil
	case jsoniter.ArrayValue:
		if !isList(id) {
			it.Skip()
			return errors.New("unexpected array")
		}
		r.set(id, nil)
		l := r.list[id][:0]
		var err error
		it.ReadArrayCB(func(it *jsoniter.Iterator) bool {
			b, e := scalar(it)
			if e != nil && err == nil {
				err = e
			}
			l = append(l, b)
			return it.Error == nil
		})
		r.list[id] = l
		return err
	}
	b, err := scalar(it)
	if err != nil {
		return err
	}
	if isList(id) { // a scalar where Zeek writes a list: one element
		r.set(id, nil)
		r.list[id] = append(r.list[id][:0], b)
		return nil
	}
	r.set(id, b)
	return nil
}

func scalar(it *jsoniter.Iterator) ([]byte, error) {
	switch it.WhatIsNext() {
	case jsoniter.StringValue:
		return []byte(it.ReadString()), nil
	case jsoniter.NumberValue:
		return []byte(string(it.ReadNumber())), nil
	case jsoniter.BoolValue:
		if it.ReadBool() {
			return []byte("T"), nil
		}
		return []byte("F"), nil
	case jsoniter.NilValue:
		it.Skip()
		return nil, nil
	}
	it.Skip()
	return nil, errors.New("unexpected object")
}

func trimIterError(err error) error {
	s := err.Error()
	for i := 0; i+len(", error found in #") <= len(s); i++ {
		if s[i:i+len(", error found in #")] == ", error found in #" {
			s = s[:i]
			break
		}
	}
	return errors.New("bad JSON: " + s)
}
