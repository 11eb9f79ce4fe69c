# manual-gate build. `make` builds build/manual-gate; `make test` runs every test twice:
# a normal build and an AddressSanitizer + UndefinedBehaviorSanitizer build.

CC      ?= cc
PKGS    := libmicrohttpd libcjson libcurl yaml-0.1 openssl gnutls
WARN    := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wwrite-strings -Wformat=2 -Wno-format-nonliteral
CFLAGS  ?= -O2 -g
ALL_CFLAGS = $(WARN) $(CFLAGS) -D_GNU_SOURCE $(shell pkg-config --cflags $(PKGS)) $(EXTRA_CFLAGS)
LDLIBS  := $(shell pkg-config --libs $(PKGS)) -lpthread -lm

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
            python3-jsonschema wrk time valgrind pmccabe clang libclang-rt-14-dev

.PHONY: all deps run test unit integration static san bench certs clean manifests fuzz

all: $(BUILD)/manual-gate

$(BUILD)/manual-gate: $(BUILD)/obj/main.o $(LIB)
	@echo "LD  $@"
	@$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

$(LIB): $(LIBOBJ)
	@echo "AR  $@"
	@rm -f $@ && $(AR) rcs $@ $^

# -MMD -MP: each object records the headers it includes, so a changed header rebuilds exactly what uses it.
$(BUILD)/obj/%.o: webhook/%.c | $(BUILD)/obj
	@echo "CC  $<"
	@$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB) | $(BUILD)/tests
	@echo "CC  $<"
	@$(CC) $(ALL_CFLAGS) -MMD -MP -Iwebhook -o $@ $< $(LIB) $(LDFLAGS) $(TEST_LDFLAGS) $(LDLIBS)

# The out-of-memory test fails the project's own allocations one by one through these wrappers.
$(BUILD)/tests/test_cache_oom: TEST_LDFLAGS = -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc

-include $(OBJ:.o=.d) $(UNIT_BIN:=.d)

$(BUILD)/obj $(BUILD)/tests:
	mkdir -p $@

deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEB_PKGS)

certs/ca.crt certs/tls.crt certs/tls.key:
	./certs/make-certs.sh --service manual-gate --namespace manual-gate --out certs

certs: certs/tls.crt

run: $(BUILD)/manual-gate certs/tls.crt
	$(BUILD)/manual-gate serve --listen 127.0.0.1:8443 --tls-cert certs/tls.crt --tls-key certs/tls.key \
	    --canaries tests/fixtures/canaries/cluster.yaml --loadtester-url http://flagger-loadtester.test

unit: $(UNIT_BIN)
	@tests/run-unit.sh $(UNIT_BIN)

# The include layers docs/design.md draws, function complexity and file size (tests/static/run.py).
static:
	@python3 tests/static/run.py

integration: $(BUILD)/manual-gate
	@MG_BIN=$(BUILD)/manual-gate python3 tests/integration/run.py

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

SAN_FLAGS := BUILD=build/san CFLAGS="-O1 -g -fno-omit-frame-pointer" \
	    EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined" LDFLAGS="-fsanitize=address,undefined"
san:
	-$(MAKE) --no-print-directory unit $(SAN_FLAGS)
	-$(MAKE) --no-print-directory integration $(SAN_FLAGS)

bench: $(BUILD)/manual-gate $(BUILD)/bench/bench_core
	@tests/bench/run.sh $(BUILD)/manual-gate

$(BUILD)/bench/%: tests/bench/%.c $(LIB)
	@mkdir -p $(BUILD)/bench
	@echo "CC  $<"
	@$(CC) $(ALL_CFLAGS) -Iwebhook -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

# Without cert-manager: a CA, the TLS Secret and every object with the caBundle filled in, in certs/out/.
manifests:
	./certs/install-secret.sh --out certs/out

# libFuzzer targets (clang, from DEB_PKGS) over the codec and the policies, the YAML reader and printer,
# and the splicer. make test runs each for TEST_FUZZ_SECONDS as a smoke test: they build, and the seed
# corpus plus a few seconds of mutation break nothing; `make fuzz` runs them for FUZZ_SECONDS (60).
TEST_FUZZ_SECONDS ?= 10
fuzz:
	@tests/fuzz/run.sh

clean:
	rm -rf build
