#!/bin/sh
# Ignores SIGTERM (and so does its child, which inherits the ignored signal); prints both
# pids, then sleeps forever: only SIGKILL to the whole process group ends it.
trap '' TERM
sleep 300 &
echo "leader $$"
echo "child $!"
while :; do sleep 1; done
