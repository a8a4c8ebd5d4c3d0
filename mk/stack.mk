# The deployed stack's chores that CloudFormation cannot do (README, Deploy). AWS credentials needed.
#
#   make ses-activate   [STAGE=dev] [REGION=us-east-1] [DRY_RUN=1]   after the first deploy
#   make ses-deactivate [STAGE=dev] [REGION=us-east-1] [DRY_RUN=1]   before `serverless remove`
#   make clean-failed-deploy [STAGE=dev] [REGION=us-east-1] [DRY_RUN=1]
#                       delete what a rolled-back deploy kept (only when empty: never data)

STAGE  ?= dev
REGION ?= us-east-1
STACK  ?= dmarc-$(STAGE)
STACK_DRY_RUN := $(if $(DRY_RUN),--dry-run,)

.PHONY: ses-activate ses-deactivate clean-failed-deploy

ses-activate: venv
	AWS_DEFAULT_REGION=$(REGION) $(BIN)/dmarc ses activate --aws --stack $(STACK) $(STACK_DRY_RUN)

ses-deactivate: venv
	AWS_DEFAULT_REGION=$(REGION) $(BIN)/dmarc ses deactivate --aws --stack $(STACK) $(STACK_DRY_RUN)

clean-failed-deploy: venv
	AWS_DEFAULT_REGION=$(REGION) $(BIN)/python scripts/clean_failed_deploy.py --stack $(STACK) $(STACK_DRY_RUN)
