package io.dubhub.provider;

import io.dubhub.job.Stage;

/**
 * A provider call that did not work. {@link Kind} decides what the pipeline does next:
 * retry later, stop the job, or stop the job and flag the provider in health.
 */
public class ProviderException extends RuntimeException {

    public enum Kind {
        /** 5xx, timeouts, connection resets, 429: try again later with backoff. */
        TRANSIENT,
        /** The request itself is wrong for this job (4xx): retrying cannot help. */
        REJECTED,
        /** 401/403 or a missing header: the provider is misconfigured for every job. */
        MISCONFIGURED,
        /** 402 and the like: no job can spend until someone tops up. */
        OUT_OF_CREDITS,
        /** A create call whose answer was lost: reconcile by lookup before anything else. */
        OUTCOME_UNKNOWN,
        /**
         * Not a failure: the provider (or our own rate gate for it) says "not now". The job comes
         * back at {@link #retryAt()} without spending a retry attempt.
         */
        WAIT
    }

    private final String provider;
    private final Kind kind;
    private final Stage stage;
    private final int httpStatus;
    private final String providerMessage;
    private final java.time.Instant retryAt;

    public ProviderException(String provider, Kind kind, Stage stage, int httpStatus, String message, String providerMessage) {
        super(message);
        this.provider = provider;
        this.kind = kind;
        this.stage = stage;
        this.httpStatus = httpStatus;
        this.providerMessage = providerMessage;
        this.retryAt = null;
    }

    private ProviderException(String provider, Stage stage, int httpStatus, java.time.Instant retryAt, String message) {
        super(message);
        this.provider = provider;
        this.kind = Kind.WAIT;
        this.stage = stage;
        this.httpStatus = httpStatus;
        this.providerMessage = null;
        this.retryAt = retryAt;
    }

    /** The job must wait until {@code retryAt} (a rate limit); {@code message} is what the job API shows meanwhile. */
    public static ProviderException waitUntil(String provider, Stage stage, int httpStatus, java.time.Instant retryAt, String message) {
        return new ProviderException(provider, stage, httpStatus, retryAt, message);
    }

    public ProviderException(String provider, Kind kind, Stage stage, String message, Throwable cause) {
        super(message, cause);
        this.provider = provider;
        this.kind = kind;
        this.stage = stage;
        this.httpStatus = 0;
        this.providerMessage = cause == null ? null : String.valueOf(cause.getMessage());
        this.retryAt = null;
    }

    public String provider() {
        return provider;
    }

    public Kind kind() {
        return kind;
    }

    public Stage stage() {
        return stage;
    }

    public int httpStatus() {
        return httpStatus;
    }

    public String providerMessage() {
        return providerMessage;
    }

    /** When a {@link Kind#WAIT} job may go on; null for the other kinds. */
    public java.time.Instant retryAt() {
        return retryAt;
    }

    public boolean retryable() {
        return kind == Kind.TRANSIENT || kind == Kind.OUTCOME_UNKNOWN;
    }
}
