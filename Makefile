# MCP top-level build.  `make` builds everything into bin/;
# `make SAN=1` builds an AddressSanitizer+UBSan variant into build/san/bin;
# `make test` runs the whole suite (scripts/test.sh).
#
# Layout: lib/<module>/*.c form libmcp.a (one folder per responsibility),
# cmd/<binary>/*.c are thin mains, proto/*.proto are compiled with protoc-c.

CC      ?= cc
SAN     ?= 0
PKGS    := grpc libprotobuf-c sqlite3 openssl jansson libarchive

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
# mcp-master's DNS step needs lib/dns/dns.c (RFC 2136 client, libldns)
ifneq ($(wildcard lib/dns/dns.c),)
CFLAGS_BASE += -DMCP_HAVE_DNS_CLIENT
endif
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

EXTRA_TARGETS :=
ifneq ($(wildcard cmd/mcp-init),)
EXTRA_TARGETS += $(BIN)/mcp-init
endif
ifneq ($(wildcard examples/hello/hello.c),)
EXTRA_TARGETS += $(BIN)/hello
endif
ifneq ($(wildcard examples/tls-hello/tls-hello.c),)
EXTRA_TARGETS += $(BIN)/tls-hello
endif

.PHONY: all test unit clean fuzz
.SECONDARY:
all: $(CMD_BINS) $(EXTRA_TARGETS) $(UNIT_BINS)

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

# The example service: a static HTTP server (goes into the OCI image).
$(BIN)/hello: examples/hello/hello.c
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS_BASE) -Os -static -o $@ $<

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

unit: $(UNIT_BINS)
	@for t in $(UNIT_BINS); do $$t || exit 1; done

test:
	./scripts/test.sh

fuzz:
	$(MAKE) -C fuzz

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)
