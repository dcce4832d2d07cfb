package io.conv4j.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** Which natives the loader picks for a JVM's os.name/os.arch, and what it says where it has none. */
class NativePlatformTest {

    @Test
    void picksTheNativesOfEachSupportedPlatform() {
        String[] x86 = {"linux-x86_64", "linux-x86_64", "libquadmath.so.0 libgfortran.so.5"};
        assertArrayEquals(x86, NativeLibrary.platform("Linux", "amd64"));
        assertArrayEquals(x86, NativeLibrary.platform("Linux", "x86_64"));
        // bytedeco's arm64 OpenBLAS has no libquadmath
        assertArrayEquals(new String[] {"linux-aarch64", "linux-arm64", "libgfortran.so.5"},
                NativeLibrary.platform("Linux", "aarch64"));
    }

    @Test
    void anUnsupportedPlatformIsNamedWithTheSupportedList() {
        UnsatisfiedLinkError mac = assertThrows(UnsatisfiedLinkError.class, () -> NativeLibrary.platform("Mac OS X", "aarch64"));
        assertEquals("conv4j ships native code for linux-x86_64, linux-aarch64 only; this JVM runs on Mac OS X/aarch64",
                mac.getMessage());
        UnsatisfiedLinkError riscv = assertThrows(UnsatisfiedLinkError.class, () -> NativeLibrary.platform("Linux", "riscv64"));
        assertEquals("conv4j ships native code for linux-x86_64, linux-aarch64 only; this JVM runs on Linux/riscv64",
                riscv.getMessage());
    }
}
