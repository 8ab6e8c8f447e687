package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/xapibridge/bridge/internal/suggest"
)

var configType = reflect.TypeFor[Config]()

// EnvVarNames lists the environment variables that override configuration
// keys, derived from the yaml tags of [Config]. Entries of a list are
// addressed by index and shown with the placeholder <N>, e.g.
// BRIDGE_CREDENTIALS_<N>_SECRET. Every name also exists with the suffix
// _FILE, which reads the value from a file.
func EnvVarNames() []string {
	var names []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := yamlName(f)
			if tag == "" {
				continue
			}
			name := prefix + envSegment(tag)
			switch ft := f.Type; {
			case isLeaf(ft):
				names = append(names, name)
			case ft.Kind() == reflect.Struct:
				walk(ft, name+"_")
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
				walk(ft.Elem(), name+"_<N>_")
			}
		}
	}
	walk(configType, EnvPrefix)
	return names
}

func envSegment(tag string) string {
	return strings.NewReplacer("-", "_", ".", "_").Replace(strings.ToUpper(tag))
}

var durationType = reflect.TypeFor[Duration]()

// isLeaf reports whether a field of type t is set from a single string.
func isLeaf(t reflect.Type) bool {
	if t == durationType {
		return true
	}
	switch t.Kind() {
	case reflect.Pointer:
		return isLeaf(t.Elem())
	case reflect.Slice:
		return t.Elem().Kind() == reflect.String
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// matchEnv resolves name (an override without the BRIDGE_ prefix) against
// the fields of t. It returns the reflect path (field indexes and list
// indexes) and the key path used in messages.
func matchEnv(t reflect.Type, name string) ([]int, string, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := yamlName(f)
		if tag == "" {
			continue
		}
		seg := envSegment(tag)
		ft := f.Type
		switch {
		case isLeaf(ft):
			if name == seg {
				return []int{i}, tag, true
			}
		case ft.Kind() == reflect.Struct:
			if rest, ok := strings.CutPrefix(name, seg+"_"); ok {
				if steps, p, ok := matchEnv(ft, rest); ok {
					return append([]int{i}, steps...), tag + "." + p, true
				}
			}
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			rest, ok := strings.CutPrefix(name, seg+"_")
			if !ok {
				continue
			}
			idxStr, rest, ok := strings.Cut(rest, "_")
			if !ok {
				continue
			}
			idx, err := strconv.Atoi(idxStr)
			if err != nil || idx < 0 || strconv.Itoa(idx) != idxStr {
				continue
			}
			if steps, p, ok := matchEnv(ft.Elem(), rest); ok {
				return append([]int{i, idx}, steps...), fmt.Sprintf("%s[%d].%s", tag, idx, p), true
			}
		}
	}
	return nil, "", false
}

type envOverride struct {
	name  string // environment variable that supplied the value
	key   string // config key path, e.g. credentials[0].secret
	steps []int
	value string
}

// applyEnv applies BRIDGE_* overrides from env to cfg. An empty value
// counts as unset. List entries are addressed by index; the index one past
// the end appends an entry.
func applyEnv(cfg *Config, env map[string]string) error {
	names := make([]string, 0, len(env))
	for name := range env {
		// BRIDGE_TEST_* and BRIDGE_REQUIRE_* belong to the test suite, so a
		// developer's shell that sets them can still run the bridge.
		if strings.HasPrefix(name, EnvPrefix) && name != EnvConfigFile &&
			!strings.HasPrefix(name, "BRIDGE_TEST_") && !strings.HasPrefix(name, "BRIDGE_REQUIRE_") {
			names = append(names, name)
		}
	}
	sort.Strings(names)

	var errs []error
	var overrides []envOverride
	setBy := map[string]string{} // key path -> variable
	for _, name := range names {
		rest := strings.TrimPrefix(name, EnvPrefix)
		steps, key, ok := matchEnv(configType, rest)
		fromFile := false
		if !ok {
			if base, isFile := strings.CutSuffix(rest, EnvFileSuffix); isFile {
				steps, key, ok = matchEnv(configType, base)
				fromFile = ok
			}
		}
		if !ok {
			msg := fmt.Sprintf("config: environment variable %s does not match any config key", name)
			if s := suggestEnv(name); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			}
			errs = append(errs, errors.New(msg))
			continue
		}
		value := env[name]
		if value == "" {
			continue
		}
		if prev, dup := setBy[key]; dup {
			errs = append(errs, fmt.Errorf("config: %s: set by both %s and %s; use only one", key, prev, name))
			continue
		}
		setBy[key] = name
		if fromFile {
			data, err := os.ReadFile(value)
			if err != nil {
				errs = append(errs, fmt.Errorf("config: %s: environment variable %s: %w", key, name, err))
				continue
			}
			value = strings.TrimRight(string(data), "\r\n")
		}
		overrides = append(overrides, envOverride{name: name, key: key, steps: steps, value: value})
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}

	// Apply in path order so that list entries are appended in index order.
	slices.SortFunc(overrides, func(a, b envOverride) int { return slices.Compare(a.steps, b.steps) })
	root := reflect.ValueOf(cfg).Elem()
	for _, o := range overrides {
		if err := setPath(root, o); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// setPath walks o.steps from v, growing a list by one entry when the index
// is one past its end, and sets the leaf from o.value.
func setPath(v reflect.Value, o envOverride) error {
	steps := o.steps
	listPath := ""
	for i := 0; i < len(steps); i++ {
		f := v.Type().Field(steps[i])
		listPath = joinPath(listPath, yamlName(f))
		v = v.Field(steps[i])
		if v.Kind() == reflect.Slice && !isLeaf(v.Type()) {
			i++
			idx := steps[i]
			switch n := v.Len(); {
			case idx == n:
				v.Set(reflect.Append(v, reflect.Zero(v.Type().Elem())))
			case idx > n:
				return fmt.Errorf("config: %s: environment variable %s: index %d is out of range: %s has %d entries (index %d appends one)",
					o.key, o.name, idx, listPath, n, n)
			}
			v = v.Index(idx)
			listPath = fmt.Sprintf("%s[%d]", listPath, idx)
		}
	}
	if err := setScalar(v, o.value); err != nil {
		return fmt.Errorf("config: %s: environment variable %s: %v", o.key, o.name, err)
	}
	return nil
}

var envIndexRE = regexp.MustCompile(`_[0-9]+_`)

// suggestEnv proposes a known override name close to an unknown one.
func suggestEnv(name string) string {
	idx := envIndexRE.FindString(name)
	norm := envIndexRE.ReplaceAllString(name, "_<N>_")
	norm = strings.TrimSuffix(norm, EnvFileSuffix)
	known := EnvVarNames()
	s, ok := suggest.Closest(norm, known)
	if !ok {
		return ""
	}
	if idx != "" {
		s = strings.Replace(s, "_<N>_", idx, 1)
	}
	if strings.HasSuffix(name, EnvFileSuffix) {
		s += EnvFileSuffix
	}
	return s
}
