# src/lib/local.mk - libremapfs, libremapfs-preload.so, remapctl, their man
# pages, the examples in contrib/examples and their tests.

# The pure parts (parsing /proc, planning, tables): no system calls.
noinst_LTLIBRARIES += src/lib/libremapfs-pure.la
src_lib_libremapfs_pure_la_SOURCES = \
	src/lib/procparse.c src/lib/procparse.h \
	src/lib/plan.c src/lib/plan.h
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
src_lib_libremapfs_la_LDFLAGS = -version-info 0:0:0 -no-undefined -pthread \
	-export-symbols-regex '^remapfs_'

# libremapfs-preload.so (LD_PRELOAD): exports remap_file_pages only.
lib_LTLIBRARIES += src/lib/libremapfs-preload.la
src_lib_libremapfs_preload_la_SOURCES = src/lib/preload.c
src_lib_libremapfs_preload_la_LIBADD = $(RFSL_IMPL_LIBS)
src_lib_libremapfs_preload_la_LDFLAGS = -module -avoid-version -shared \
	-no-undefined -pthread -export-symbols-regex '^remap_file_pages$$'

# remapctl: the public library, and the pure parts for its table.
bin_PROGRAMS += src/lib/remapctl
src_lib_remapctl_SOURCES = src/lib/remapctl.c
src_lib_remapctl_LDADD = src/lib/libremapfs.la $(RFSL_PURE_LIBS)

# remapfs.pc, made at install time (configure.ac does not list it, and
# nothing is left in the build tree to clean).
pkgconfigdir = $(libdir)/pkgconfig
install-data-local:
	$(MKDIR_P) '$(DESTDIR)$(pkgconfigdir)' && sed \
		-e 's|@prefix@|$(prefix)|g' \
		-e 's|@exec_prefix@|$(exec_prefix)|g' \
		-e 's|@libdir@|$(libdir)|g' \
		-e 's|@includedir@|$(includedir)|g' \
		-e 's|@VERSION@|$(VERSION)|g' \
		$(srcdir)/src/lib/remapfs.pc.in \
		> '$(DESTDIR)$(pkgconfigdir)/remapfs.pc'
uninstall-local:
	rm -f '$(DESTDIR)$(pkgconfigdir)/remapfs.pc'
EXTRA_DIST += src/lib/remapfs.pc.in
