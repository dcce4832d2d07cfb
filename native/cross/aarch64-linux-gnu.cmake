# CMake toolchain for linux-aarch64 on an x86-64 Debian/Ubuntu machine (.ci/aarch64-tools installs
# gcc-aarch64-linux-gnu and qemu-user-static). ctest runs the aarch64 test programs under qemu-user,
# with the aarch64 C library of the cross toolchain as the loader prefix (same as QEMU_LD_PREFIX).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CONV4J_AARCH64_SYSROOT /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH ${CONV4J_AARCH64_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
find_program(CONV4J_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64 REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR ${CONV4J_QEMU_AARCH64} -L ${CONV4J_AARCH64_SYSROOT})
