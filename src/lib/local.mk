# SPDX-License-Identifier: GPL-2.0-or-later
# src/lib/local.mk - the clients of remapfs: libremapfs (the library),
# libremapfs-preload.so (the drop-in remap_file_pages), remapctl, their man
# pages, the bash completion, the examples of contrib/examples and the
# tests of all of them.  Included by Makefile.am.

# ---- the library ----

# The pure parts (parsing /proc, planning, tables): no system calls.
noinst_LTLIBRARIES += src/lib/libremapfs-pure.la
src_lib_libremapfs_pure_la_SOURCES = \
	src/lib/procparse.c src/lib/procparse.h \
	src/lib/plan.c src/lib/plan.h \
	src/lib/picture.c src/lib/picture.h \
	src/lib/statstext.c src/lib/statstext.h
src_lib_libremapfs_pure_la_LIBADD = -lm
RFSL_PURE_LIBS = src/lib/libremapfs-pure.la src/librfscore.la $(GLIB_LIBS)

# The rest of the library but its public face, shared by the library, the
# preload module and the tests of its internals.
noinst_LTLIBRARIES += src/lib/libremapfs-impl.la
src_lib_libremapfs_impl_la_SOURCES = \
	src/lib/core.c src/lib/core.h \
	src/lib/api.c src/lib/api.h \
	src/lib/remapfs.h
src_lib_libremapfs_impl_la_CFLAGS = $(AM_CFLAGS) -pthread
RFSL_IMPL_LIBS = src/lib/libremapfs-impl.la $(RFSL_PURE_LIBS)

# libremapfs.so.0: exports remapfs_* only.
lib_LTLIBRARIES += src/lib/libremapfs.la
include_HEADERS = src/lib/remapfs.h
src_lib_libremapfs_la_SOURCES = src/lib/remapfs.h
src_lib_libremapfs_la_LIBADD = $(RFSL_IMPL_LIBS)
src_lib_libremapfs_la_LDFLAGS = -version-info 1:0:1 -no-undefined -pthread \
	-export-symbols-regex '^remapfs_'

# libremapfs-preload.so (LD_PRELOAD): exports remap_file_pages only.
lib_LTLIBRARIES += src/lib/libremapfs-preload.la
src_lib_libremapfs_preload_la_SOURCES = src/lib/preload.c
src_lib_libremapfs_preload_la_LIBADD = $(RFSL_IMPL_LIBS)
src_lib_libremapfs_preload_la_LDFLAGS = -module -avoid-version -shared \
	-no-undefined -pthread -export-symbols-regex '^remap_file_pages$$'

# remapfs.pc, made at install time (configure.ac does not list it, and
# nothing is left in the build tree to clean).
pkgconfigdir = $(libdir)/pkgconfig
install-data-local:
	$(MKDIR_P) '$(DESTDIR)$(pkgconfigdir)' && sed \
		-e 's|[@]prefix[@]|$(prefix)|g' \
		-e 's|[@]exec_prefix[@]|$(exec_prefix)|g' \
		-e 's|[@]libdir[@]|$(libdir)|g' \
		-e 's|[@]includedir[@]|$(includedir)|g' \
		-e 's|[@]VERSION[@]|$(VERSION)|g' \
		$(srcdir)/src/lib/remapfs.pc.in \
		> '$(DESTDIR)$(pkgconfigdir)/remapfs.pc'
uninstall-local:
	rm -f '$(DESTDIR)$(pkgconfigdir)/remapfs.pc'
# The directories install made, once empty (those in use are kept).
uninstall-hook:
	-for d in '$(pkgconfigdir)' '$(bashcompletiondir)' \
	    '$(datadir)/bash-completion' '$(man1dir)' '$(man3dir)' \
	    '$(man5dir)' '$(man7dir)' '$(systemdunitdir)' \
	    '$(prefix)/lib/systemd' '$(zshcompletiondir)' '$(datadir)/zsh'; \
	    do \
		rmdir "$(DESTDIR)$$d" 2>/dev/null || :; \
	done
EXTRA_DIST += src/lib/remapfs.pc.in

# ---- remapctl ----

# The public library, and the pure parts for its table.
bin_PROGRAMS += src/lib/remapctl
src_lib_remapctl_SOURCES = src/lib/remapctl.c
src_lib_remapctl_LDADD = src/lib/libremapfs.la $(RFSL_PURE_LIBS)

bashcompletiondir = $(datadir)/bash-completion/completions
dist_bashcompletion_DATA = contrib/bash-completion/remapctl
zshcompletiondir = $(datadir)/zsh/site-functions
dist_zshcompletion_DATA = contrib/zsh-completion/_remapctl

dist_man_MANS += man/remapctl.1 man/libremapfs.3 \
	man/remap_file_pages-remapfs.7

# ---- examples (built by make, not installed; run by
# tests/test-lib-examples) ----

RFSL_EXAMPLE_CPPFLAGS = -I$(top_srcdir)/src/lib
noinst_PROGRAMS += contrib/examples/reverse-pages \
	contrib/examples/ring-buffer contrib/examples/db-window
contrib_examples_reverse_pages_SOURCES = contrib/examples/reverse-pages.c
contrib_examples_ring_buffer_SOURCES = contrib/examples/ring-buffer.c
contrib_examples_ring_buffer_CPPFLAGS = $(RFSL_EXAMPLE_CPPFLAGS)
contrib_examples_ring_buffer_LDADD = src/lib/libremapfs.la
contrib_examples_db_window_SOURCES = contrib/examples/db-window.c
contrib_examples_db_window_CPPFLAGS = $(RFSL_EXAMPLE_CPPFLAGS)
contrib_examples_db_window_LDADD = src/lib/libremapfs.la

# ---- tests ----

RFSL_TEST_CPPFLAGS = $(AM_CPPFLAGS) -DABS_BUILDDIR='"$(abs_top_builddir)"'

# The pure parts, without a mount.
check_PROGRAMS += tests/test-lib-pure
TESTS += tests/test-lib-pure
tests_test_lib_pure_SOURCES = tests/test-lib-pure.c
tests_test_lib_pure_LDADD = $(RFSL_PURE_LIBS)

# The public API, through the shared library as installed.
check_PROGRAMS += tests/test-libremapfs
TESTS += tests/test-libremapfs
tests_test_libremapfs_SOURCES = tests/test-libremapfs.c \
	tests/mount-helper.c tests/mount-helper.h
tests_test_libremapfs_CPPFLAGS = $(RFSL_TEST_CPPFLAGS)
tests_test_libremapfs_LDADD = src/lib/libremapfs.la $(GLIB_LIBS)
tests_test_libremapfs_LDFLAGS = -pthread

# The address lookup, with both ways of reading the address space.
check_PROGRAMS += tests/test-lib-addr
TESTS += tests/test-lib-addr
tests_test_lib_addr_SOURCES = tests/test-lib-addr.c \
	tests/mount-helper.c tests/mount-helper.h
tests_test_lib_addr_LDADD = $(RFSL_IMPL_LIBS)
tests_test_lib_addr_LDFLAGS = -pthread

# The drop-in against the kernel: preload-rfp knows only the manual page.
check_PROGRAMS += tests/preload-rfp tests/test-preload
TESTS += tests/test-preload
tests_preload_rfp_SOURCES = tests/preload-rfp.c
tests_test_preload_SOURCES = tests/test-preload.c \
	tests/mount-helper.c tests/mount-helper.h
tests_test_preload_CPPFLAGS = $(RFSL_TEST_CPPFLAGS)
tests_test_preload_LDADD = $(GLIB_LIBS)
tests_test_preload_LDFLAGS = -pthread

# The examples, run on a mount.
check_PROGRAMS += tests/test-lib-examples
TESTS += tests/test-lib-examples
tests_test_lib_examples_SOURCES = tests/test-lib-examples.c \
	tests/mount-helper.c tests/mount-helper.h
tests_test_lib_examples_CPPFLAGS = $(RFSL_TEST_CPPFLAGS)
tests_test_lib_examples_LDADD = $(GLIB_LIBS)
tests_test_lib_examples_LDFLAGS = -pthread

# remapctl's outputs and exit codes, and the bash completion.
check_PROGRAMS += tests/test-remapctl
TESTS += tests/test-remapctl
tests_test_remapctl_SOURCES = tests/test-remapctl.c \
	tests/mount-helper.c tests/mount-helper.h
tests_test_remapctl_CPPFLAGS = $(RFSL_TEST_CPPFLAGS) \
	-DABS_SRCDIR='"$(abs_top_srcdir)"'
tests_test_remapctl_LDADD = $(GLIB_LIBS)
tests_test_remapctl_LDFLAGS = -pthread

# libtool only runs "ldconfig -n" on the library directory: the dynamic
# linker's cache would not know libremapfs.so.0 until ldconfig runs, and
# remapctl would not start.  Installing to the live system (no DESTDIR,
# as root) refreshes the cache; staged installs (packages) leave it to
# their own scripts.
install-exec-hook:
	@if test -z '$(DESTDIR)' && test "$$(id -u)" = 0 && \
	    command -v ldconfig >/dev/null 2>&1; then \
		echo " ldconfig"; ldconfig || :; \
	fi

# The systemd template unit, with the installed daemon's path in it.
systemdunitdir = $(prefix)/lib/systemd/system
systemdunit_DATA = contrib/systemd/remapfs@.service
CLEANFILES += contrib/systemd/remapfs@.service
TESTS += tests/test-systemd.sh tests/test-picture.py
EXTRA_DIST += tests/test-systemd.sh tests/test-picture.py
EXTRA_DIST += contrib/systemd/remapfs@.service.in
contrib/systemd/remapfs@.service: $(srcdir)/contrib/systemd/remapfs@.service.in
	$(MKDIR_P) contrib/systemd
	sed -e 's|[@]bindir[@]|$(bindir)|g' \
		$(srcdir)/contrib/systemd/remapfs@.service.in > $@
