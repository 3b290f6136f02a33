# SPDX-License-Identifier: GPL-2.0-or-later
# libFuzzer targets (issue 10): the .control protocol parser and the
# -o state loader.  make check replays their corpora (tests/corpus/NAME)
# without the fuzzer; make fuzz builds them with clang's -fsanitize=fuzzer
# and runs each for FUZZ_SECONDS, adding what it finds to the corpus.
FUZZ_TARGETS = protocol state
fuzz_protocol_SRC = src/protocol.c tests/fuzz-protocol.c
fuzz_state_SRC = src/protocol.c src/state.c src/framing.c tests/fuzz-state.c
FUZZ_SECONDS = 600
FUZZ_CC = clang

check_PROGRAMS += tests/fuzz-protocol-replay tests/fuzz-state-replay
TESTS += tests/fuzz-protocol-replay tests/fuzz-state-replay
tests_fuzz_protocol_replay_SOURCES = tests/fuzz-protocol.c tests/fuzz-replay.c
tests_fuzz_protocol_replay_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_NAME='"protocol"' \
	-DFUZZ_CORPUS='"$(abs_top_srcdir)/tests/corpus/protocol"'
tests_fuzz_protocol_replay_LDADD = src/librfscore.la $(GLIB_LIBS)
tests_fuzz_state_replay_SOURCES = tests/fuzz-state.c tests/fuzz-replay.c
tests_fuzz_state_replay_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_NAME='"state"' \
	-DFUZZ_CORPUS='"$(abs_top_srcdir)/tests/corpus/state"'
tests_fuzz_state_replay_LDADD = src/librfscore.la $(GLIB_LIBS)
EXTRA_DIST += tests/fuzz-replay.c tests/fuzz-state.c tests/fuzz.h tests/corpus

fuzz:
	@for t in $(FUZZ_TARGETS); do \
	  src=; case $$t in protocol) src="$(fuzz_protocol_SRC)";; \
	  state) src="$(fuzz_state_SRC)";; esac; \
	  bin=$(abs_top_builddir)/tests/fuzz-$$t; \
	  echo "== building $$bin"; \
	  (cd $(top_srcdir) && $(FUZZ_CC) -std=gnu11 -g -O1 \
	    -fsanitize=fuzzer,address,undefined -DHAVE_CONFIG_H \
	    -Werror=implicit-function-declaration -Isrc -I$(abs_top_builddir) \
	    $(GLIB_CFLAGS) $$src $(GLIB_LIBS) -o $$bin) || exit 1; \
	  mkdir -p $(top_srcdir)/tests/corpus/$$t; \
	  echo "== fuzzing $$t for $(FUZZ_SECONDS) s"; \
	  $$bin -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(abs_top_builddir)/tests/fuzz-$$t- \
	    $(top_srcdir)/tests/corpus/$$t 2>&1 | tail -n 12 || exit 1; \
	  mkdir -p $(abs_top_builddir)/tests/corpus-min-$$t; \
	  $$bin -merge=1 $(abs_top_builddir)/tests/corpus-min-$$t \
	    $(top_srcdir)/tests/corpus/$$t >/dev/null 2>&1 && \
	  rm -rf $(top_srcdir)/tests/corpus/$$t && \
	  mv $(abs_top_builddir)/tests/corpus-min-$$t \
	    $(top_srcdir)/tests/corpus/$$t; \
	  echo "== $$t: $$(ls $(top_srcdir)/tests/corpus/$$t | wc -l) inputs in tests/corpus/$$t"; \
	done
.PHONY: fuzz
