#!/bin/sh
# build.sh builds the event-ruler oracle: event-ruler compiled from a local
# source checkout plus OracleDriver.java, into filter/oracle/build/ (ignored by
# git). It fetches nothing: event-ruler's source must already be on disk, and
# its code or classes are never committed here (see filter/oracle/README.md).
#
#   EVENT_RULER_SRC=/path/to/event-ruler  filter/oracle/build.sh
#   filter/oracle/build.sh /path/to/event-ruler.git [ref]   # a git dir; ref defaults to v2.0.1
#
# Needs javac 17 and Debian's libjackson2-core-java libjackson2-databind-java
# libjackson2-annotations-java libjsr305-java (jars in /usr/share/java, or set
# ORACLE_CLASSPATH). fastdoubleparser has no Debian package: a one-method
# stand-in (java/stub/...) returning new BigDecimal(s) replaces it.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=${1:-${EVENT_RULER_SRC:-}}
ref=${2:-${EVENT_RULER_REF:-v2.0.1}}
out=${ORACLE_BUILD:-$here/build}

if [ -z "$src" ]; then
	echo "build.sh: set EVENT_RULER_SRC to an aws/event-ruler checkout (a work tree or a git dir)" >&2
	exit 2
fi
command -v javac >/dev/null || { echo "build.sh: javac not found: apt-get install -y openjdk-17-jdk-headless" >&2; exit 2; }

jars=${ORACLE_CLASSPATH:-}
if [ -z "$jars" ]; then
	for j in jackson-core jackson-databind jackson-annotations jsr305; do
		f=/usr/share/java/$j.jar
		[ -f "$f" ] || { echo "build.sh: $f missing: apt-get install -y libjackson2-core-java libjackson2-databind-java libjackson2-annotations-java libjsr305-java" >&2; exit 2; }
		jars=${jars:+$jars:}$f
	done
fi

rm -rf "$out"
mkdir -p "$out/src" "$out/classes"
if [ -d "$src/src/main/software" ]; then
	cp -R "$src/src/main/software" "$out/src/"
	version=$(cd "$src" && git describe --tags 2>/dev/null || echo unknown)
else
	# a git dir (bare or not): take the tree at $ref
	git --git-dir="$src" archive "$ref" src/main | tar -x -C "$out" 
	mv "$out/src/main/software" "$out/src/" && rm -rf "$out/src/main"
	version=$(git --git-dir="$src" describe --tags "$ref" 2>/dev/null || echo "$ref")
fi
cp -R "$here/java/." "$out/src/"

find "$out/src" -name '*.java' > "$out/sources.txt"
javac -nowarn -encoding UTF-8 --release 17 -cp "$jars" -d "$out/classes" @"$out/sources.txt" 2>"$out/javac.log" || { cat "$out/javac.log" >&2; exit 1; }
printf '%s\n' "$jars" > "$out/classpath"
printf '%s\n' "$version" > "$out/version"

cat > "$out/oracle" <<SH
#!/bin/sh
exec java -Xss16m -cp "$out/classes:$jars" evcli.oracle.OracleDriver "\$@"
SH
cat > "$out/ruler-bench" <<SH
#!/bin/sh
# the event-ruler side of filter/oracle/bench.sh; heap and collector as event-ruler's own CityLots2JmhBenchmarks
exec java -Xms3g -Xmx3g -XX:+UseSerialGC -cp "$out/classes:$jars" evcli.oracle.RulerBench "\$@"
SH
chmod +x "$out/oracle" "$out/ruler-bench"
echo "event-ruler $version oracle built: $out/oracle" >&2
