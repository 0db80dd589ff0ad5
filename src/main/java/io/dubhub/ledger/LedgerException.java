package io.dubhub.ledger;

/** The ledger could not be read or written: the job stays where it was and is retried. */
public class LedgerException extends RuntimeException {
    public LedgerException(String message, Throwable cause) {
        super(cause == null ? message : message + ": " + cause.getMessage(), cause);
    }
}
