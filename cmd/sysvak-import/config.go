package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// parseArgs parses flags and positional arguments in any order ("validate FILE --lang en"), then
// fills every flag not given on the command line from the environment (SYSVAK_<FLAG>, upper case,
// '-' as '_') and then from the TOML config file (--config, or SYSVAK_CONFIG), whose keys are the
// flag names. Flags win over the environment, which wins over the file. It returns the positional
// arguments and the config file's [columns] table (extra header mappings).
func parseArgs(fs *flag.FlagSet, args []string, getenv func(string) string) ([]string, map[string]string, error) {
	pos, err := parsePositional(fs, args)
	if err != nil {
		return nil, nil, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if err := setFromEnv(fs, getenv, set); err != nil {
		return nil, nil, err
	}
	path := ""
	if f := fs.Lookup("config"); f != nil {
		path = f.Value.String()
	}
	if path == "" {
		return pos, nil, nil
	}
	columns, err := setFromConfig(fs, path, set)
	if err != nil {
		return nil, nil, err
	}
	return pos, columns, nil
}

// parsePositional parses flags and positional arguments in any order.
func parsePositional(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			return nil, err
		}
		rest = fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		rest = rest[1:]
	}
}

// setFromEnv sets every flag not in set from SYSVAK_<FLAG>, and adds it to set.
func setFromEnv(fs *flag.FlagSet, getenv func(string) string, set map[string]bool) error {
	var err error
	var fromEnv []string
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		name := "SYSVAK_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(name); v != "" && !otherCommandsValue(f, v) {
			if e := fs.Set(f.Name, v); e != nil {
				err = usagef("environment %s: %v", name, e)
			}
			fromEnv = append(fromEnv, f.Name)
		}
	})
	for _, n := range fromEnv {
		set[n] = true
	}
	return err
}

// setFromConfig sets every flag not in set from the TOML file at path and returns its [columns].
func setFromConfig(fs *flag.FlagSet, path string, set map[string]bool) (map[string]string, error) {
	raw := map[string]any{}
	if _, err := toml.DecodeFile(path, &raw); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, usagef("config file %s does not exist", path)
		}
		return nil, usagef("config file %s: %v", path, err)
	}
	columns := map[string]string{}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := raw[k]
		if k == "columns" {
			if err := configColumns(path, v, columns); err != nil {
				return nil, err
			}
			continue
		}
		if k == "password" || k == "imap-password" {
			return nil, usagef("config file %s: %s: passwords are never taken as values; use --password-file or --imap-password-file", path, k)
		}
		if k == "oauth-client-secret" || k == "oauth-token" {
			return nil, usagef("config file %s: %s: secrets are never taken as values; use --oauth-client-secret-file (or SYSVAK_OAUTH_CLIENT_SECRET) or --oauth-token-file", path, k)
		}
		f := fs.Lookup(k)
		if f == nil {
			// Keys of other commands are allowed in a shared config file.
			if knownFlag(k) {
				continue
			}
			return nil, usagef("config file %s: unknown key %q", path, k)
		}
		if set[k] || otherCommandsValue(f, fmt.Sprint(v)) {
			continue
		}
		if e := fs.Set(k, fmt.Sprint(v)); e != nil {
			return nil, usagef("config file %s: %s: %v", path, k, e)
		}
	}
	return columns, nil
}

// configColumns reads the [columns] table (extra header = column key).
func configColumns(path string, v any, columns map[string]string) error {
	tbl, ok := v.(map[string]any)
	if !ok {
		return usagef("config file %s: [columns] must be a table of \"header\" = \"key\"", path)
	}
	for h, key := range tbl {
		s, ok := key.(string)
		if !ok {
			return usagef("config file %s: [columns] %q must map to a column key (a string)", path, h)
		}
		columns[h] = s
	}
	return nil
}

// otherCommandsValue reports whether v, given for this command's boolean flag f, is the value of
// another command's flag of the same name that is not boolean: `receipts = "annotated"` in a
// config file (or SYSVAK_RECEIPTS) shared by poll, serve and unlock is theirs, not `pending
// --receipts`'s.
func otherCommandsValue(f *flag.Flag, v string) bool {
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() {
		return false
	}
	if _, err := strconv.ParseBool(v); err == nil {
		return false
	}
	for _, c := range commands() {
		fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
		c.flags(fs)
		if g := fs.Lookup(f.Name); g != nil {
			if b, ok := g.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() {
				return true
			}
		}
	}
	return false
}
