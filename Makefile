# Mediaflow: the two commands of the README, and what they are made of.
#   make run    set up, then process samples/ end to end on the embedded local cloud
#   make test   set up, then run every check and test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
OUTPUT ?= mediaflow-output

.PHONY: run test integration bench samples openapi bootstrap clean

run: $(VENV)/.installed
	$(BIN)/mediaflow run samples --output $(OUTPUT)

test: $(VENV)/.installed-test
	$(BIN)/ruff check mediaflow functions layers tests bench
	$(BIN)/ruff format --check mediaflow functions layers tests bench
	$(BIN)/mypy mediaflow layers/shared functions/inspect functions/thumbnail functions/audio functions/api
	$(BIN)/mypy bench tests
	$(BIN)/pytest

bench: $(VENV)/.installed-bench
	$(BIN)/python bench/run.py

# The integration suite alone (`make test` runs it too, on the local stack): by default against a
# `mediaflow serve` it starts and stops itself; with STACK, against that deployed stack, from its
# Outputs; SMOKE=1 runs only what is safe against prod (-m smoke). One worker: one device, one
# set of uploads.
#   make integration [STACK=mediaflow-dev] [REGION=eu-west-1] [SMOKE=1]
integration: $(VENV)/.installed-test
	$(BIN)/pytest tests/integration -n 0 $(if $(STACK),--stack-name $(STACK)) \
	  $(if $(REGION),--region $(REGION)) $(if $(SMOKE),-m smoke)

# Continuous delivery, once per account (README, "Continuous delivery"): the OIDC provider, the
# deploy roles, the CloudFormation execution role and the artifacts bucket of pipeline/bootstrap.yaml.
#   make bootstrap GITHUB_OWNER=<owner> GITHUB_REPO=<repo> [CREATE_OIDC_PROVIDER=false] [REGION=...]
# The Region defaults to samconfig.toml's (the app stacks' Region); command-line flags override
# samconfig.toml's default section, which is the app's.
CREATE_OIDC_PROVIDER ?= true
ifneq ($(filter bootstrap,$(MAKECMDGOALS)),)
ifeq ($(and $(GITHUB_OWNER),$(GITHUB_REPO)),)
$(error make bootstrap needs GITHUB_OWNER=<owner> GITHUB_REPO=<repo>, as GitHub spells them [CREATE_OIDC_PROVIDER=false] [REGION=...])
endif
endif
bootstrap: $(VENV)/.installed-test
	SAM_CLI_TELEMETRY=0 $(BIN)/sam deploy --template-file pipeline/bootstrap.yaml \
	  --stack-name mediaflow-pipeline --capabilities CAPABILITY_IAM $(if $(REGION),--region $(REGION)) \
	  --no-resolve-s3 --no-confirm-changeset --no-fail-on-empty-changeset --tags project=mediaflow \
	  --parameter-overrides GitHubOwner=$(GITHUB_OWNER) GitHubRepo=$(GITHUB_REPO) CreateOidcProvider=$(CREATE_OIDC_PROVIDER)
	SAM_CLI_TELEMETRY=0 $(BIN)/sam list stack-outputs --stack-name mediaflow-pipeline $(if $(REGION),--region $(REGION))

# docs/openapi.json is committed; this remakes it from the device API's code (functions/api).
openapi: $(VENV)/.installed
	PYTHONPATH=functions/api:layers/shared $(BIN)/python -m device_api.openapi docs/openapi.json

# samples/ is committed; this remakes it from the generators in mediaflow/corpora.
samples: $(VENV)/.installed
	$(BIN)/python -m mediaflow.samples samples

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Mediaflow needs Python 3.11 or newer; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(VENV)/.installed $@

# pyvips-binary's libvips has no HEVC decoder; with a system libvips that has one (Debian's
# libvips42), bench/thumbnails.py compares HEIC against libvips too. Never fails the bench.
$(VENV)/.installed-bench: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	@if $(BIN)/python -c 'import ctypes.util, sys; sys.exit(not ctypes.util.find_library("vips"))'; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  echo "apt-get install libvips42: a system libvips that reads HEIC, for the benchmark"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  { apt-get install -y -qq libvips42 || { apt-get update -qq && apt-get install -y -qq libvips42; }; } >/dev/null 2>&1 \
	    || echo "apt-get install libvips42 failed: HEIC will not be compared with libvips"; \
	else echo "HEIC is compared with libvips only given a system libvips: apt-get install libvips42"; fi
	touch $(VENV)/.installed $@

clean:
	rm -rf $(VENV) $(OUTPUT) .pytest_cache .mypy_cache .ruff_cache .aws-sam
