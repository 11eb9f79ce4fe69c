# manual-gate build. `make` builds build/manual-gate; `make test` runs every test twice:
# a normal build and an AddressSanitizer + UndefinedBehaviorSanitizer build.

CC      ?= cc
PKGS    := libmicrohttpd libcjson libcurl yaml-0.1 openssl gnutls
WARN    := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wwrite-strings -Wformat=2 -Wno-format-nonliteral
CFLAGS  ?= -O2 -g
# Hardening, as the image ships it: stack canaries, checked string/memory calls (needs -O1 or more), a
# position-independent executable with read-only relocations bound at start. The sanitizer build turns it
# off (AddressSanitizer replaces the functions FORTIFY checks).
HARDEN    ?= -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
HARDEN_LD ?= -pie -Wl,-z,relro,-z,now
ALL_CFLAGS = $(WARN) $(CFLAGS) $(HARDEN) -D_GNU_SOURCE $(shell pkg-config --cflags $(PKGS)) $(EXTRA_CFLAGS)
ALL_LDFLAGS = $(HARDEN_LD) $(LDFLAGS)
LDLIBS  := $(shell pkg-config --libs $(PKGS)) -lpthread -lm

# The tests run on Debian's Python, the one `make deps` equips with python3-yaml, python3-jsonschema and
# python3-prometheus-client (a python3 earlier on PATH, e.g. pyenv's, lacks them).
PYTHON  ?= /usr/bin/python3

# What the binary says it is (`manual-gate version`, manual_gate_build_info): the nearest release tag
# (v1.2.3 -> 1.2.3, with -N-gHASH past it), else VERSION's number with -dev; and the commit, -dirty with
# uncommitted changes. The image build has no .git and passes both (make image).
MG_VERSION ?= $(or $(shell git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null | sed 's/^v//'),$(shell cat VERSION)-dev)
MG_COMMIT  ?= $(or $(shell git rev-parse --short=12 HEAD 2>/dev/null),unknown)$(shell git diff --quiet HEAD -- 2>/dev/null || echo -dirty)

# BUILD is the output directory: build/ for the normal build, build/san/ for the sanitizer one.
BUILD   ?= build
SRC     := $(wildcard webhook/*.c)
OBJ     := $(SRC:webhook/%.c=$(BUILD)/obj/%.o)
LIBOBJ  := $(filter-out $(BUILD)/obj/main.o,$(OBJ))
# Everything but main.o, for the binary, the unit tests and the benchmarks alike.
LIB     := $(BUILD)/libmanualgate.a
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

# Debian bookworm packages, exactly: build tools, the libraries (dev packages pull in the runtime ones),
# and what the tests drive: curl and openssl as real TLS clients, kubectl is preinstalled on these machines.
DEB_PKGS := build-essential pkg-config libmicrohttpd-dev libcjson-dev libcurl4-openssl-dev libyaml-dev \
            uthash-dev libssl-dev libgnutls28-dev curl openssl ca-certificates python3 python3-yaml \
            python3-jsonschema python3-prometheus-client wrk time valgrind pmccabe binutils clang \
            libclang-rt-14-dev

.PHONY: all deps npm-deps run test unit integration static san bench soak certs clean manifests fuzz rootfs image FORCE

all: $(BUILD)/manual-gate

$(BUILD)/manual-gate: $(BUILD)/obj/main.o $(LIB)
	@echo "LD  $@"
	@$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(ALL_LDFLAGS) $(LDLIBS)

# Only the files that print the version see it, and they are rebuilt when it changes (the stamp is
# rewritten only then).
$(BUILD)/obj/main.o $(BUILD)/obj/metrics.o: EXTRA_DEFS = -DMG_VERSION='"$(MG_VERSION)"' -DMG_COMMIT='"$(MG_COMMIT)"'
$(BUILD)/obj/main.o $(BUILD)/obj/metrics.o: $(BUILD)/version.stamp
$(BUILD)/version.stamp: FORCE | $(BUILD)/obj
	@echo '$(MG_VERSION) $(MG_COMMIT)' | cmp -s - $@ || echo '$(MG_VERSION) $(MG_COMMIT)' > $@
FORCE:

$(LIB): $(LIBOBJ)
	@echo "AR  $@"
	@rm -f $@ && $(AR) rcs $@ $^

# -MMD -MP: each object records the headers it includes, so a changed header rebuilds exactly what uses it.
$(BUILD)/obj/%.o: webhook/%.c | $(BUILD)/obj
	@echo "CC  $<"
	@$(CC) $(ALL_CFLAGS) $(EXTRA_DEFS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB) | $(BUILD)/tests
	@echo "CC  $<"
	@$(CC) $(ALL_CFLAGS) -MMD -MP -Iwebhook -o $@ $< $(LIB) $(ALL_LDFLAGS) $(TEST_LDFLAGS) $(LDLIBS)

# The out-of-memory test fails the project's own allocations one by one through these wrappers.
$(BUILD)/tests/test_cache_oom: TEST_LDFLAGS = -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc

-include $(OBJ:.o=.d) $(UNIT_BIN:=.d)

$(BUILD)/obj $(BUILD)/tests:
	mkdir -p $@

# The Debian packages, then the npm packages the manifest test validates with (tests/k8s-schema/: Node.js
# and npm come with the machine; the versions are pinned by its package-lock.json).
deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEB_PKGS)
	$(MAKE) --no-print-directory npm-deps

SCHEMA_DIR := tests/k8s-schema
npm-deps: $(SCHEMA_DIR)/node_modules/.package-lock.json
$(SCHEMA_DIR)/node_modules/.package-lock.json: $(SCHEMA_DIR)/package.json $(SCHEMA_DIR)/package-lock.json
	cd $(SCHEMA_DIR) && npm ci --no-audit --no-fund --loglevel=error

certs/ca.crt certs/tls.crt certs/tls.key:
	@./certs/make-certs.sh --service manual-gate --namespace manual-gate --out certs >/dev/null
	@echo "certs/: a CA (certs/ca.crt) and a serving certificate for localhost and manual-gate.manual-gate.svc"

certs: certs/tls.crt

# make run PORT=9443: a local server on https://localhost:PORT (8443 by default).
PORT ?= 8443
run: $(BUILD)/manual-gate certs/tls.crt
	$(BUILD)/manual-gate serve --listen 127.0.0.1:$(PORT) --tls-cert certs/tls.crt --tls-key certs/tls.key \
	    --canaries tests/fixtures/canaries/cluster.yaml --loadtester-url http://flagger-loadtester.test

unit: $(UNIT_BIN)
	@tests/run-unit.sh $(UNIT_BIN)

# The include layers docs/design.md draws, function complexity and file size (tests/static/run.py).
static:
	@$(PYTHON) tests/static/run.py

integration: $(BUILD)/manual-gate npm-deps
	@MG_BIN=$(BUILD)/manual-gate MG_PYTHON=$(PYTHON) $(PYTHON) tests/integration/run.py

# The whole suite, normal build then sanitizer build; tests/summary.sh prints the closing count line.
# Each suite appends its "N passed, N failed" line to $(RESULTS); a suite that cannot build or crashes
# leaves its line missing, which summary.sh counts as a failure. The leading '-' lets every suite run.
RESULTS ?= $(CURDIR)/build/results.txt
export RESULTS
test:
	@mkdir -p build && rm -f $(RESULTS)
	-$(MAKE) --no-print-directory unit BUILD=build
	-$(MAKE) --no-print-directory integration BUILD=build
	-$(MAKE) --no-print-directory san
	-$(MAKE) --no-print-directory static
	-$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(TEST_FUZZ_SECONDS)
	@tests/summary.sh $(RESULTS) 6

SAN_FLAGS := BUILD=build/san CFLAGS="-O1 -g -fno-omit-frame-pointer" HARDEN= HARDEN_LD= \
	    EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined" LDFLAGS="-fsanitize=address,undefined"
san:
	-$(MAKE) --no-print-directory unit $(SAN_FLAGS)
	-$(MAKE) --no-print-directory integration $(SAN_FLAGS)

bench: $(BUILD)/manual-gate $(BUILD)/bench/bench_core $(BUILD)/bench/floor
	@PYTHON=$(PYTHON) tests/bench/run.sh $(BUILD)/manual-gate

# make soak SOAK_SECONDS=1800: the binary under mixed reviews, watch churn and attacks for that long, with
# RSS and open fds sampled; fails when they are not flat or a review got a wrong answer (tests/soak/soak.py).
# Not part of make test: it is about time.
SOAK_SECONDS ?= 60
soak: $(BUILD)/manual-gate
	@MG_BIN=$(BUILD)/manual-gate $(PYTHON) tests/soak/soak.py --seconds $(SOAK_SECONDS)

$(BUILD)/bench/%: tests/bench/%.c $(LIB)
	@mkdir -p $(BUILD)/bench
	@echo "CC  $<"
	@$(CC) $(ALL_CFLAGS) -Iwebhook -o $@ $< $(LIB) $(ALL_LDFLAGS) $(LDLIBS)

# Without cert-manager: a CA, the TLS Secret and every object with the caBundle filled in, in certs/out/,
# deploying IMAGE (required: the image you built and pushed, by tag or digest).
manifests:
	@test -n "$(IMAGE)" || { echo "make manifests: say which image to deploy: make manifests IMAGE=registry.example.com/manual-gate:$(MG_VERSION) (build and push it first: make image)" >&2; exit 2; }
	./certs/install-secret.sh --out certs/out --image "$(IMAGE)"

# The image's runtime filesystem in $(ROOTFS): the stripped binary, the shared libraries it loads (ldd's
# closure, the dynamic loader included), the CA certificates and nothing else: no shell, no package
# manager. The Dockerfile's runtime stage is this directory; tests/integration/test_rootfs.py runs the
# binary from it with chroot.
ROOTFS ?= $(BUILD)/rootfs
rootfs: $(BUILD)/manual-gate
	@tests/rootfs.sh $(BUILD)/manual-gate $(ROOTFS)

# The image, where a Docker engine runs (none does on the development machines): base images by digest
# (Dockerfile ARGs), version and commit from git.
image:
	docker build --build-arg MG_VERSION=$(MG_VERSION) --build-arg MG_COMMIT=$(MG_COMMIT) \
	    -t $(or $(IMAGE),manual-gate:$(MG_VERSION)) .

# libFuzzer targets (clang, from DEB_PKGS) over the codec and the policies, the YAML reader and printer,
# and the splicer. make test runs each for TEST_FUZZ_SECONDS as a smoke test: they build, and the seed
# corpus plus a few seconds of mutation break nothing; `make fuzz` runs them for FUZZ_SECONDS (60).
TEST_FUZZ_SECONDS ?= 10
fuzz:
	@tests/fuzz/run.sh

clean:
	rm -rf build
