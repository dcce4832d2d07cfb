package io.conv4j.cli;

/** A bad command line or bad input file: the command prints the message and exits with status 2. */
final class UsageException extends Exception {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
        super(message);
    }
}
