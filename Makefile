# The two quick-start commands (see README): `make demo` and `make test`.
.PHONY: demo test setup bench

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

setup:
	bash scripts/setup.sh

bench: setup
	.venv/bin/python bench/engine.py
