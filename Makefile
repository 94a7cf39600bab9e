# MCP top-level build.  `make` builds everything into bin/;
# `make SAN=1` builds an AddressSanitizer+UBSan variant into build/san/bin;
# `make test` runs the whole suite (scripts/test.sh).
#
# Layout: lib/<module>/*.c form libmcp.a (one folder per responsibility),
# cmd/<binary>/*.c are thin mains, proto/*.proto are compiled with protoc-c.

CC      ?= cc
SAN     ?= 0
PKGS    := grpc libprotobuf-c sqlite3 openssl jansson libarchive ldns

CFLAGS_BASE := -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -g -O2 \
	-Wno-missing-field-initializers -Wno-format-truncation
ifeq ($(SAN),1)
BUILD   := build/san
BIN     := build/san/bin
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD   := build/rel
BIN     := bin
SANFLAGS :=
endif

GEN     := build/gen
CFLAGS  := $(CFLAGS_BASE) $(SANFLAGS) -Ilib -I$(GEN) $(shell pkg-config --cflags $(PKGS))
LDLIBS  := $(shell pkg-config --libs $(PKGS)) -lpthread
LDFLAGS := $(SANFLAGS)

PROTOS    := $(wildcard proto/*.proto)
PROTO_C   := $(patsubst proto/%.proto,$(GEN)/%.pb-c.c,$(PROTOS))
PROTO_H   := $(PROTO_C:.c=.h)
LIB_SRCS  := $(wildcard lib/*/*.c)
LIB_OBJS  := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS)) $(patsubst %.c,$(BUILD)/%.o,$(PROTO_C))
LIBMCP    := $(BUILD)/libmcp.a

# Binaries linked against libmcp: every cmd/<name>/ except mcp-init.
CMDS      := $(filter-out mcp-init,$(notdir $(patsubst %/,%,$(wildcard cmd/*/))))
CMD_BINS  := $(addprefix $(BIN)/,$(CMDS))

# Unit tests: tests/unit/test_<name>.c, cmocka, linked against libmcp.
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

# Test tools: tests/tools/<name>.c, small mains over libmcp that shell
# tests drive (never installed): build/<variant>/tools/<name>.
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRCS))

EXTRA_TARGETS :=
ifneq ($(wildcard cmd/mcp-init),)
EXTRA_TARGETS += $(BIN)/mcp-init
endif
HELLO_SRCS := $(wildcard examples/hello/*.c)
ifneq ($(wildcard examples/hello/hello.c),)
EXTRA_TARGETS += $(BIN)/hello
endif
ifneq ($(wildcard examples/tls-hello/tls-hello.c),)
EXTRA_TARGETS += $(BIN)/tls-hello
endif

.PHONY: all test unit clean fuzz
.SECONDARY:
all: $(CMD_BINS) $(EXTRA_TARGETS) $(UNIT_BINS) $(TOOL_BINS)

$(GEN)/%.pb-c.c $(GEN)/%.pb-c.h: proto/%.proto
	@mkdir -p $(GEN)
	protoc-c --proto_path=proto --c_out=$(GEN) $<
	@# an rpc named Register becomes a C member "register", a keyword:
	@# protoc-c does not rename it, so the generated header is patched
	sed -i -e 's/(\*register)(/(*register_)(/' -e 's/## register,/## register_,/' $(GEN)/$*.pb-c.h

V ?= 0
ifeq ($(V),0)
Q := @
else
Q :=
endif

$(BUILD)/%.o: %.c $(PROTO_H)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIBMCP): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

.SECONDEXPANSION:
cmd_objs = $(patsubst %.c,$(BUILD)/%.o,$(wildcard cmd/$(1)/*.c))
$(BIN)/%: $$(call cmd_objs,$$*) $(LIBMCP)
	@mkdir -p $(BIN)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBMCP) $(LDLIBS)

# mcp-init is PID 1 inside VMs: static, libc only, never sanitized.
$(BIN)/mcp-init: $(wildcard cmd/mcp-init/*.c cmd/mcp-init/*.h)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS_BASE) -Os -static -Icmd/mcp-init -o $@ $(filter %.c,$^)

# The example service: a static HTTP server with a SQLite counter and a
# Snapshot RPC (goes into the OCI image and the unikernel's initramfs).
# ld's notes about dlopen in static glibc are moot: SQLite loads no
# extensions here.
$(BIN)/hello: $(HELLO_SRCS) examples/hello/hello.h
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS_BASE) -Os -static -o $@ $(HELLO_SRCS) -lsqlite3 -lm -lpthread -Wl,-w

# A TLS-terminating example for l4 (passthrough) routes: static, with
# OpenSSL inside (ld's notes about NSS functions in static glibc are moot:
# it resolves no names).
$(BIN)/tls-hello: examples/tls-hello/tls-hello.c
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS_BASE) -Os -static -o $@ $< -lssl -lcrypto -lpthread -Wl,-w

$(BUILD)/tests/%: tests/unit/%.c $(LIBMCP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(LIBMCP) $(LDLIBS) -lcmocka $(LDFLAGS)

$(BUILD)/tools/%: tests/tools/%.c $(LIBMCP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(LIBMCP) $(LDLIBS) $(LDFLAGS)

unit: $(UNIT_BINS)
	@for t in $(UNIT_BINS); do $$t || exit 1; done

test:
	./scripts/test.sh

fuzz:
	$(MAKE) -C fuzz

clean:
	rm -rf build bin

# --- manual pages made at build time ----------------------------------------
# mcp-agent.toml(5) from the annotated example configuration
# (man/toml2mdoc.awk), so the two cannot disagree.
MAN_GEN   := build/man/mcp-agent.toml.5
.PHONY: install deb deb-kernel
all: $(MAN_GEN)

build/man/mcp-agent.toml.5: man/mcp-agent.toml.5.in man/toml2mdoc.awk examples/config/agent.toml
	@mkdir -p $(dir $@)
	awk -f man/toml2mdoc.awk examples/config/agent.toml >$@.keys
	sed -e '/^@KEYS@$$/r $@.keys' -e '/^@KEYS@$$/d' man/mcp-agent.toml.5.in >$@
	@rm -f $@.keys

# --- install (PREFIX, DESTDIR; GNU-style directory variables) ---------------
# `make install PREFIX=/usr` puts the configuration into /etc, else into
# $(PREFIX)/etc.  An existing configuration is never overwritten.
# mcp-init (the VMs' static PID 1) and fetch-kernel go into $(PREFIX)/lib/mcp,
# not onto PATH; the installed agent.toml points [unikernel] mcp_init there.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
MCPLIBDIR  ?= $(PREFIX)/lib/mcp
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/mcp
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
UNITDIR    ?= $(PREFIX)/lib/systemd/system
ifeq ($(PREFIX),/usr)
SYSCONFDIR ?= /etc
else
SYSCONFDIR ?= $(PREFIX)/etc
endif
INSTALL    ?= install
# binaries users run, daemons, and their manual pages
INST_BINS  := mcp
INST_SBINS := mcp-agent $(if $(wildcard cmd/mcp-master),mcp-master)
INST_MAN   := $(wildcard man/*.[1-8]) $(MAN_GEN)
INST_UNITS := $(patsubst contrib/systemd/%.in,%,$(wildcard contrib/systemd/*.service.in))
SUBST      := sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g' \
	-e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@MCPLIBDIR@|$(MCPLIBDIR)|g' \
	-e 's|^\# mcp_init = .*|mcp_init = "$(MCPLIBDIR)/mcp-init"|' \
	-e 's|scripts/fetch-kernel.sh|$(MCPLIBDIR)/fetch-kernel|'

install: $(addprefix bin/,$(INST_BINS) $(INST_SBINS)) bin/mcp-init $(MAN_GEN)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MCPLIBDIR) \
	    $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/mcp
	$(INSTALL) -m 0755 $(addprefix bin/,$(INST_BINS)) $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 0755 $(addprefix bin/,$(INST_SBINS)) $(DESTDIR)$(SBINDIR)/
	$(INSTALL) -m 0755 bin/mcp-init $(DESTDIR)$(MCPLIBDIR)/mcp-init
	$(INSTALL) -m 0755 scripts/fetch-kernel.sh $(DESTDIR)$(MCPLIBDIR)/fetch-kernel
	for m in $(INST_MAN); do \
		$(INSTALL) -d $(DESTDIR)$(MANDIR)/man$${m##*.} && \
		$(INSTALL) -m 0644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/ || exit 1; \
	done
	for u in $(INST_UNITS); do \
		$(SUBST) contrib/systemd/$$u.in >$(DESTDIR)$(UNITDIR)/$$u && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	$(INSTALL) -m 0644 contrib/bash-completion/mcp $(DESTDIR)$(BASHCOMPDIR)/mcp
	$(INSTALL) -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	for c in agent.toml master.toml mcp.toml; do \
		$(SUBST) examples/config/$$c >$(DESTDIR)$(DOCDIR)/examples/$$c && \
		chmod 0644 $(DESTDIR)$(DOCDIR)/examples/$$c || exit 1; \
		if [ ! -e $(DESTDIR)$(SYSCONFDIR)/mcp/$$c ]; then \
			$(SUBST) examples/config/$$c >$(DESTDIR)$(SYSCONFDIR)/mcp/$$c && \
			chmod 0644 $(DESTDIR)$(SYSCONFDIR)/mcp/$$c || exit 1; \
		fi; \
	done

# A Debian package (dpkg-deb from a staged `make install` tree): build/deb/
deb: all
	scripts/build-deb.sh

# The guest kernel as its own package, mcp-guest-kernel (build/deb/); builds
# the kernel first when scripts/setup.sh has not (~10 min).
deb-kernel:
	scripts/build-deb-guest-kernel.sh

-include $(shell find build -name '*.d' 2>/dev/null)
