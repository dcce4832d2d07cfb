/**
 * conv4j: fast 2-D convolution for the JVM. Only {@code io.conv4j} is public API; the JNI binding
 * ({@code io.conv4j.internal}) and the command line ({@code io.conv4j.cli}) stay inside the module.
 *
 * <p>There is deliberately no {@code requires} for OpenBLAS: conv4j needs only the shared libraries
 * inside the {@code org.bytedeco:openblas} native jar, never its classes, and that jar's own module
 * descriptor requires javacpp. conv4j finds the libraries as resources whether that jar sits on the
 * class path or on the module path.
 */
module io.conv4j {
    exports io.conv4j;
}
