#!/usr/bin/env bash
# Apache Kafka beside zc: fetch it, run one single-node KRaft broker, run its tools.
#
#   kafka/kafka.sh install                 # Maven copies the pinned Kafka jars into kafka/dist/lib
#   kafka/kafka.sh start DIR [PORT]        # a broker in DIR, on 127.0.0.1:PORT (free if omitted)
#   kafka/kafka.sh run DIR [PORT]          # the same in the foreground (tests spawn this)
#   kafka/kafka.sh stop DIR                # stop the broker started in DIR and wait for it
#   kafka/kafka.sh tool NAME ARGS...       # a Kafka tool: kafka-topics, kafka-dump-log, ...
#   kafka/kafka.sh version                 # the pinned version (from pom.xml)
#
# The broker is one process that is both KRaft controller and broker (process.roles=
# broker,controller), on loopback only, its log dir DIR/data, its own log DIR/server.log,
# with a small heap (KAFKA_HEAP, default -Xmx512m) because it shares the machine with
# builds and tests. A DIR without server.properties gets a fresh cluster (new cluster id,
# storage formatted); a DIR with one restarts that broker on its data. `start` prints "PORT PID" once the broker has said
# "Kafka Server started" and accepts connections; DIR/port and DIR/pid keep them for
# `stop` and for scripts. Nothing here downloads anything but the Maven artifacts.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
LIB="$HERE/dist/lib"
KAFKA_HEAP="${KAFKA_HEAP:--Xms128m -Xmx512m}"
# Kafka's own kafka-run-class.sh defaults for a server, less the heap.
KAFKA_JVM_OPTS="${KAFKA_JVM_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true}"
# Tools are short-lived clients: a small heap, quick start-up.
TOOL_JVM_OPTS="${TOOL_JVM_OPTS:--Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true}"

die() { echo "kafka.sh: $*" >&2; exit 1; }

need_jars() {
  [ -f "$LIB/kafka-tools-$(version).jar" ] ||
    die "Apache Kafka is not installed in $LIB: run 'kafka/kafka.sh install' (needs Maven and Java 17)"
}

version() { sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$HERE/pom.xml"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The main class behind each of Kafka's bin/*.sh scripts (see bin/ in Kafka's source).
tool_class() {
  case "$1" in
    kafka-topics) echo org.apache.kafka.tools.TopicCommand ;;
    kafka-console-producer) echo org.apache.kafka.tools.ConsoleProducer ;;
    kafka-console-consumer) echo org.apache.kafka.tools.consumer.ConsoleConsumer ;;
    kafka-consumer-groups) echo org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
    kafka-producer-perf-test) echo org.apache.kafka.tools.ProducerPerformance ;;
    kafka-consumer-perf-test) echo org.apache.kafka.tools.ConsumerPerformance ;;
    kafka-dump-log) echo org.apache.kafka.tools.DumpLogSegments ;;
    kafka-storage) echo kafka.tools.StorageTool ;;
    kafka-get-offsets) echo org.apache.kafka.tools.GetOffsetShell ;;
    *) die "unknown tool '$1' (kafka-topics, kafka-console-producer, kafka-console-consumer, kafka-consumer-groups, kafka-producer-perf-test, kafka-consumer-perf-test, kafka-dump-log, kafka-storage, kafka-get-offsets)" ;;
  esac
}

# Tools log warnings and errors to stderr only; the broker logs to DIR/server.log.
tool_log4j() {
  local f="$HERE/dist/tools-log4j2.properties"
  # Written whole under another name, then renamed: tools started at once never read half.
  [ -f "$f" ] || cat >"$f.$$" <<'EOF'
status = error
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.err.ref = STDERR
EOF
  [ ! -f "$f.$$" ] || mv -f "$f.$$" "$f"
  echo "$f"
}

run_tool() {
  need_jars
  local class
  class="$(tool_class "$1")"
  shift
  java_tool "$class" "$@"
}

write_config() {
  local dir="$1" port="$2" cport="$3"
  cat >"$dir/server.properties" <<EOF
# Written by kafka/kafka.sh: one node, KRaft controller and broker in one process, loopback only.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# Few threads: the machine has two cores.
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
background.threads=2
EOF
  cat >"$dir/log4j2.properties" <<EOF
status = error
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $dir/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.file.ref = FILE
EOF
}

# Writes a fresh config and formats storage in DIR, unless DIR already holds a broker's
# config: then the broker restarts on its existing data (same port, same cluster).
prepare() {
  local dir="$1" port="${2:-}"
  if [ -f "$dir/server.properties" ]; then
    # server.log then tells of this start only; the previous one is kept beside it.
    [ ! -f "$dir/server.log" ] || mv "$dir/server.log" "$dir/server.log.previous"
    return 0
  fi
  [ -n "$port" ] || port="$(free_port)"
  local cport
  cport="$(free_port)"
  [ "$cport" != "$port" ] || cport="$(free_port)"
  write_config "$dir" "$port" "$cport"
  echo "$port" >"$dir/port"
  local cluster_id
  cluster_id="$(java_tool kafka.tools.StorageTool random-uuid)"
  java_tool kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" \
    >"$dir/format.log" 2>&1 || die "formatting storage failed: $(cat "$dir/format.log")"
}

java_tool() {
  # shellcheck disable=SC2086 # the option strings are word lists on purpose
  java $TOOL_JVM_OPTS -Dlog4j2.configurationFile="$(tool_log4j)" -cp "$LIB/*" "$@"
}

# The broker's command line, into the array SERVER.
server_java() {
  local dir="$1"
  # shellcheck disable=SC2206 # the option strings are word lists on purpose
  SERVER=(java $KAFKA_HEAP $KAFKA_JVM_OPTS -Dlog4j2.configurationFile="$dir/log4j2.properties"
    -cp "$LIB/*" kafka.Kafka "$dir/server.properties")
}

checked_dir() {
  need_jars
  local dir="$1"
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
    die "a broker already runs from $dir (pid $(cat "$dir/pid")): kafka.sh stop $dir"
  fi
  echo "$dir"
}

# In the background, for scripts: returns once the broker answers.
start() {
  local dir
  dir="$(checked_dir "${1:?usage: kafka.sh start DIR [PORT]}")"
  prepare "$dir" "${2:-}"
  local port
  port="$(cat "$dir/port")"
  server_java "$dir"
  setsid "${SERVER[@]}" </dev/null >>"$dir/stdout.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$dir/pid"
  wait_started "$dir" "$pid" "$port"
  echo "$port $pid"
}

# In the foreground, for tests: this process becomes the JVM, so the test that spawned it
# holds its pid and sees it exit. The test waits for "Kafka Server started" in DIR/server.log.
run() {
  local dir
  dir="$(checked_dir "${1:?usage: kafka.sh run DIR [PORT]}")"
  prepare "$dir" "${2:-}"
  echo "$$" >"$dir/pid"
  server_java "$dir"
  exec "${SERVER[@]}"
}

wait_started() {
  local dir="$1" pid="$2" port="$3" deadline=$((SECONDS + ${KAFKA_START_TIMEOUT:-90}))
  while ((SECONDS < deadline)); do
    kill -0 "$pid" 2>/dev/null ||
      die "the broker exited during start-up; the end of $dir/server.log:
$(tail -20 "$dir/server.log" 2>/dev/null) $(tail -5 "$dir/stdout.log")"
    if grep -q "Kafka Server started" "$dir/server.log" 2>/dev/null &&
      (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return 0
    fi
    sleep 0.2
  done
  kill "$pid" 2>/dev/null || true
  die "the broker did not start within ${KAFKA_START_TIMEOUT:-90} s; see $dir/server.log"
}

stop() {
  local dir="${1:?usage: kafka.sh stop DIR}"
  [ -f "$dir/pid" ] || die "no broker pid in $dir"
  local pid
  pid="$(cat "$dir/pid")"
  kill "$pid" 2>/dev/null || { rm -f "$dir/pid"; return 0; }
  # A clean shutdown writes the recovery checkpoints; give it time, then insist.
  for _ in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$dir/pid"; return 0; }
    sleep 0.2
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$dir/pid"
  echo "kafka.sh: the broker (pid $pid) ignored SIGTERM for 30 s and was killed" >&2
}

install() {
  command -v mvn >/dev/null || die "Maven is needed: apt-get install maven"
  command -v java >/dev/null || die "Java 17 is needed: apt-get install openjdk-17-jre-headless"
  if [ -f "$LIB/kafka-tools-$(version).jar" ]; then
    return 0
  fi
  rm -rf "$HERE/dist"
  mvn -q -B -f "$HERE/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$HERE/dist/lib" -DincludeScope=runtime
}

cmd="${1:-}"
shift || true
case "$cmd" in
  install) install ;;
  start) start "$@" ;;
  run) run "$@" ;;
  stop) stop "$@" ;;
  tool) [ $# -ge 1 ] || die "usage: kafka.sh tool NAME ARGS..."; run_tool "$@" ;;
  version) version ;;
  *) die "usage: kafka.sh install | start DIR [PORT] | run DIR [PORT] | stop DIR | tool NAME ARGS... | version" ;;
esac
