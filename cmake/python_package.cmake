# Installs the `memopt` Python package where Debian's /usr/bin/python3 imports it from, with a
# dist-info directory whose entry_points.txt registers the pytest plugin (group pytest11), so
# `pytest --memopt` finds it with no PYTHONPATH and no `-p`. Written here, not by
# setuptools or pip: importlib.metadata (what pytest and pluggy read) needs only METADATA
# and entry_points.txt.
#
# MEMOPT_INSTALL_PYTHONDIR (relative to the prefix unless given absolute) defaults to the
# directory the interpreter's own sysconfig names for the configured prefix:
#   /usr/local (the default)  lib/python3.X/dist-packages  (Debian's "posix_local": on sys.path)
#   /usr                      lib/python3/dist-packages    (Debian's "deb_system": on sys.path)
#   any other prefix          lib/python3.X/site-packages  (put it on PYTHONPATH)
# `memopt` finds the package through the same path taken relative to bin/ (common/paths.cpp),
# so `cmake --install build --prefix DIR` moves everything together.

if(NOT DEFINED MEMOPT_INSTALL_PYTHONDIR)
  execute_process(
    COMMAND ${Python_EXECUTABLE} -c [=[
import os, sys, sysconfig
prefix = os.path.normpath(sys.argv[1])
names = sysconfig.get_scheme_names()
scheme, base = "posix_prefix", prefix
if prefix == os.path.normpath(sys.base_prefix) and "deb_system" in names:
    scheme = "deb_system"
elif prefix == "/usr/local" and "posix_local" in names:
    scheme, base = "posix_local", "/usr"
path = sysconfig.get_path("purelib", scheme, vars={"base": base, "platbase": base})
print(os.path.relpath(path, prefix), end="")
]=] ${CMAKE_INSTALL_PREFIX}
    OUTPUT_VARIABLE MEMOPT_INSTALL_PYTHONDIR
    RESULT_VARIABLE memopt_pythondir_status)
  if(NOT memopt_pythondir_status EQUAL 0 OR MEMOPT_INSTALL_PYTHONDIR STREQUAL "")
    message(FATAL_ERROR "cannot compute the Python install directory with ${Python_EXECUTABLE}; "
                        "set -DMEMOPT_INSTALL_PYTHONDIR=DIR")
  endif()
endif()
message(STATUS "memopt: Python package installs into <prefix>/${MEMOPT_INSTALL_PYTHONDIR}")

# The package directory as seen from the installed `memopt` (bin/), for common/paths.cpp.
if(IS_ABSOLUTE "${MEMOPT_INSTALL_PYTHONDIR}")
  set(MEMOPT_PYTHONDIR_FROM_BIN "${MEMOPT_INSTALL_PYTHONDIR}")
else()
  file(RELATIVE_PATH MEMOPT_PYTHONDIR_FROM_BIN "/prefix/${CMAKE_INSTALL_BINDIR}"
       "/prefix/${MEMOPT_INSTALL_PYTHONDIR}")
endif()

install(DIRECTORY ${PROJECT_SOURCE_DIR}/python/memopt DESTINATION ${MEMOPT_INSTALL_PYTHONDIR}
        PATTERN "__pycache__" EXCLUDE)

set(memopt_dist_info ${PROJECT_BINARY_DIR}/dist-info/memopt-${PROJECT_VERSION}.dist-info)
file(WRITE ${memopt_dist_info}/METADATA
     "Metadata-Version: 2.1\n"
     "Name: memopt\n"
     "Version: ${PROJECT_VERSION}\n"
     "Summary: measure and cut the memory of Python ML programs (pytest plugin: --memopt, limit_memory)\n")
file(WRITE ${memopt_dist_info}/entry_points.txt "[pytest11]\nmemopt.pytest_plugin = memopt.pytest_plugin\n")
file(WRITE ${memopt_dist_info}/top_level.txt "memopt\n")
file(WRITE ${memopt_dist_info}/INSTALLER "cmake\n")
install(DIRECTORY ${memopt_dist_info} DESTINATION ${MEMOPT_INSTALL_PYTHONDIR})
