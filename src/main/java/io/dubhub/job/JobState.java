package io.dubhub.job;

import java.util.EnumSet;
import java.util.Set;

/** A job's place in its life. The poller works on the active ones; the others are history. */
public enum JobState {
    /** Registered at intake; spec, probe and limits not checked yet. */
    RECEIVED,
    /** Creating provider objects and uploading; every step is resumable from the ledger. */
    SUBMITTING,
    /** The provider is working; we poll it. */
    PROCESSING,
    /** Past its deadline and still not finished at the provider; still polled, slower. */
    STUCK,
    /** Streaming outputs to the sink and writing the manifest. */
    DOWNLOADING,
    DELIVERED,
    /** Some languages delivered, some failed; the manifest says which and why. */
    PARTIAL,
    FAILED;

    public static final Set<JobState> ACTIVE = EnumSet.of(RECEIVED, SUBMITTING, PROCESSING, STUCK, DOWNLOADING);

    public boolean active() {
        return ACTIVE.contains(this);
    }
}
