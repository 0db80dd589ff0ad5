package io.dubhub.provider;

import java.util.Map;

/**
 * One look at a job on the provider's side: per target language, whether it is still running,
 * done, or failed (and the provider's reason, in its own words).
 */
public record PollOutcome(Map<String, LanguageStatus> languages, String summary) {

    public enum Status { RUNNING, DONE, FAILED }

    public record LanguageStatus(Status status, String detail) {
    }

    public boolean finished() {
        return languages.values().stream().noneMatch(l -> l.status() == Status.RUNNING);
    }

    public boolean anyDone() {
        return languages.values().stream().anyMatch(l -> l.status() == Status.DONE);
    }
}
