#!/bin/sh
# Prints its pid and its child's pid, then sleeps: TERM ends it.
sleep 300 &
echo "leader $$"
echo "child $!"
wait
