package io.dubhub.job;

import java.time.Instant;

/** One target language of a job and the provider object that produces it. */
public record JobTarget(String jobId, String language, String providerRef, TargetState state, String reason, Instant updatedAt) {

    public enum TargetState { PENDING, RUNNING, DONE, FAILED, DELIVERED }
}
