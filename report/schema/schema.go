// Package schema holds the JSON Schema (draft 2020-12) of tcptrace's JSON
// Lines output, so that programs can validate what tcptrace writes without
// a copy of the file. The file itself, jsonl.schema.json, is the reference;
// its test validates real output of every bundled capture against it.
package schema

import _ "embed"

// JSONLines is jsonl.schema.json: each line of `tcptrace read --format json`
// and `tcptrace live --format json` validates against it on its own.
//
//go:embed jsonl.schema.json
var JSONLines []byte

// ID is the schema's $id.
const ID = "https://github.com/tcptrace/tcptrace/report/schema/jsonl.schema.json"
