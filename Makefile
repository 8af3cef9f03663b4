# Everyday commands. Each is a plain go or npm command, so the Makefile is a
# convenience, not a requirement.

.PHONY: run test generate lint bench sandbox

run: ## the dashboard with the embedded sandbox
	go run . --sandbox

sandbox: ## the Extend-compatible sandbox alone, seeded
	go run . sandbox --seed

test: ## the whole suite, as CI runs it
	go test -race -count=1 -timeout 30m ./...

generate: ## templ views, Tailwind CSS and vendored JavaScript
	go tool templ generate
	npm ci --no-audit --no-fund
	npm run build

lint:
	gofmt -l $$(git ls-files '*.go')
	go vet ./...

bench: ## a short load test and short benchmarks; compare ratios within one run
	go run . bench --duration 20s --rate 20 --runs 10000
	go test -run '^$$' -bench . -benchtime 20x ./sandbox/ ./extendapi/
