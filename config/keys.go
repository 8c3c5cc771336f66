package config

import (
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"

	"github.com/idpsync/idpsync/webhook"
)

// keyLine is one key path of a document and the line it is on.
type keyLine struct {
	path string
	line int
}

// indexKeys lists every key path of a TOML document with its line, in
// document order: "listen", "log", "log.level", "mapping", "mapping[0]",
// "mapping[0].group", "rules.roles[2]". The tables of an array of tables and
// the elements of an array get their index, counted from 0. A table or
// dotted key also lists its parents. data must parse: decode it first.
func indexKeys(data []byte) []keyLine {
	ix := indexer{seen: map[string]bool{}, tables: map[string]int{}}
	ix.p.Reset(data)
	table := ""
	for ix.p.NextExpression() {
		e := ix.p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			table = ix.header(e)
		case unstable.KeyValue:
			ix.value(ix.key(table, e), e.Value())
		}
	}
	return ix.keys
}

type indexer struct {
	p      unstable.Parser
	keys   []keyLine
	seen   map[string]bool
	tables map[string]int // array of tables → how many tables it has so far
}

func (ix *indexer) add(path string, line int) {
	if !ix.seen[path] {
		ix.seen[path] = true
		ix.keys = append(ix.keys, keyLine{path, line})
	}
}

// line returns the line a node starts on. Arrays carry no position of their
// own: they take their first element's (0 when empty).
func (ix *indexer) line(n *unstable.Node) int {
	for n != nil && n.Raw.Length == 0 {
		n = n.Child()
	}
	if n == nil {
		return 0
	}
	return ix.p.Shape(n.Raw).Start.Line
}

// header records a [table] or [[array of tables]] header and returns the
// path of the table it opens. A key part naming an array of tables means
// that array's last table, as in TOML.
func (ix *indexer) header(e *unstable.Node) string {
	path, line := "", 0
	it := e.Key()
	for it.Next() {
		line = ix.line(it.Node())
		path = joinKey(path, string(it.Node().Data))
		ix.add(path, line)
		if n, isArray := ix.tables[path]; isArray && !(e.Kind == unstable.ArrayTable && it.IsLast()) {
			path = indexKey(path, n-1)
		}
	}
	if e.Kind == unstable.ArrayTable {
		n := ix.tables[path]
		ix.tables[path] = n + 1
		path = indexKey(path, n)
		ix.add(path, line)
	}
	return path
}

// key records the (possibly dotted) key of a key/value pair under table and
// returns its path.
func (ix *indexer) key(table string, kv *unstable.Node) string {
	path := table
	it := kv.Key()
	for it.Next() {
		path = joinKey(path, string(it.Node().Data))
		ix.add(path, ix.line(it.Node()))
	}
	return path
}

// value records the elements of an array and the keys of an inline table.
func (ix *indexer) value(path string, v *unstable.Node) {
	switch v.Kind {
	case unstable.Array:
		i := 0
		for it := v.Children(); it.Next(); {
			if n := it.Node(); n.Kind != unstable.Comment {
				p := indexKey(path, i)
				ix.add(p, ix.line(n))
				ix.value(p, n)
				i++
			}
		}
	case unstable.InlineTable:
		for it := v.Children(); it.Next(); {
			if kv := it.Node(); kv.Kind == unstable.KeyValue {
				ix.value(ix.key(path, kv), kv.Value())
			}
		}
	}
}

// arrayIndex matches the array indexes of a key path.
var arrayIndex = regexp.MustCompile(`\[[0-9]+\]`)

func joinKey(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func indexKey(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// parentKey returns the path one level up: "source[1]" for "source[1].path",
// "source" for "source[1]", "" for "listen".
func parentKey(path string) string {
	if strings.HasSuffix(path, "]") {
		return path[:strings.LastIndexByte(path, '[')]
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

// unknownKeys reports the keys of the document that no field decodes. A
// key under an unknown table is not reported again, nor, for a source of
// unknown type, the keys other than those every source has: the type is
// what is wrong there.
func (c *Config) unknownKeys(keys []keyLine) Errors {
	var errs Errors
	for _, k := range keys {
		if strings.HasSuffix(k.path, "]") {
			continue // an array element: its array's key was checked
		}
		parent := parentKey(k.path)
		name := strings.TrimPrefix(k.path[len(parent):], ".")
		allowed, what := c.allowedKeys(parent)
		if allowed == nil || slices.Contains(allowed, name) {
			continue
		}
		errs = append(errs, Error{Line: k.line, Key: k.path,
			Msg: "unknown key (" + what + " keys are " + strings.Join(allowed, ", ") + ")"})
	}
	return errs
}

// allowedKeys returns the keys a table may hold and names the table; nil
// when the table is itself unknown or cannot be judged.
func (c *Config) allowedKeys(table string) (keys []string, what string) {
	section, i := table, -1
	if j := strings.IndexByte(table, '['); j >= 0 && strings.HasSuffix(table, "]") && !strings.Contains(table, ".") {
		section = table[:j]
		i, _ = strconv.Atoi(table[j+1 : len(table)-1])
	}
	switch {
	case table == "":
		return tomlKeys(Config{}), "top-level"
	case table == "log":
		return tomlKeys(LogConfig{}), "[log]"
	case table == "rules":
		return tomlKeys(RulesConfig{}), "[rules]"
	case table == "ui":
		return tomlKeys(UIConfig{}), "[ui]"
	case section == "webhook" && i >= 0:
		return tomlKeys(webhook.Config{}), "[[webhook]]"
	case section == "mapping" && i >= 0:
		return tomlKeys(Mapping{}), "[[mapping]]"
	case section == "source" && i >= 0 && i < len(c.Sources):
		s := &c.Sources[i]
		settings := s.settings()
		if settings == nil {
			return nil, ""
		}
		return append(tomlKeys(Source{}), tomlKeys(settings)...), strconv.Quote(s.Type) + " source"
	}
	return nil, ""
}

// tomlKeys returns the TOML keys of a struct's fields, from their tags.
func tomlKeys(v any) []string {
	t := reflect.TypeOf(v)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var keys []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if f.IsExported() && name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}
