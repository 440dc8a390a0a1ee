#!/usr/bin/env bash
# Every benchmark whose numbers go into BENCHMARKS.md, each against a baseline from the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -p urne-tlog --bench tlog
cargo bench -p urne-log --bench sequencer
