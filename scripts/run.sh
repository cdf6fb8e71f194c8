#!/usr/bin/env bash
# Builds tcptrace (installing what is missing) and runs it with the given
# arguments, e.g. scripts/run.sh read --all testdata/pcaps/kernel/half-close.pcap
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
mkdir -p bin
go build -o bin/tcptrace ./cmd/tcptrace
exec bin/tcptrace "$@"
