#!/bin/sh
# corpus.sh rewrites filter/testdata/oracle/corpus.jsonl: event-ruler's
# verdicts on the pinned examples of every class and 2,000 short generated pairs,
# with evcli's verdict and, where they differ, the deliberate class. Needs the
# oracle built by build.sh. `go test ./filter` checks evcli against the file
# without java.
set -eu
cd "$(dirname "$0")"
exec go test -count=1 -run 'TestCorpus$' -corpus.update .
