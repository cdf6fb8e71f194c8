#!/usr/bin/env bash
# Runs every test (installing what is missing): vet, unit, golden and CLI
# tests with the race detector, and a pure-Go build of the packages that must
# not need cgo. Tests that need root (network namespaces) skip with a message
# when not root.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
echo "== go vet"
go vet ./...
echo "== cgo-free build and tests of the packages that must not need cgo"
CGO_ENABLED=0 go build ./tcp/... ./reassembly/... ./tracker/... ./report/... ./capture/...
CGO_ENABLED=0 go test -count=1 ./tcp/... ./reassembly/... ./tracker/...
echo "== go test -race"
go test -race -count=1 ./...
echo "== fuzzing, ${FUZZTIME:=15s} per target on top of the seed corpora"
for target in ./capture:FuzzDecode ./capture:FuzzReader ./tracker:FuzzTracker ./tracker:FuzzEmbryos ./reassembly:FuzzSegments; do
	pkg=${target%%:*} name=${target##*:}
	go test "$pkg" -run '^$' -fuzz "^$name\$" -fuzztime "$FUZZTIME" 2>&1 | tail -2
done
echo "== gating smoke test: a kernel capture against its baseline and fail-on rules" && go run ./cmd/tcptrace check --baseline cmd/tcptrace/testdata/golden/kernel/client-close.baseline.json --fail-on half_closed,missing_final_ack,error testdata/pcaps/kernel/client-close.pcap
