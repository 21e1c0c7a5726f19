# mtls_ident — PGXS build
#
#   make && sudo make install      build and install
#   make installcheck              pg_regress + TAP tests against the installed server
#   make unit                      stand-alone unit tests of the pure modules
#   make pki                       regenerate the committed test certificates

MODULE_big = mtls_ident
OBJS = \
	src/mtls_ident.o \
	src/settings.o \
	src/format.o \
	src/cert.o \
	src/pattern.o \
	src/pattern_int.o \
	src/match_uri.o \
	src/match_dns.o \
	src/match_email.o \
	src/match_ip.o \
	src/match_regex.o \
	src/san_index.o \
	src/issuer_pin.o \
	src/label.o \
	src/dsa_place.o \
	src/label_cache.o \
	src/decision.o \
	src/bindings.o \
	src/auth_hook.o \
	src/sql_bindings.o \
	src/sql_cert.o \
	src/shmem.o \
	src/sessions.o \
	src/auth_log.o \
	src/cert_serial.o \
	src/crl.o \
	src/ca_store.o \
	src/crl_verify.o \
	src/crl_files.o \
	src/revoked_set.o \
	src/revocation_state.o \
	src/sql_revocation.o \
	src/enforcer.o \
	src/expiry.o \
	src/http.o \
	src/ocsp.o \
	src/crl_fetch.o

EXTENSION = mtls_ident
DATA = sql/mtls_ident--1.0.sql sql/mtls_ident--1.0--1.1.sql
PGFILEDESC = "mtls_ident - TLS client certificates as role identities"

PG_CPPFLAGS = -I$(srcdir)/src
SHLIB_LINK += -lssl -lcrypto

REGRESS = bind labels cert_sql migration
REGRESS_OPTS = --temp-config=$(srcdir)/test/regress.conf --temp-instance=$(CURDIR)/tmp_check_regress

TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks no header dependencies: rebuild every object when a header
# changes (a struct that grows must not leave stale objects behind)
$(OBJS): $(wildcard $(srcdir)/src/*.h)

# VPATH builds (make -f SRC/Makefile VPATH=SRC in another directory, as
# Debian's pg_buildext does in build-NN/): the objects go under the build
# directory's src/, which must exist first
$(OBJS): | objdir
.PHONY: objdir
objdir:
	@mkdir -p src

# after the include: Makefile.global resets PROVE_FLAGS
PROVE_FLAGS += -I $(srcdir)/test/t

EXTRA_CLEAN = tmp_check_regress

.PHONY: unit pki
unit:
	$(MAKE) -C $(srcdir)/test/unit check

pki:
	$(MAKE) -C $(srcdir)/test/pki pki
