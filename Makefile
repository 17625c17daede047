# afterparty: build, run and test. `make help` says what each target does.
#
# Nothing here needs an AWS account: `make run` and `make test` use the pinned
# emulators in infra/local (npm) and the Lambda runtime interface emulator (.bin).

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

GO ?= go
# Every directory under functions/ is one Lambda function.
FUNCTIONS := $(patsubst functions/%/,%,$(wildcard functions/*/))
# How Lambda's bootstrap is built: provided.al2023 on arm64 (template.yaml).
LAMBDA_BUILD := CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags "-s -w"
RIE_MODULE := github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
RIE_STAMP := .bin/.aws-lambda-rie-$(RIE_VERSION)
NPM_STAMP := infra/local/node_modules/.installed
# The race detector costs little here: the tests wait mostly on the emulators.
# `make test RACE=` runs without it.
RACE ?= -race
GO_FILES = $(shell git ls-files --cached --others --exclude-standard '*.go')

.PHONY: help deps build stack stop run test vet fmt fmt-check tidy-check bench clean distclean \
	build-InvitationsFunction build-RemindersFunction build-TeasersFunction build-PubFunction build-WebFunction \
	build-DigestFunction build-FeedbackFunction build-RepliesFunction build-OutboxFunction

help: ## this list
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  make %-26s %s\n", $$1, $$2 }'

deps: $(NPM_STAMP) $(RIE_STAMP) ## install the pinned emulators (npm ci in infra/local, aws-lambda-rie into .bin) and Debian's chromium
	@command -v chromium >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

$(NPM_STAMP): infra/local/package.json infra/local/package-lock.json
	npm ci --prefix infra/local --no-audit --no-fund
	touch $@

$(RIE_STAMP):
	GOBIN=$(CURDIR)/.bin $(GO) install $(RIE_MODULE)@$(RIE_VERSION)
	touch $@

build: ## build/<name>/bootstrap for every function (linux/arm64)
	@if [[ -z "$(FUNCTIONS)" ]]; then echo "no functions under functions/"; fi
	@for f in $(FUNCTIONS); do \
		echo "build/$$f/bootstrap"; \
		$(LAMBDA_BUILD) -o build/$$f/bootstrap ./functions/$$f; \
	done

# `sam build` (BuildMethod: makefile) runs build-<LogicalId> with ARTIFACTS_DIR set.
define sam-build
$(if $(ARTIFACTS_DIR),,$(error ARTIFACTS_DIR is not set: `sam build` sets it))
$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/$(1)
endef

build-InvitationsFunction: ## (sam build) functions/invitations into $(ARTIFACTS_DIR)/bootstrap
	$(call sam-build,invitations)
build-RemindersFunction: ## (sam build) functions/reminders
	$(call sam-build,reminders)
build-TeasersFunction: ## (sam build) functions/teasers
	$(call sam-build,teasers)
build-PubFunction: ## (sam build) functions/pub
	$(call sam-build,pub)
build-WebFunction: ## (sam build) functions/web
	$(call sam-build,web)
build-DigestFunction: ## (sam build) functions/digest
	$(call sam-build,digest)
build-FeedbackFunction: ## (sam build) functions/feedback
	$(call sam-build,feedback)
build-RepliesFunction: ## (sam build) functions/replies
	$(call sam-build,replies)
build-OutboxFunction: ## (sam build) functions/outbox
	$(call sam-build,outbox)

stack: deps ## start the emulators on 127.0.0.1:8000 (DynamoDB) and :8005 (SES), create the tables
	infra/stack.sh start

stop: ## stop the emulators
	infra/stack.sh stop

run: deps ## the whole system locally: the stack, demo data, web on :8080, fast clock; Ctrl-C stops it all
	trap 'infra/stack.sh stop' EXIT; \
	infra/stack.sh start; \
	$(GO) run ./cmd/afterparty demo

test: deps fmt-check tidy-check vet ## every test (starts and stops its own emulators)
	$(GO) test -count=1 -timeout 45m $(RACE) ./...

vet: ## go vet
	$(GO) vet ./...

fmt: ## gofmt every Go file
	gofmt -w $(GO_FILES)

fmt-check: ## fail if a Go file is not gofmt-ed
	@files="$$(gofmt -l $(GO_FILES))"; \
	if [[ -n "$$files" ]]; then echo "not gofmt-ed (run make fmt):"; echo "$$files"; exit 1; fi

tidy-check: ## fail if `go mod tidy` would change go.mod or go.sum (prints the diff)
	@if ! $(GO) mod tidy -diff; then echo "go.mod/go.sum are not tidy (run go mod tidy)"; exit 1; fi

bench: deps ## benchmarks against the local stack, printed as one table (also in .local/bench.txt)
	mkdir -p .local
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./infra/bench/ 2>&1 | tee .local/bench.txt | $(GO) run ./infra/bench/table

clean: stop ## remove build output, logs and test builds (.local)
	rm -rf build .local

distclean: clean ## also remove the installed emulators
	rm -rf .bin infra/local/node_modules
