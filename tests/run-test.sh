#!/bin/sh
# Runs one GTest program in TAP mode (automake's tap-driver reads it).
exec "$@" --tap -k
