package main

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// modulePath is this module's import path.
const modulePath = "github.com/editwatch/editwatch"

// allowedImports is the import rule (README, Development): for each of
// our packages, the packages of ours its non-test files may import.
// Dependencies point one way, from the pages down to the store and the
// Extend client; a package missing here fails the test, so a new package
// has to say where it stands.
var allowedImports = map[string][]string{
	"handlers":   {"middleware", "upstream", "monitor", "alerts", "store", "extendapi", "views", "static", "config"},
	"middleware": {"store", "extendapi", "config"},
	"upstream":   {"store", "extendapi"},
	"monitor":    {"store", "extendapi"},
	"alerts":     {"store", "extendapi", "internal/netaddr"},
	"config":     {"extendapi"},
	"sandbox":    {"extendapi", "internal/netaddr"},
	"bench":      {"config", "extendapi", "views"},
	"views":      {},
	"store":      {},
	"extendapi":  {},
	"static":     {},

	// Tools and test support.
	"static/cmd/precompress": {},
	"sandbox/cmd/formcheck":  {"sandbox", "extendapi", "internal/pdfreadback"},
	"internal/pdfreadback":   {},
	"internal/netaddr":       {},
	"store/storetest":        {},
	"internal/testenv":       {"internal/pdfreadback"},
}

// TestImportRule fails on an import the rule does not allow, and on a
// package that is not in the rule.
func TestImportRule(t *testing.T) {
	imports := packageImports(t)
	for pkg, deps := range imports {
		if pkg == "" {
			continue // main wires everything together and may import any of our packages
		}
		allowed, ok := allowedImports[pkg]
		if !ok {
			t.Errorf("package %s is not in the import rule: add it to allowedImports (and the README's Development section)", pkg)
			continue
		}
		for _, dep := range deps {
			if !slices.Contains(allowed, dep) {
				t.Errorf("%s imports %s, which the import rule does not allow (allowed: %s)", pkg, dep, strings.Join(allowed, ", "))
			}
		}
	}
	for pkg := range allowedImports {
		if _, ok := imports[pkg]; !ok {
			t.Errorf("the import rule lists %s, which no longer exists", pkg)
		}
	}
	if n := len(imports["handlers"]); n == 0 {
		t.Fatal("handlers imports none of our packages: the walk read nothing")
	}
	for pkg, deps := range imports {
		if slices.Contains(deps, "handlers") && pkg != "" {
			t.Errorf("%s imports handlers: nothing but main may", pkg)
		}
	}
}

// databaseDrivers are the module paths of the SQL drivers: only store
// talks to a database (and the bench harness sets up its PostgreSQL
// schema itself).
var databaseDrivers = []string{"github.com/jackc/pgx", "modernc.org/sqlite", "github.com/lib/pq", "github.com/mattn/go-sqlite3"}

// TestOnlyStoreImportsADatabaseDriver keeps the dialect in one place.
func TestOnlyStoreImportsADatabaseDriver(t *testing.T) {
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") ||
			dir == "store" || strings.HasPrefix(dir, "store/") || path == filepath.FromSlash("bench/postgres.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, spec := range f.Imports {
			p, _ := strconv.Unquote(spec.Path.Value)
			for _, drv := range databaseDrivers {
				if strings.HasPrefix(p, drv) {
					t.Errorf("%s imports the database driver %s: only store may", path, p)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// packageImports maps each package directory of the module ("" for the
// root) to the module's packages its non-test Go files import.
func packageImports(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		if dir == "." {
			dir = ""
		}
		if _, ok := out[dir]; !ok {
			out[dir] = nil
		}
		for _, spec := range f.Imports {
			p, _ := strconv.Unquote(spec.Path.Value)
			rest, ours := strings.CutPrefix(p, modulePath+"/")
			if ours && !slices.Contains(out[dir], rest) {
				out[dir] = append(out[dir], rest)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
