# sockctl - build, test, check, install.
VERSION   = 0.1.0
PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
CFLAGS   ?= -O2 -g
WARNINGS  = -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wformat=2 -Wvla -Werror
# TLS: OpenSSL 3 through pkg-config, when its headers are there; TLS=0 builds without.
ifndef TLS
TLS := $(shell pkg-config --exists 'openssl >= 3' 2>/dev/null && \
	 printf '\043include <openssl/ssl.h>\n' | $(CC) $$(pkg-config --cflags openssl) \
	 -E -x c - >/dev/null 2>&1 && echo 1 || echo 0)
endif
ifneq ($(filter-out 0 1,$(TLS)),)
$(error TLS must be 0 or 1, not '$(TLS)')
endif
ifeq ($(TLS),1)
TLS_CPPFLAGS = -DSK_TLS $(shell pkg-config --cflags openssl)
TLS_LIBS     = $(shell pkg-config --libs openssl)
else
$(info sockctl: building without TLS (no OpenSSL 3 headers found, or TLS=0; apt-get install libssl-dev pkg-config))
endif
# serve-http --auth-file checks bcrypt and SHA-crypt hashes with crypt(3) (libcrypt-dev).
AUTH_LIBS = -lcrypt
# lib/ has one folder per subsystem; headers are included by bare name.
LIB_DIRS = $(sort $(dir $(wildcard lib/*/*.c)))
ALL_CPPFLAGS = -D_GNU_SOURCE -DSOCKCTL_VERSION='"$(VERSION)"' $(LIB_DIRS:%/=-I%) $(TLS_CPPFLAGS) \
	       $(CPPFLAGS)
ALL_CFLAGS   = $(WARNINGS) -pthread $(CFLAGS)
SAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
            -fno-omit-frame-pointer -pthread

LIB_SRC  = $(wildcard lib/*/*.c)
CMD_SRC  = $(wildcard cmd/*.c)
LIB_HDR  = $(wildcard lib/*/*.h)
UNIT_SRC = $(wildcard tests/unit/*.c)

LIB_OBJ = $(LIB_SRC:%.c=build/%.o)
CMD_OBJ = $(CMD_SRC:%.c=build/%.o)
SAN_OBJ = $(LIB_SRC:%.c=build/san/%.o) $(CMD_SRC:%.c=build/san/%.o)
UNITS   = $(UNIT_SRC:tests/unit/%.c=build/unit/%)
SAN_UNITS = $(UNIT_SRC:tests/unit/%.c=build/san/unit/%)
SAN_LIB_OBJ = $(LIB_SRC:%.c=build/san/%.o)

all: sockctl

sockctl: $(CMD_OBJ) build/libsockctl.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(CMD_OBJ) build/libsockctl.a $(TLS_LIBS) $(AUTH_LIBS)

build/libsockctl.a: $(LIB_OBJ)
	$(AR) rcs $@ $(LIB_OBJ)

# Rebuilds everything when TLS changes between builds.
build/config.stamp: FORCE
	@mkdir -p build
	@echo 'TLS=$(TLS)' | cmp -s - $@ || echo 'TLS=$(TLS)' >$@

build/%.o: %.c $(LIB_HDR) cmd/cmd.h Makefile build/config.stamp
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

build/san/%.o: %.c $(LIB_HDR) cmd/cmd.h Makefile build/config.stamp
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(WARNINGS) $(SAN_FLAGS) -c -o $@ $<

build/san/sockctl: $(SAN_OBJ)
	$(CC) $(SAN_FLAGS) -o $@ $(SAN_OBJ) $(TLS_LIBS) $(AUTH_LIBS)

build/unit/%: tests/unit/%.c build/libsockctl.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -o $@ $< build/libsockctl.a $(TLS_LIBS) $(AUTH_LIBS)

build/san/unit/%: tests/unit/%.c $(SAN_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(WARNINGS) $(SAN_FLAGS) -o $@ $< $(SAN_LIB_OBJ) $(TLS_LIBS) $(AUTH_LIBS)

units: $(UNITS)

# The bats suite and the unit tests, against ./sockctl.
test: sockctl units
	tests/run

# The same suite under AddressSanitizer and UndefinedBehaviorSanitizer.
# Reports of background processes go to SAN_LOG_DIR; any report fails the run.
# Then a representative subset under valgrind memcheck (tests/valgrind/run).
SAN_LOG_DIR = $(CURDIR)/build/san/logs
check: build/san/sockctl $(SAN_UNITS) sockctl units
	rm -rf $(SAN_LOG_DIR) && mkdir -p $(SAN_LOG_DIR)
	SOCKCTL=$(CURDIR)/build/san/sockctl SAN_LOG_DIR=$(SAN_LOG_DIR) \
	UNIT_DIR=$(CURDIR)/build/san/unit \
	ASAN_OPTIONS=detect_leaks=1:log_path=$(SAN_LOG_DIR)/asan \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$(SAN_LOG_DIR)/ubsan \
	tests/run
	tests/valgrind/run

# serve-http in headless Chromium (installs Debian's chromium if missing).
test-browser: sockctl
	tests/browser/run

# Each header compiles on its own.
hdr-check:
	@for h in $(LIB_HDR) cmd/cmd.h; do \
		printf '#include "%s"\n' "$$h" | \
		$(CC) $(ALL_CPPFLAGS) -Icmd $(ALL_CFLAGS) -x c -fsyntax-only - || exit 1; \
	done; echo "headers ok"

# Fuzz harnesses (libFuzzer), each for FUZZ_SECONDS from its seed corpus.
FUZZ_SECONDS ?= 30
fuzz:
	tests/fuzz/run $(FUZZ_SECONDS)

bench: sockctl
	tests/bench/report

FORMAT_SRC = lib/*/*.c lib/*/*.h cmd/*.c cmd/*.h tests/unit/*.c tests/unit/*.h tests/fuzz/*.c

format:
	clang-format -i $(FORMAT_SRC)

# Fails on any file that `make format` would change (installs clang-format if missing).
format-check:
	@tests/need clang-format clang-format
	clang-format --dry-run -Werror $(FORMAT_SRC)
	@echo "format ok"

install: sockctl
	install -D -m 755 sockctl $(DESTDIR)$(PREFIX)/bin/sockctl
	install -D -m 644 man/sockctl.1 $(DESTDIR)$(PREFIX)/share/man/man1/sockctl.1
	install -D -m 644 completions/sockctl.bash \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/sockctl
	install -D -m 644 completions/_sockctl \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions/_sockctl
	install -D -m 644 completions/sockctl.fish \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/sockctl.fish

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/sockctl \
		$(DESTDIR)$(PREFIX)/share/man/man1/sockctl.1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/sockctl \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions/_sockctl \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/sockctl.fish

clean:
	rm -rf build sockctl

.PHONY: FORCE all units test test-browser check hdr-check fuzz bench format format-check install uninstall clean
