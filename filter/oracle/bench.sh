#!/bin/sh
# bench.sh prints evcli's matcher side by side with event-ruler, the engine
# EventBridge runs, on the citylots sets (filter's benchmark sets, 1,000 rules,
# mixed sets of 100, 1,000 and 10,000 rules): one pass of each engine over all
# 213,068 events in turn, ROUNDS times after event-ruler's JIT warm-up, the
# same match counts asserted on every pass, medians printed as a table.
#
#   EVENT_RULER_SRC=/path/to/event-ruler filter/oracle/bench.sh [ROUNDS] [SETS-REGEXP]
#
# Builds the oracle first when filter/oracle/build/ruler-bench is missing
# (see build.sh). The data set is $EVCLI_CITYLOTS (a .json.gz file, such as
# ../shared/data/citylots2-synthetic.json.gz from the repository root, 213,068
# events: the README's numbers), else 30,000 generated events.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
rounds=${1:-5}
sets=${2:-}
if [ ! -x "$here/build/ruler-bench" ] && [ -z "${EVCLI_RULER_BENCH:-}" ]; then
	"$here/build.sh"
fi
uptime
cd "$here/.."
go test -count=1 -timeout 2h -run '^TestVsRuler$' -v -vsruler.rounds "$rounds" -vsruler.sets "$sets" .
uptime
