# Wharf: the two commands a new user types (see README.md).
#   make run   [ARGS="--listen 0.0.0.0:5000 --data ./wharf-data"]
#   make test
.PHONY: run test build

ARGS ?=

run:
	scripts/install-deps.sh run
	swift build -c release --product wharf
	.build/release/wharf serve $(ARGS)

test:
	scripts/test.sh

build:
	swift build
