# peernet — top-level build (GNU make). Objects in build/, binaries in build/bin/.
#   make [all]      build the four programs
#   make deps       install missing Debian packages (root) and create the system user
#   make check      deps + build + every test; ends with "N passed, N failed"
#   make check-san  the test suite again, built with ASan+UBSan (build-san/)
#   make demo       deps + build + the demo on loopback
#   make bench      benchmarks (BENCH lines)
#   make fuzz       libFuzzer targets (clang); make fuzz-smoke runs each briefly
#   make install    PREFIX=/usr/local DESTDIR=
#   make deb        the Debian package build/peernet_<version>_<arch>.deb (+ lintian)
#   make fresh-check   the quick start (make demo, make check) in a fresh debootstrap root
#   make check-systemd the .deb under a booted systemd in a container (root)
#   make clean
# Quiet by default; V=1 shows the commands.

PREFIX    ?= /usr/local
V         ?= 0
ifeq ($(V),0)
Q  := @
qq  = @printf '  %-6s %s\n' $(1) $(2);
else
Q  :=
qq  =
endif
DESTDIR   ?=
B         ?= build
CC        ?= cc
SAN       ?=

PKGS      := libsodium libcrypto libsecp256k1 sqlite3 libbsd-overlay libcap-ng libseccomp libsystemd inih jansson miniupnpc
# nng, libnatpmp and libunistring ship no pkg-config file on Debian 12: linked by name.
EXTRA_LIBS := -lnng -lnatpmp -lunistring -lpthread

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN      := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla -Wno-unused-parameter -Wno-format-truncation
HARDEN    := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE -fstack-clash-protection
CFLAGS    ?= -O2 -g
ALL_CFLAGS = -std=gnu11 $(WARN) $(HARDEN) $(CFLAGS) -Icommon $(PKG_CFLAGS) -MMD -MP
LDFLAGS_H := -pie -Wl,-z,relro,-z,now -Wl,--as-needed
LIBS       = $(PKG_LIBS) $(EXTRA_LIBS)

ifeq ($(SAN),1)
B          = build-san
CFLAGS     = -O1 -g -fno-omit-frame-pointer
HARDEN     = -fstack-protector-strong -fPIE
ALL_CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS_H  += -fsanitize=address,undefined
endif

COMMON_SRC := $(sort $(wildcard common/*.c))
NETD_SRC   := $(sort $(wildcard netd/*.c))
STORE_SRC  := $(sort $(wildcard storaged/*.c))
SEARCH_SRC := $(sort $(wildcard searchd/*.c))
CTL_SRC    := $(sort $(wildcard ctl/*.c))
APID_SRC   := $(sort $(wildcard apid/*.c))
TEST_SRC   := $(sort $(wildcard tests/unit/test_*.c))
TESTLIB_SRC:= $(sort $(filter-out $(TEST_SRC),$(wildcard tests/unit/*.c)))
BENCH_SRC  := $(sort $(wildcard bench/bench_*.c))
FUZZ_SRC   := $(sort $(wildcard tests/fuzz/fuzz_*.c))

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))

COMMON_LIB := $(B)/libpeernet-common.a
# Each daemon's modules (all but its main file) as a library, so that unit
# tests, the simulation and benchmarks can link them.
NETD_LIB   := $(B)/libpeernet-netd.a
STORE_LIB  := $(B)/libpeernet-storaged.a
SEARCH_LIB := $(B)/libpeernet-searchd.a
APID_LIB   := $(B)/libpeernet-apid.a
MOD_LIBS   := $(NETD_LIB) $(STORE_LIB) $(SEARCH_LIB)
BINS       := $(B)/bin/peernet-netd $(B)/bin/peernet-storaged $(B)/bin/peernet-searchd $(B)/bin/peernetctl \
	      $(B)/bin/peernet-apid
TESTS      := $(patsubst tests/unit/%.c,$(B)/tests/%,$(TEST_SRC))
BENCHES    := $(patsubst bench/%.c,$(B)/bench/%,$(BENCH_SRC))

# Test and tool objects are intermediate files to make: keep them (no rebuild).
.SECONDARY:
.PHONY: all deps check check-san unit demo bench fuzz fuzz-smoke install clean deb fresh-check check-systemd
all: $(BINS)

# SIMD variants of BLAKE3 are compiled for their instruction set and chosen at run time.
$(B)/obj/common/blake3_sse41.o: ALL_CFLAGS += -msse4.1
$(B)/obj/common/blake3_avx2.o:  ALL_CFLAGS += -mavx2
$(B)/obj/common/blake3_avx512.o: ALL_CFLAGS += -mavx512f

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(call qq,CC,$<)$(CC) $(ALL_CFLAGS) -c $< -o $@

# Daemon modules, their tests and the simulation see the daemons' headers.
$(B)/obj/netd/%.o $(B)/obj/tests/%.o $(B)/obj/bench/%.o: ALL_CFLAGS += -Inetd -Istoraged -Isearchd
# Benchmarks link the unit tests' helpers (t.c: clock, generator) too.
$(B)/obj/bench/%.o: ALL_CFLAGS += -Itests/unit
$(B)/obj/storaged/%.o: ALL_CFLAGS += -Istoraged
$(B)/obj/searchd/%.o: ALL_CFLAGS += -Isearchd
$(B)/obj/apid/%.o: ALL_CFLAGS += -Iapid

$(COMMON_LIB): $(call obj,$(COMMON_SRC))
	@mkdir -p $(dir $@)
	$(call qq,AR,$@)rm -f $@ && ar rcs $@ $^

$(NETD_LIB): $(call obj,$(filter-out netd/netd.c,$(NETD_SRC)))
	@mkdir -p $(dir $@)
	$(call qq,AR,$@)rm -f $@ && ar rcs $@ $^
$(STORE_LIB): $(call obj,$(filter-out storaged/storaged.c,$(STORE_SRC)))
	@mkdir -p $(dir $@)
	$(call qq,AR,$@)rm -f $@ && ar rcs $@ $^
$(SEARCH_LIB): $(call obj,$(filter-out searchd/searchd.c,$(SEARCH_SRC)))
	@mkdir -p $(dir $@)
	$(call qq,AR,$@)rm -f $@ && ar rcs $@ $^

$(B)/bin/peernet-netd: $(B)/obj/netd/netd.o $(NETD_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(call qq,LD,$@)$(CC) $(LDFLAGS_H) -o $@ $^ $(LIBS)
$(B)/bin/peernet-storaged: $(B)/obj/storaged/storaged.o $(STORE_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(call qq,LD,$@)$(CC) $(LDFLAGS_H) -o $@ $^ $(LIBS)
$(B)/bin/peernet-searchd: $(B)/obj/searchd/searchd.o $(SEARCH_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(call qq,LD,$@)$(CC) $(LDFLAGS_H) -o $@ $^ $(LIBS)
# apid alone links libmicrohttpd (the HTTP server) and nettle (WebSocket's SHA-1).
$(APID_LIB): $(call obj,$(filter-out apid/apid.c,$(APID_SRC)))
	@mkdir -p $(dir $@)
	$(call qq,AR,$@)rm -f $@ && ar rcs $@ $^
$(B)/bin/peernet-apid: $(B)/obj/apid/apid.o $(APID_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(call qq,LD,$@)$(CC) $(LDFLAGS_H) -o $@ $^ $(LIBS) -lmicrohttpd -lnettle
$(B)/bin/peernetctl: $(call obj,$(CTL_SRC)) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(call qq,LD,$@)$(CC) $(LDFLAGS_H) -o $@ $^ $(LIBS)

# Unit tests: one binary per tests/unit/test_*.c, linked with the shared test helpers.
$(B)/tests/test_%: $(B)/obj/tests/unit/test_%.o $(call obj,$(TESTLIB_SRC)) $(MOD_LIBS) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(call qq,LD,$@)$(CC) $(LDFLAGS_H) -o $@ $^ $(LIBS)

# The in-process DHT simulation (tests/sim/sim.c), run by tests and benchmarks.
SIM_SRC := $(wildcard tests/sim/sim.c)
SIM     := $(if $(SIM_SRC),$(B)/tests/sim)
$(B)/tests/sim: $(call obj,$(SIM_SRC)) $(MOD_LIBS) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(call qq,LD,$@)$(CC) $(LDFLAGS_H) -o $@ $^ $(LIBS)
# Whole netd nodes on a fake clock and network (tests/sim/nodesim.c): a
# test_* binary, so tests/run.sh runs it with the unit tests.
NODESIM := $(B)/tests/test_nodesim
$(NODESIM): $(B)/obj/tests/sim/nodesim.o $(call obj,$(TESTLIB_SRC)) $(MOD_LIBS) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(call qq,LD,$@)$(CC) $(LDFLAGS_H) -o $@ $^ $(LIBS)
$(B)/obj/tests/sim/nodesim.o: ALL_CFLAGS += -Itests/unit

# Test tools (tests/tools/*.c): programs the integration tests drive.
# tests/tools/tool.c is not a tool: the helpers every tool links.
TOOL_SRC := $(sort $(filter-out tests/tools/tool.c,$(wildcard tests/tools/*.c)))
TOOLS    := $(patsubst tests/tools/%.c,$(B)/tests/%,$(TOOL_SRC))
$(TOOLS): $(B)/tests/%: $(B)/obj/tests/tools/%.o $(B)/obj/tests/tools/tool.o $(MOD_LIBS) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(call qq,LD,$@)$(CC) $(LDFLAGS_H) -o $@ $^ $(LIBS)

$(B)/bench/%: $(B)/obj/bench/%.o $(call obj,$(TESTLIB_SRC)) $(MOD_LIBS) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(call qq,LD,$@)$(CC) $(LDFLAGS_H) -o $@ $^ $(LIBS)

deps:
	@scripts/deps.sh

unit: $(TESTS) $(BINS) $(SIM) $(NODESIM) $(TOOLS)

check: deps
	@$(MAKE) --no-print-directory -j2 all unit
	@B=$(B) tests/run.sh

check-san: deps
	@$(MAKE) --no-print-directory -j2 SAN=1 all unit
	@B=build-san PEERNET_SAN=1 tests/run.sh

demo: deps
	@$(MAKE) --no-print-directory -j2 all
	@B=$(B) scripts/demo.sh

bench: all $(BENCHES) $(SIM)
	@B=$(B) scripts/bench.sh

# libFuzzer targets: clang; the common sources are compiled once for fuzzing
# (instrumented, sanitized) into a library each target links.
FUZZ_B      := build-fuzz
FUZZ_CFLAGS := -std=gnu11 -g -O1 -DBLAKE3_NO_SIMD -Icommon -Inetd -Iapid $(PKG_CFLAGS)
FUZZ_CSRC   := $(filter-out common/blake3_sse41.c common/blake3_avx2.c common/blake3_avx512.c,$(COMMON_SRC))
FUZZ_LIB    := $(FUZZ_B)/libfuzz-common.a
FUZZERS     := $(patsubst tests/fuzz/%.c,$(FUZZ_B)/%,$(FUZZ_SRC))
$(FUZZ_B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(call qq,CC,$<)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -MMD -MP -c $< -o $@
$(FUZZ_LIB): $(patsubst %.c,$(FUZZ_B)/obj/%.o,$(FUZZ_CSRC))
	$(call qq,AR,$@)rm -f $@ && ar rcs $@ $^
$(FUZZ_B)/%: tests/fuzz/%.c $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	$(call qq,LD,$@)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_LIB) $(LIBS)
fuzz: $(FUZZERS)
fuzz-smoke: $(FUZZERS)
	@FUZZ_B=$(FUZZ_B) scripts/fuzz-smoke.sh $(FUZZ_SECONDS)
# The long campaign, not run by CI: 10 million runs or FUZZ_LONG_SECONDS
# (default 600) per target; a table in $(FUZZ_B)/fuzz-long.md.
.PHONY: fuzz-long
fuzz-long: $(FUZZERS)
	@FUZZ_B=$(FUZZ_B) scripts/fuzz-long.sh

install: all
	@scripts/install.sh "$(DESTDIR)" "$(PREFIX)" "$(B)"

deb: deps
	@scripts/deb.sh

fresh-check: deps
	@scripts/fresh-machine.sh

check-systemd: deb all
	@B=$(B) tests/systemd/boot.sh

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(B)/obj $(FUZZ_B)/obj -name '*.d' 2>/dev/null)
