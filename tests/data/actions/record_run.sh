#!/bin/sh
# Appends one line per run to the file $1 (so tests can count runs), prints, sleeps $3
# seconds (default 0), exits 0.
echo "run $2" >> "$1"
echo "rolled back $2"
sleep "${3:-0}"
echo "now at previous revision"
