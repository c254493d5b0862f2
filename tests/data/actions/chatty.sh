#!/bin/sh
# Prints to stdout and stderr with pauses, then exits with the status given as $1 (default 0).
echo "rolling back $2"
echo "warning: to stderr" >&2
sleep 0.05
echo "step 2"
echo "done"
exit "${1:-0}"
