package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/xapibridge/bridge/internal/suggest"
)

// decodeYAML decodes data into cfg. It parses the document into a yaml.Node
// tree and walks it against the yaml tags of cfg, which gives error
// messages naming the file, line and full key path (e.g. database.dirver)
// and rejects unknown keys, like yaml.v3's Decoder.KnownFields(true) but with
// better messages and collecting every problem.
func decodeYAML(file string, data []byte, env map[string]string, cfg *Config, lenient func(path string) bool) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // empty file
		}
		return yamlSyntaxError(file, data, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return fmt.Errorf("config %s: line %d: multiple YAML documents are not supported", file, extra.Line)
	} else if !errors.Is(err, io.EOF) {
		return yamlSyntaxError(file, data, err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil
		}
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil
	}
	d := &yamlDecoder{file: file, env: env, lenient: lenient}
	if root.Kind != yaml.MappingNode {
		d.errorf(root, "", "expected a mapping of keys at the top level, got a %s", kindName(root.Kind))
	} else {
		d.decode(root, reflect.ValueOf(cfg).Elem(), "")
	}
	return errors.Join(d.errs...)
}

func yamlSyntaxError(file string, data []byte, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if hint := yamlHint(data); hint != "" {
		// The hint names the line; yaml.v3's own number can be off by one.
		msg = yamlLineRE.ReplaceAllString(msg, "") + ": " + hint
	}
	return fmt.Errorf("config %s: %s", file, msg)
}

var yamlLineRE = regexp.MustCompile(`^line \d+: `)

// unquotedFlowVar finds a ${VAR} that starts an unquoted item of a flow
// list or map ([${A}], {k: ${B}}): YAML reads its "{" as the start of a map.
var unquotedFlowVar = regexp.MustCompile(`[\[{,]\s*\$\{|\{[^}]*:\s*\$\{`)

// yamlHint explains the YAML mistakes people make in this config most, by
// the line they are on: yaml.v3's messages name neither (and its line
// numbers can be off by one).
func yamlHint(data []byte) string {
	for i, line := range strings.Split(string(data), "\n") {
		code := line
		if j := strings.Index(code, " #"); j >= 0 {
			code = code[:j]
		}
		indent := code[:len(code)-len(strings.TrimLeft(code, " \t"))]
		if strings.Contains(indent, "\t") {
			return fmt.Sprintf("line %d is indented with a tab: YAML allows only spaces for indentation", i+1)
		}
		if unquotedFlowVar.MatchString(code) {
			return fmt.Sprintf(`line %d: a ${VAR} inside [...] or {...} must be quoted, e.g. tokens: ["${ADMIN_TOKEN}"]`, i+1)
		}
	}
	return ""
}

type yamlDecoder struct {
	file string
	env  map[string]string
	errs []error
	// lenient, when set, says which key paths belong to sections the
	// command does not use: an unset variable there is not an error.
	lenient func(path string) bool
}

func (d *yamlDecoder) errorf(n *yaml.Node, path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	d.errs = append(d.errs, fmt.Errorf("config %s: line %d: %s", d.file, n.Line, msg))
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// decode stores node n into v; path is the key path used in messages.
func (d *yamlDecoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		v.Set(reflect.Zero(v.Type()))
		return
	}
	if v.CanAddr() && reflect.PointerTo(v.Type()).Implements(unmarshalerType) {
		node := n
		if n.Kind == yaml.ScalarNode {
			s, ok := d.expand(n, path)
			if !ok {
				return
			}
			c := *n
			c.Value = s
			node = &c
		}
		if err := v.Addr().Interface().(yaml.Unmarshaler).UnmarshalYAML(node); err != nil {
			d.errorf(n, path, "%v", err)
		}
		return
	}

	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		d.decode(n, p.Elem(), path)
		v.Set(p)

	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			d.errorf(n, path, "expected a mapping of keys, got a %s", kindName(n.Kind))
			return
		}
		t := v.Type()
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				d.errorf(k, path, "expected a key name, got a %s", kindName(k.Kind))
				continue
			}
			name := k.Value
			keyPath := joinPath(path, name)
			if k.Value == "<<" {
				d.errorf(k, path, "YAML merge keys (<<) are not supported")
				continue
			}
			fi, ok := fieldByTag(t, name)
			if !ok {
				msg := fmt.Sprintf("unknown key %q", keyPath)
				if s, ok := suggest.Closest(name, tagNames(t)); ok {
					msg += fmt.Sprintf(" (did you mean %q?)", joinPath(path, s))
				}
				d.errorf(k, "", "%s", msg)
				continue
			}
			if line, dup := seen[name]; dup {
				d.errorf(k, keyPath, "key already set at line %d", line)
				continue
			}
			seen[name] = k.Line
			d.decode(val, v.Field(fi), keyPath)
		}

	case reflect.Slice:
		et := v.Type().Elem()
		switch {
		case n.Kind == yaml.SequenceNode:
			s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
			for i, e := range n.Content {
				d.decode(e, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
			}
			v.Set(s)
		case n.Kind == yaml.ScalarNode && et.Kind() == reflect.String:
			s, ok := d.expand(n, path)
			if !ok {
				return
			}
			if err := setScalar(v, s); err != nil {
				d.errorf(n, path, "%v", err)
			}
		default:
			d.errorf(n, path, "expected a list, got a %s", kindName(n.Kind))
		}

	default:
		if n.Kind != yaml.ScalarNode {
			d.errorf(n, path, "expected a single value, got a %s", kindName(n.Kind))
			return
		}
		s, ok := d.expand(n, path)
		if !ok {
			return
		}
		if err := setScalar(v, s); err != nil {
			d.errorf(n, path, "%v", err)
		}
	}
}

// refRE matches ${NAME} and ${NAME:-default}.
var refRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expand substitutes environment references in a scalar value and reports
// unset variables as errors against the node.
func (d *yamlDecoder) expand(n *yaml.Node, path string) (string, bool) {
	out, missing := expandEnv(n.Value, d.env)
	if d.lenient != nil && d.lenient(path) {
		return out, true
	}
	for _, name := range missing {
		d.errorf(n, path, "environment variable %s is not set (use ${%s:-default} for a default)", name, name)
	}
	return out, len(missing) == 0
}

// expandEnv replaces ${NAME} and ${NAME:-default} in s from env. The default
// applies when NAME is unset or empty. It returns the names of referenced
// variables that are unset and have no default.
func expandEnv(s string, env map[string]string) (string, []string) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var missing []string
	out := refRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := refRE.FindStringSubmatch(m)
		val, ok := env[sub[1]]
		if sub[2] != "" {
			if !ok || val == "" {
				return sub[3]
			}
			return val
		}
		if !ok {
			missing = append(missing, sub[1])
		}
		return val
	})
	return out, missing
}

// setScalar parses s into v according to v's type. It is shared by the YAML
// decoder and the environment overrides.
func setScalar(v reflect.Value, s string) error {
	if v.CanAddr() {
		if u, ok := v.Addr().Interface().(interface{ UnmarshalText([]byte) error }); ok {
			return u.UnmarshalText([]byte(s))
		}
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		if err := setScalar(p.Elem(), s); err != nil {
			return err
		}
		v.Set(p)
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("cannot parse %q as a boolean (true or false)", s)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(strings.TrimSpace(s), 10, v.Type().Bits())
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return fmt.Errorf("integer %q is out of range", s)
			}
			return fmt.Errorf("cannot parse %q as an integer", s)
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		i, err := strconv.ParseUint(strings.TrimSpace(s), 10, v.Type().Bits())
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return fmt.Errorf("integer %q is out of range", s)
			}
			return fmt.Errorf("cannot parse %q as a non-negative integer", s)
		}
		v.SetUint(i)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("unsupported type %s", v.Type())
		}
		var list []string
		for _, part := range strings.Split(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				list = append(list, part)
			}
		}
		v.Set(reflect.ValueOf(list).Convert(v.Type()))
	default:
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}

// yamlName returns the key name of a struct field from its yaml tag, or ""
// if the field is not configurable.
func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	if name == "" {
		name = strings.ToLower(f.Name)
	}
	return name
}

func fieldByTag(t reflect.Type, name string) (int, bool) {
	for i := 0; i < t.NumField(); i++ {
		if yamlName(t.Field(i)) == name {
			return i, true
		}
	}
	return 0, false
}

func tagNames(t reflect.Type) []string {
	var names []string
	for i := 0; i < t.NumField(); i++ {
		if n := yamlName(t.Field(i)); n != "" {
			names = append(names, n)
		}
	}
	return names
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.DocumentNode:
		return "document"
	case yaml.SequenceNode:
		return "list"
	case yaml.MappingNode:
		return "mapping"
	case yaml.ScalarNode:
		return "single value"
	case yaml.AliasNode:
		return "alias"
	}
	return "empty value"
}
