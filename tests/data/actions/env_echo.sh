#!/bin/sh
# Shows the env additions and argv it was given.
echo "DEPLOY_TARGET=$DEPLOY_TARGET"
for a in "$@"; do echo "arg: $a"; done
