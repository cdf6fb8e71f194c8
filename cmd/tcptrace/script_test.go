package main

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets testscript run the CLI in-process as the "tcptrace" command.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"tcptrace": func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScript runs the CLI scenarios in testdata/script/*.txtar: exit
// statuses, messages and outputs of the real command line.
func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			// Bundled captures, read-only, at $PCAPS.
			wd, err := os.Getwd()
			if err != nil {
				return err
			}
			env.Setenv("PCAPS", wd+"/../../testdata/pcaps")
			env.Setenv("NO_COLOR", "")
			return nil
		},
	})
}
