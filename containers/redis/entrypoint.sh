#!/bin/sh
# As the official redis image's entry point does: `redis-server` run without a configuration file
# (as @testcontainers/redis runs it) gets protected mode off and no persistence, so containers on
# the test's network connect without a password. Other commands run as given.
set -eu
if [ "${1#-}" != "$1" ]; then set -- redis-server "$@"; fi
if [ "$1" = "redis-server" ]; then
  shift
  set -- redis-server --bind 0.0.0.0 --protected-mode no --save "" --appendonly no "$@"
fi
exec "$@"
