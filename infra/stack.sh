#!/usr/bin/env bash
# infra/stack.sh start|stop|status: the local stack behind `make stack` and `make run`.
#
# start  runs the pinned emulators from infra/local/node_modules (`make deps`) in
#        the background, each in its own process group, on free loopback ports,
#        and in front of them the strict layers (infra/strict, which answer what AWS
#        refuses as AWS does) on the stack's addresses:
#          DynamoDB   http://127.0.0.1:8000  (strict layer -> dynalite)
#          SES v2     http://127.0.0.1:8005  (strict layer -> aws-ses-v2-local; inbox: open it in a browser)
#        waits until they answer, then creates the tables of template.yaml
#        (go run ./infra/tables/cmd/createtables). If both already answer, it says
#        so, makes sure the tables exist, and succeeds.
#        Data is in memory: every start is a fresh, empty stack (`make run` seeds
#        its demo data each time), so nothing stale survives a restart.
# stop   kills the three process groups by their pid files; idempotent.
# status says what runs; exits 0 only if both addresses answer.
#
# Pid files and logs are in .local/. infra/localstack starts the same emulators
# with the same flags for the Go tests (on free ports). Overridable, for tests of
# this script: AFTERPARTY_LOCAL_DYNAMODB_PORT, AFTERPARTY_LOCAL_SES_PORT,
# AFTERPARTY_LOCAL_DIR.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
: "${AFTERPARTY_LOCAL_DYNAMODB_PORT:=8000}"
: "${AFTERPARTY_LOCAL_SES_PORT:=8005}"
: "${AFTERPARTY_LOCAL_DIR:=$root/.local}"
modules=$root/infra/local/node_modules
dynalite_js=$modules/dynalite/cli.js
ses_js=$modules/aws-ses-v2-local/dist/cli.js
strict_bin=$AFTERPARTY_LOCAL_DIR/strictstack
dynamo_url=http://127.0.0.1:$AFTERPARTY_LOCAL_DYNAMODB_PORT
ses_url=http://127.0.0.1:$AFTERPARTY_LOCAL_SES_PORT

say() { printf 'stack: %s\n' "$*"; }
die() {
	printf 'stack: %s\n' "$*" >&2
	exit 1
}

# answers URL: the URL answers 200.
answers() { curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; }

# listening PORT: something accepts connections on 127.0.0.1:PORT.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ours NAME: the pid in NAME's pid file is alive and runs that emulator's script.
ours() {
	local pidfile=$AFTERPARTY_LOCAL_DIR/$1.pid pid
	[[ -f $pidfile ]] || return 1
	pid=$(<"$pidfile")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$2"
}

# group_alive PGID: a process of the group runs (zombies, which PID 1 here reaps
# only now and then, do not count).
group_alive() {
	ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'
}

# free_port: a loopback port that was free a moment ago.
free_port() {
	node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close() })'
}

# launch NAME PORT PROBE_URL COMMAND...: start one server unless it answers.
launch() {
	local name=$1 port=$2 probe=$3
	shift 3
	if answers "$probe"; then
		say "$name already answers at $probe"
		return 0
	fi
	if listening "$port"; then
		die "port $port is taken by something that is not $name; stop it or set AFTERPARTY_LOCAL_${name^^}_PORT"
	fi
	# A script run without job control leaves background jobs in its own process
	# group, so setsid makes node the leader of a new one without forking: $! is
	# node's pid and its process group id, which `stop` kills.
	setsid "$@" >"$AFTERPARTY_LOCAL_DIR/$name.log" 2>&1 </dev/null &
	echo $! >"$AFTERPARTY_LOCAL_DIR/$name.pid"
	local pid=$! i
	for ((i = 0; i < 200; i++)); do
		if answers "$probe"; then
			say "$name started (pid $pid) at ${probe%/*}"
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 20 "$AFTERPARTY_LOCAL_DIR/$name.log" >&2 || true
			die "$name exited at start; log: $AFTERPARTY_LOCAL_DIR/$name.log"
		fi
		sleep 0.1
	done
	die "$name did not answer $probe within 20 s; log: $AFTERPARTY_LOCAL_DIR/$name.log"
}

# halt NAME SCRIPT: kill NAME's process group, if it is still ours.
halt() {
	local name=$1 pidfile=$AFTERPARTY_LOCAL_DIR/$1.pid pid i
	if ! ours "$name" "$2"; then
		rm -f "$pidfile"
		return 0
	fi
	pid=$(<"$pidfile")
	kill -TERM -- "-$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		group_alive "$pid" || break
		sleep 0.1
	done
	kill -KILL -- "-$pid" 2>/dev/null || true
	rm -f "$pidfile"
	say "$name stopped (pid $pid)"
}

start() {
	for f in "$dynalite_js" "$ses_js"; do
		[[ -f $f ]] || die "$f is missing: run \`make deps\`"
	done
	command -v node >/dev/null || die "node is not on PATH: install Node.js (Debian: apt-get install nodejs)"
	mkdir -p "$AFTERPARTY_LOCAL_DIR"
	if answers "$dynamo_url/" && answers "$ses_url/health-check"; then
		say "the stack already answers at $dynamo_url and $ses_url"
	else
		for port in "$AFTERPARTY_LOCAL_DYNAMODB_PORT" "$AFTERPARTY_LOCAL_SES_PORT"; do
			if listening "$port"; then
				die "port $port is taken by something that is not this stack; stop it or set AFTERPARTY_LOCAL_DYNAMODB_PORT / AFTERPARTY_LOCAL_SES_PORT"
			fi
		done
		go build -o "$strict_bin" ./infra/strict/cmd/strictstack
		local dport sport
		dport=$(free_port)
		sport=$(free_port)
		launch dynamodb "$dport" "http://127.0.0.1:$dport/" node "$dynalite_js" \
			--host 127.0.0.1 --port "$dport" \
			--createTableMs 50 --deleteTableMs 50 --updateTableMs 50
		AWS_SES_ACCOUNT=$(<"$root/infra/localstack/ses-account.json") \
			launch ses "$sport" "http://127.0.0.1:$sport/health-check" node "$ses_js" \
			--host 127.0.0.1 --port "$sport"
		launch strict "$AFTERPARTY_LOCAL_DYNAMODB_PORT" "$ses_url/health-check" "$strict_bin" \
			-dynamodb "127.0.0.1:$AFTERPARTY_LOCAL_DYNAMODB_PORT=http://127.0.0.1:$dport" \
			-ses "127.0.0.1:$AFTERPARTY_LOCAL_SES_PORT=http://127.0.0.1:$sport"
	fi
	AWS_ENDPOINT_URL_DYNAMODB=$dynamo_url go run ./infra/tables/cmd/createtables -template "$root/template.yaml" |
		sed 's/^/stack: /'
	say "ready: DynamoDB $dynamo_url, SES $ses_url (emails: open $ses_url/ in a browser); both behind the strict layers"
}

stop() {
	halt strict "$strict_bin"
	halt ses "$ses_js"
	halt dynamodb "$dynalite_js"
}

status() {
	local ok=0
	if answers "$dynamo_url/"; then say "dynamodb answers at $dynamo_url"; else say "dynamodb: not running" && ok=1; fi
	if answers "$ses_url/health-check"; then say "ses answers at $ses_url"; else say "ses: not running" && ok=1; fi
	return "$ok"
}

case "${1:-}" in
start | stop | status) "$1" ;;
*) die "usage: infra/stack.sh start|stop|status" ;;
esac
