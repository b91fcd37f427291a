package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// checkOutput says whether a command may write the file out (SPEC 4): never over one of its
// inputs, not even with --force, and over an existing file only with --force. The error is a
// usage error (exit 3) in the language lang.
func checkOutput(lang, out string, force bool, inputs ...string) error {
	fo, err := os.Stat(out)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return usagef("%s: %v", filepath.Base(out), errWithoutPath(err))
	}
	for _, in := range inputs {
		if fi, err := os.Stat(in); err == nil && os.SameFile(fi, fo) {
			return usagef("%s", fmt.Sprintf(msg(lang,
				"%s er også en inndatafil og blir aldri overskrevet; velg et annet navn",
				"%s is also an input and is never overwritten; choose another name"), filepath.Base(out)))
		}
	}
	if fo.IsDir() {
		return usagef("%s", fmt.Sprintf(msg(lang, "%s er en mappe", "%s is a folder"), filepath.Base(out)))
	}
	if !force {
		return usagef("%s", fmt.Sprintf(msg(lang,
			"%s finnes fra før; bruk --force for å skrive over den",
			"%s already exists; use --force to overwrite it"), filepath.Base(out)))
	}
	return nil
}

// reportSetExists says why --report does not write DIR/<id>/ ("" when it may): the file's
// report set is there from an earlier run and --force was not given (SPEC 4).
func reportSetExists(lang, dir, id string, force bool) string {
	if _, err := os.Stat(filepath.Join(dir, id)); force || err != nil {
		return ""
	}
	return fmt.Sprintf(msg(lang,
		"rapporten for fil %s finnes fra før i %s; bruk --force for å erstatte den",
		"the report of file %s already exists in %s; use --force to replace it"), id, filepath.Base(dir))
}

// inputProblem says why path cannot be read as an input file ("" when it can): missing,
// unreadable, or a folder (a batch glob can match one). The command reports it for that input,
// exits 2 at the end and goes on with the other inputs (SPEC 4).
func inputProblem(lang, path string) string {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return fmt.Sprintf("%s: %v", filepath.Base(path), errWithoutPath(err))
	case fi.IsDir():
		return fmt.Sprintf(msg(lang, "%s: er en mappe, ikke en fil", "%s: is a folder, not a file"), filepath.Base(path))
	case !fi.Mode().IsRegular():
		return fmt.Sprintf(msg(lang, "%s: er ikke en vanlig fil", "%s: is not a regular file"), filepath.Base(path))
	}
	return ""
}

// requireState is the check of a command that only reads state (pending, unlock): a state
// folder that does not exist is a configuration error, not a new empty state that says nothing
// waits (issue 12). Only commands that write a new state (import, poll, serve) create it.
func requireState(lang, dir string) error {
	if strings.Contains(dir, "://") {
		return nil // a database URL (SPEC 8)
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return usagef("%s", fmt.Sprintf(msg(lang,
			"tilstandsmappen %s finnes ikke; sjekk --state (den lages av import og poll)",
			"the state folder %s does not exist; check --state (import and poll create it)"), dir))
	case err != nil:
		return usagef("--state %s: %v", dir, errWithoutPath(err))
	case !fi.IsDir():
		return usagef("%s", fmt.Sprintf(msg(lang, "--state %s er ikke en mappe", "--state %s is not a folder"), dir))
	}
	return nil
}
