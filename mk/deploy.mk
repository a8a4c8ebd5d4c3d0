# Deploy: the stack's checks and what its tests need. Everything is fetched here, at build time, from
# the package registries; the tests themselves run offline (tests/test_deploy_*.py).
#
#   make deploy-deps       what `make pytest` needs for them: node_modules, checkov's venv, the Lambda
#                          wheelhouses and the stand-in for the pandas layer
#   make package           npx serverless package (into .serverless/)
#   make deploy            npx serverless deploy (AWS credentials needed; see the README's Deploy section)
#   make deploy-requirements  recompile requirements/function.txt and requirements/tools.txt

TOOLS_VENV  := .venv-tools
WHEELHOUSE  := build/wheelhouse
LAMBDA_SIM  := build/lambda-sim
LAMBDA_PY   := 3.12
HOST_ARCH   := $(shell uname -m)
# The AWS SDK for pandas 3.16.1 layer ships pyarrow 22.0.0 (deploy/pandas-layers.json); pandas and numpy
# as pinned for the CLI. boto3 stands for the Lambda runtime's copy.
LAYER_SIM_PACKAGES := awswrangler==3.16.1 pyarrow==22.0.0 pandas==3.1.1 numpy==2.4.6 boto3==1.44.8

.PHONY: deploy-deps tools wheelhouse lambda-sim package deploy deploy-requirements

pytest: deploy-deps

deploy-deps: node tools wheelhouse lambda-sim

# checkov pins clash with ours: its own venv.
tools: $(TOOLS_VENV)/.installed
$(TOOLS_VENV)/.installed: requirements/tools.txt | $(VENV)/.installed
	rm -rf $(TOOLS_VENV)
	$(PYTHON) -m venv $(TOOLS_VENV)
	$(BIN)/uv pip install --quiet --python $(TOOLS_VENV)/bin/python -r requirements/tools.txt
	touch $@

# The function's wheels for CPython 3.12 on Lambda (aarch64) and on this machine (for the import test),
# downloaded with the same pip and flags serverless-python-requirements uses. The tests package with
# PIP_NO_INDEX=1 PIP_FIND_LINKS=$(WHEELHOUSE)/aarch64.
wheelhouse: $(WHEELHOUSE)/aarch64/.complete $(WHEELHOUSE)/$(HOST_ARCH)/.complete
$(WHEELHOUSE)/%/.complete: requirements/function.txt
	rm -rf $(@D)
	$(PYTHON) -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
		--implementation cp --python-version $(LAMBDA_PY) \
		--platform manylinux2014_$* --platform manylinux_2_28_$* \
		-r requirements/function.txt -d $(@D)
	touch $@

# Stand-in for what the Lambda runtime and the AWS SDK for pandas layer put on sys.path, built for
# this machine so the import test can run the packaged handler on a clean CPython 3.12.
lambda-sim: $(LAMBDA_SIM)/.complete
$(LAMBDA_SIM)/.complete: mk/deploy.mk | $(VENV)/.installed
	rm -rf $(LAMBDA_SIM)
	$(BIN)/uv pip install --quiet --target $(LAMBDA_SIM)/python --python-version $(LAMBDA_PY) \
		--python-platform $(HOST_ARCH)-manylinux_2_28 $(LAYER_SIM_PACKAGES)
	touch $@

package: node
	npx serverless package

deploy: node
	npx serverless deploy

deploy-requirements: | $(VENV)/.installed
	$(BIN)/uv pip compile --quiet --python-version $(LAMBDA_PY) --python-platform aarch64-manylinux_2_28 \
		--custom-compile-command "make deploy-requirements" requirements/function.in -o requirements/function.txt
	$(BIN)/uv pip compile --quiet --python-version 3.11 \
		--custom-compile-command "make deploy-requirements" requirements/tools.in -o requirements/tools.txt
