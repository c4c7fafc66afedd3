#!/usr/bin/env bash
# Runs a command (the broker JVM) for as long as PARENT_PID lives.
#
#   with-parent.sh PARENT_PID PID_FILE CLEANUP_DIR -- command args...
#
# Why: a Node process killed with SIGKILL cannot stop its children, and a leftover
# Kafka JVM holds 500 MB and a port for ever. This watchdog notices the parent is
# gone (it gets re-parented) and stops the JVM: SIGTERM for Kafka's clean shutdown
# hook, SIGKILL if that takes longer than ~15 s. It also forwards SIGTERM/SIGINT/SIGHUP.
# CLEANUP_DIR (may be empty) is removed whenever the watchdog itself stopped the
# command; if the command exits on its own the caller still wants its log.
set -u
parent=$1 pid_file=$2 cleanup_dir=$3
shift 3
[ "${1:-}" = "--" ] && shift

"$@" &
child=$!
echo "$child" > "$pid_file"

parent_alive() {
  # Prefer our own ppid: a pid can be reused, a re-parenting cannot be undone.
  if [ -r "/proc/$$/stat" ]; then
    local stat rest
    read -r stat < "/proc/$$/stat" || return 0
    rest=${stat##*) }
    set -- $rest
    [ "$2" = "$parent" ] && return 0 || return 1
  fi
  kill -0 "$parent" 2>/dev/null
}

stop_child() {
  kill -TERM "$child" 2>/dev/null
  local i
  for ((i = 0; i < 150; i++)); do
    kill -0 "$child" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$child" 2>/dev/null
  wait "$child" 2>/dev/null
  [ -n "$cleanup_dir" ] && rm -rf -- "$cleanup_dir"
}

trap 'stop_child; exit 143' TERM INT HUP

while kill -0 "$child" 2>/dev/null; do
  if ! parent_alive; then
    stop_child
    exit 0
  fi
  # sleep in the background so that a trapped signal interrupts the wait at once
  sleep 0.5 &
  wait $! 2>/dev/null
done
wait "$child"
