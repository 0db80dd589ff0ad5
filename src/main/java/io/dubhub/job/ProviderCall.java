package io.dubhub.job;

import java.time.Instant;

/**
 * A billable or state-changing provider call. INTENT is written before the call, DONE with the
 * provider's id after it: an INTENT without DONE after a crash means "look it up, do not redo".
 */
public record ProviderCall(String jobId, String operation, String scope, State state, String providerRef, String detail,
                           Instant createdAt, Instant updatedAt) {

    public enum State { INTENT, DONE }

    public boolean done() {
        return state == State.DONE;
    }
}
